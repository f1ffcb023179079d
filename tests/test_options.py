"""alignx.options: settings read as str Enum members, with one-line errors."""

from __future__ import annotations

import pytest

from alignx.options import parse_option
from alignx.prompts import PromptKind


def test_values_are_read_case_insensitively_and_members_pass_through():
    assert parse_option(PromptKind, "PBA", "--prompt") is PromptKind.PBA
    assert parse_option(PromptKind, PromptKind.ICA, "--prompt") is PromptKind.ICA


def test_unknown_value_names_the_option_and_the_choices():
    with pytest.raises(ValueError, match=r"^unknown --prompt 'dpo'; choose one of ica, pba$"):
        parse_option(PromptKind, "dpo", "--prompt")
