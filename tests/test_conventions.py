"""Every command against the conventions of docs/cli.md ("Conventions").

The commands are read from the Typer app and `alignx.options.COMMANDS`, so a new command is checked as soon as
it is registered; where a rule needs to know what a command does (loads a model, runs long, resumes), the
command must be placed in one of the sets below, and a command in none of them fails the test.
"""

from __future__ import annotations

import dataclasses
import json
import re
import typing
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from alignx.cli import app
from alignx.options import COMMANDS, option_fields

SRC = Path(__file__).resolve().parents[1] / "src" / "alignx"
DOCS = Path(__file__).resolve().parents[1] / "docs"

# What each command does, which the rules below depend on.
LOADS_MODEL = {"eval", "demo", "train", "serve", "annotate", "annotate-train", "annotate-eval", "build", "judge",
               "generate", "report", "analyze-history-size", "analyze-controllability", "analyze-novel"}
LOADS_NO_MODEL = {"validate", "profile", "db-upgrade"}
QUICK = {"validate", "profile", "serve", "db-upgrade"}  # no progress bar: they read and print, or serve until stopped
RESUMES = {"generate", "report", "train", "annotate", "judge", "demo"}  # --output's work goes on (train: --resume)
DTYPE_FROM_SPEC = {"report"}  # the spec names the dtype: it is part of what each cell measured


def leaf_commands() -> dict[str, typing.Any]:
    """'annotate train' -> its click command, for every command the app runs (the hidden default too). Typer
    may bring its own copy of click, so groups and arguments are told apart by what they have, not their class."""
    out: dict[str, typing.Any] = {}

    def walk(group: typing.Any, prefix: str) -> None:
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                walk(command, f"{prefix}{name} ")
            else:
                out[f"{prefix}{name}"] = command

    walk(typer.main.get_command(app), "")
    return out


def config_of(name: str) -> tuple[type, dict[str, dataclasses.Field], dict[str, typing.Any]]:
    config, exclude = COMMANDS[name]
    return config, {f.name: f for f in option_fields(config, exclude)}, typing.get_type_hints(config)


def ours() -> list[str]:
    return sorted(name for name, (config, _) in COMMANDS.items() if config.__module__.startswith("alignx."))


def test_every_command_is_declared_through_options_command_and_classified():
    names = {command.callback.__name__.replace("_", "-") for command in leaf_commands().values()}
    assert names <= set(COMMANDS), f"not made by options_command: {sorted(names - set(COMMANDS))}"
    assert set(ours()) == names  # and every config made into a command is registered
    assert names == LOADS_MODEL | LOADS_NO_MODEL and not LOADS_MODEL & LOADS_NO_MODEL


def test_no_command_takes_a_positional_argument():
    for path, command in leaf_commands().items():
        positional = [p.name for p in command.params if p.param_type_name == "argument"]
        assert not positional, f"alignx {path}: {positional} must be options (--data for records)"


@pytest.mark.parametrize("name", ours())
def test_records_are_read_through_data_and_split(name):
    """A field that takes records (a benchmark, file, folder or hub dataset) is `--data`; `--split` goes with it."""
    _, fields, _ = config_of(name)
    for field in fields.values():
        if "dataset id" in field.metadata.get("help", ""):
            assert field.name == "data", f"{name}: --{field.name} reads records; call it --data"
    if "data" in fields:
        assert "split" in fields, f"{name}: --data without --split"


@pytest.mark.parametrize("name", ours())
def test_an_output_comes_with_overwrite_that_replaces_it(name):
    _, fields, hints = config_of(name)
    if "output" not in fields:
        assert "overwrite" not in fields
        return
    assert "overwrite" in fields and hints["overwrite"] is bool, f"{name}: --output without --overwrite"
    help_text = fields["overwrite"].metadata["help"]
    assert help_text.startswith(("Replace", "Discard")) and "direction" not in help_text, help_text


@pytest.mark.parametrize("name", ours())
def test_commands_that_load_a_model_take_dtype_and_device(name):
    _, fields, _ = config_of(name)
    if name in LOADS_MODEL:
        assert "device" in fields, f"{name} loads a model: it needs --device"
        assert ("dtype" in fields) != (name in DTYPE_FROM_SPEC), f"{name} loads a model: it needs --dtype"
    else:
        assert "dtype" not in fields and "device" not in fields


@pytest.mark.parametrize("name", ours())
def test_long_running_commands_have_progress_and_keys_come_from_a_named_variable(name):
    _, fields, hints = config_of(name)
    assert ("progress" in fields and hints["progress"] is bool) == (name not in QUICK), name
    for field in fields:
        server = field.removesuffix("_url") if field.endswith("_url") else field if field == "upstream" else None
        if server:
            assert f"{server}_key_env" in fields, f"{name}: --{field} without --{server}-key-env"
    assert not any("api_key" in field for field in fields), f"{name}: a key is never an option; name its variable"


def test_one_progress_bar_and_closing_lines_on_stdout():
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        if path.name != "progress.py":
            assert not re.search(r"\b(Progress|tqdm)\(", text), f"{path}: use alignx.progress.ProgressBar"
        for line in text.splitlines():
            closing = re.search(r"""["'](report|reports|wrote|plot): """, line) or re.search(r"f\"wrote ", line)
            if closing:
                assert "err=True" not in line and "stderr" not in line, f"{path}: {line.strip()} goes to stdout"


def existing_output_cases(tmp_path: Path) -> dict[str, list[str]]:
    """Per command, the arguments of a run whose --output is already there and was not made by this command
    with these settings (for a command that resumes, an output it cannot continue)."""
    file = tmp_path / "there.json"
    file.write_text("{}")
    folder = tmp_path / "there"
    (folder / "cells").mkdir(parents=True)
    for name in ("history_size", "controllability", "novel", "demo-none-dpo-raw"):
        (folder / f"{name}.json").write_text("{}")
    (folder / "alignx_training.json").write_text(json.dumps({"config": {}}))
    data = tmp_path / "data.jsonl"
    data.write_text("")
    return {
        "eval": ["eval", "--output", str(file)],
        "demo": ["demo", "--output", str(folder)],
        "train": ["train", "--output", str(folder)],
        "annotate": ["annotate", "--data", str(data), "--output", str(tmp_path / "there.jsonl")],
        "annotate-eval": ["annotate", "eval", "--annotator", "openai:m", "--output", str(file)],
        "annotate-train": ["annotate", "train", "--data", str(data), "--output", str(folder)],
        "build": ["build", "--events", str(data), "--output", str(folder)],
        "judge": ["judge", "--a", str(data), "--b", str(data), "--output", str(file)],
        "analyze-history-size": ["analyze", "history-size", "--output", str(folder)],
        "analyze-controllability": ["analyze", "controllability", "--output", str(folder)],
        "analyze-novel": ["analyze", "novel", "--output", str(folder)],
    }


def test_an_existing_output_is_refused_without_overwrite_before_any_work(tmp_path):
    """Every command with --output refuses, in one line and before it loads data or a model, an existing output
    it cannot continue; those in RESUMES continue their own (their tests check that finished work is not redone:
    test_generate, test_report, test_train, test_annotate_fill, test_judge, test_evaluate)."""
    cases = existing_output_cases(tmp_path)
    with_output = {name for name in ours() if "output" in config_of(name)[1]}
    assert set(cases) | RESUMES == with_output
    (tmp_path / "there.jsonl").write_text("")
    pytest.importorskip("matplotlib")
    for name, args in cases.items():
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, (name, result.output)
        assert "--overwrite" in result.stderr and result.stderr.count("\n") == 1, (name, result.stderr)


def test_the_conventions_page_is_linked_and_names_every_rule():
    page = (DOCS / "cli.md").read_text()
    readme = (DOCS.parent / "README.md").read_text()
    assert "docs/cli.md" in readme
    for option in ("--data", "--overwrite", "--dtype", "--device", "--progress", "-key-env", "stdout", "stderr"):
        assert option in page, option


SHELL_BLOCKS = ("", "bash", "sh", "shell", "console")
SHELL_SEPARATORS = ("|", "&", "&&", ";", "||")


def documented_invocations() -> list[tuple[str, list[str]]]:
    """(where, argv) of every `alignx ...` line in the README's and docs' code blocks, continuation lines
    joined, the shell's comments, pipes and environment assignments left out."""
    import shlex

    found = []
    for page in [DOCS.parent / "README.md", *sorted(DOCS.glob("*.md"))]:
        fenced = in_code = False
        lines = page.read_text().splitlines()
        i = 0
        while i < len(lines):
            line = lines[i]
            if line.startswith("```"):
                fenced = not fenced
                in_code = fenced and line[3:].strip() in SHELL_BLOCKS
            elif in_code and re.search(r"(^|/|\s)alignx \w", line) and not line.lstrip().startswith("#"):
                start = i
                while line.rstrip().endswith("\\") and i + 1 < len(lines):
                    i += 1
                    line = line.rstrip()[:-1] + " " + lines[i].strip()
                words = shlex.split(line, comments=True)
                ends = [k for k, w in enumerate(words) if w in SHELL_SEPARATORS or w.startswith((">", "2>"))]
                words = words[:ends[0]] if ends else words
                at = next(k for k, w in enumerate(words) if w == "alignx" or w.endswith("/alignx"))
                found.append((f"{page.name}:{start + 1}", words[at + 1:]))
            i += 1
    return found


def test_every_command_in_the_readme_and_docs_parses():
    """Each documented invocation names a command and only options it has, with values of the right type
    (parsed as the shell would pass them, not run)."""
    root = typer.main.get_command(app)
    invocations = documented_invocations()
    assert len(invocations) > 30
    for where, argv in invocations:
        command, args, name = root, list(argv), "alignx"
        while hasattr(command, "commands"):
            if args and args[0] in command.commands:
                name, command, args = args[0], command.commands[args[0]], args[1:]
            elif getattr(command, "default", None):  # `alignx annotate --data ...`: the hidden default command
                command = command.commands[command.default]
            else:
                raise AssertionError(f"{where}: no command in alignx {' '.join(argv)}")
        try:
            command.make_context(name, args)
        except Exception as e:  # a click usage error: unknown option, missing value, bad type
            raise AssertionError(f"{where}: alignx {' '.join(argv)}: {e}") from None
