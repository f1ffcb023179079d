"""`parse_option`: read a setting whose values are a str Enum (persona, method, prompt kind) by value,
case-insensitively, with the one-line error the CLI gives for each: what was unknown and the values
to choose from."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

E = TypeVar("E", bound=Enum)


def parse_option(choices: type[E], name: str | E, option: str) -> E:
    """The member of `choices` whose value is `name` (a member passes through); `option` names the
    setting in the error, e.g. 'persona' or '--method'."""
    try:
        return choices(str(getattr(name, "value", name)).lower())
    except ValueError:
        values = ", ".join(member.value for member in choices)
        raise ValueError(f"unknown {option} {name!r}; choose one of {values}") from None
