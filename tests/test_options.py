"""alignx.options: settings read as str Enum members with one-line errors, and commands whose options,
defaults, help and docs table come from one config dataclass."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from alignx.errors import OptionError, UserError
from alignx.options import check_options, help_text, options_command, options_table, parse_option, render_docs
from alignx.prompts import PromptKind
from alignx.training.config import TrainConfig

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_values_are_read_case_insensitively_and_members_pass_through():
    assert parse_option(PromptKind, "PBA", "--prompt") is PromptKind.PBA
    assert parse_option(PromptKind, PromptKind.ICA, "--prompt") is PromptKind.ICA


def test_unknown_value_names_the_option_and_the_choices():
    with pytest.raises(OptionError, match=r"^unknown --prompt 'dpo'; choose one of ica, pba$") as caught:
        parse_option(PromptKind, "dpo", "--prompt")
    assert isinstance(caught.value, UserError) and isinstance(caught.value, ValueError)


def single_command_app(fn) -> typer.Typer:
    app = typer.Typer()
    app.command()(fn)
    return app


def test_every_train_config_field_is_an_option_of_alignx_train_with_its_default():
    from alignx.cli import app

    params = {p.name: p for p in typer.main.get_command(app).commands["train"].params if p.name != "help"}
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    assert params.keys() == fields.keys()
    for name, f in fields.items():
        param = params[name]
        assert param.opts[0] == "--" + name.replace("_", "-")
        assert param.help == help_text(f) and help_text(f).startswith(f.metadata["help"])
        if f.default is dataclasses.MISSING:
            assert param.required
        else:
            assert not param.required and param.default == f.default, name
        if isinstance(f.default, bool):
            assert param.secondary_opts == ["--no-" + name.replace("_", "-")]
    assert params["output"].opts == ["--output", "-o"]


@pytest.mark.slow  # imports the training stack for its help
def test_alignx_train_help_lists_the_options():
    from alignx.cli import app

    result = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in ("--output", "-o", "--lora-targets", "--num-processes", "--resume", "--overwrite",
                 "--no-with-demographic", "--no-history-targets", "--no-contrast-batches", "--no-lora", "--dtype"):
        assert name in result.output


def test_bad_train_options_are_one_line_before_any_work(tmp_path):
    from alignx.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["train", "-o", str(tmp_path / "o"), "--batch-size", "0"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == ["error: --batch-size must be at least 1, got 0"]
    result = runner.invoke(app, ["train", "-o", str(tmp_path / "o"), "--resume", "--overwrite"])
    assert result.exit_code == 2 and result.output.strip().startswith("error: --resume continues the run")
    assert not (tmp_path / "o").exists()


def test_config_errors_are_option_errors():
    with pytest.raises(OptionError, match="--batch-size must be at least 1, got 0"):
        TrainConfig(output="x", batch_size=0)
    with pytest.raises(OptionError, match=r"unknown --method 'kto'"):
        TrainConfig(output="x", method="kto")


@dataclass
class Bounded:
    count: int = field(default=1, metadata={"help": "How many.", "min": 1})
    rate: float = field(default=0.5, metadata={"help": "A rate.", "above": 0})
    share: float = field(default=0.1, metadata={"help": "A share.", "min": 0, "below": 1})
    port: int = field(default=80, metadata={"help": "A port.", "min": 1, "max": 65535})
    limit: int | None = field(default=None, metadata={"help": "Optional.", "min": 1})
    kind: str = field(default="a", metadata={"help": "a | b.", "choices": ("a", "b")})

    def __post_init__(self) -> None:
        check_options(self)


@pytest.mark.parametrize(("values", "message"), [
    ({"count": 0}, "--count must be at least 1, got 0"),
    ({"rate": 0.0}, "--rate must be positive, got 0.0"),
    ({"share": 1.0}, "--share must be in [0, 1), got 1.0"),
    ({"share": -0.1}, "--share must be in [0, 1), got -0.1"),
    ({"port": 70000}, "--port must be between 1 and 65535, got 70000"),
    ({"limit": 0}, "--limit must be at least 1, got 0"),
    ({"kind": "c"}, "--kind 'c' is unknown; choose one of a, b"),
    ({"count": 2.5}, "--count must be an integer, got 2.5"),
    ({"count": True}, "--count must be an integer, got True"),
    ({"rate": "x"}, "--rate must be a number, got 'x'"),
])
def test_declared_bounds_and_choices_are_checked_in_one_wording(values, message):
    with pytest.raises(OptionError) as caught:
        Bounded(**values)
    assert str(caught.value) == message


def test_values_within_the_declared_bounds_pass_and_the_help_shows_the_bounds():
    Bounded(count=3, rate=1e-9, share=0.0, port=65535, limit=None, kind="B")
    table = options_table(Bounded)
    assert "| `--share` | 0.1 | A share. (in [0, 1)) |" in table
    assert "| `--rate` | 0.5 | A rate. (positive) |" in table
    assert "| `--kind` | `a` | a \\| b. |" in table


def test_the_report_spec_and_the_commands_check_a_setting_by_the_same_declaration(tmp_path):
    from alignx.eval.settings import EvalConfig
    from alignx.report import load_spec
    from alignx.report.spec import SpecError

    spec = tmp_path / "spec.toml"
    base = '[[models]]\nname = "m"\nmodel = "default"\n[[benchmarks]]\ndata = "demo"\npersonas = ["pair"]\n'
    for key, value, problem in (("batch_size", "0", "must be at least 1, got 0"),
                                ("beta", "-1.0", "must be positive, got -1.0"),
                                ("dtype", '"fp8"', "'fp8' is unknown; choose one of")):
        spec.write_text(f"[report]\n{key} = {value}\n{base}")
        with pytest.raises(SpecError) as in_spec:
            load_spec(spec)
        with pytest.raises(OptionError) as in_eval:
            EvalConfig(**{key: eval(value)})
        assert str(in_spec.value).startswith(f"{spec}: report.{key}: {problem}")
        assert str(in_eval.value).startswith(f"--{key.replace('_', '-')} {problem}")


def _out_of_bounds(meta) -> object:
    """A value the field's declared bounds or choices refuse."""
    if "choices" in meta:
        return "no-such-choice"
    if "min" in meta:
        return meta["min"] - 1
    if "above" in meta:
        return meta["above"]
    return meta["max"] + 1 if "max" in meta else meta["below"]


def test_every_commands_declared_bounds_are_enforced_by_its_config():
    import alignx.cli  # noqa: F401  (registers the commands)
    from alignx.options import COMMANDS

    checked = 0
    for name, (config, _) in COMMANDS.items():
        if not config.__module__.startswith("alignx."):
            continue
        required = {f.name: "x" for f in dataclasses.fields(config)
                    if f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
        for f in dataclasses.fields(config):
            if f.init and {"min", "max", "above", "below", "choices"} & set(f.metadata):
                with pytest.raises(OptionError) as caught:
                    config(**{**required, f.name: _out_of_bounds(f.metadata)})
                assert str(caught.value).startswith(f"--{f.name.replace('_', '-')} "), (name, str(caught.value))
                checked += 1
    assert checked > 60


def test_a_new_field_is_a_new_option_with_no_other_change():
    @dataclass
    class Extended(TrainConfig):
        warmup_steps: int = field(default=0, metadata={"help": "Throwaway option."})
        fast: bool = field(default=False, metadata={"help": "Throwaway flag."})

    seen: list[Extended] = []
    app = single_command_app(options_command(Extended, seen.append, name="extended", exclude=("report_to",)))
    params = typer.main.get_command(app).params
    assert "--warmup-steps" in [opt for p in params for opt in p.opts]
    assert "report_to" not in [p.name for p in params]
    result = CliRunner().invoke(app, ["-o", "out", "--warmup-steps", "3", "--fast", "--no-lora", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert seen == [Extended(output="out", warmup_steps=3, fast=True, seed=7)]
    assert "| `--warmup-steps` | 0 | Throwaway option. |" in options_table(Extended)
    assert "| `--fast / --no-fast` | off | Throwaway flag. |" in options_table(Extended)


def test_generated_command_takes_its_help_and_name_from_the_body():
    @dataclass
    class Greet:
        name: str = field(metadata={"help": "Who."})
        times: list[str] = field(default_factory=list, metadata={"help": "Repeatable."})

    def say_hello(config: Greet) -> None:
        """Say hello."""
        typer.echo(f"hello {config.name} {config.times}")

    fn = options_command(Greet, say_hello)
    assert fn.__name__ == "say_hello" and fn.__doc__ == "Say hello."
    result = CliRunner().invoke(single_command_app(fn), ["--name", "ann", "--times", "a", "--times", "b"])
    assert result.exit_code == 0 and result.output.strip() == "hello ann ['a', 'b']"
    with pytest.raises(TypeError, match="has no default"):
        options_command(Greet, say_hello, exclude=("name",))


def test_docs_options_tables_are_what_the_config_dataclasses_render():
    import alignx.cli  # noqa: F401  (registers the commands)
    from alignx.options import COMMANDS

    pages = {path.name: path.read_text() for path in DOCS.glob("*.md")}
    for name, text in pages.items():
        assert render_docs(text) == text, f"docs/{name} is stale: run python tools/options_docs.py docs/{name}"
    ours = {name for name, (config, _) in COMMANDS.items() if config.__module__.startswith("alignx.")}
    documented = {name for text in pages.values() for name in ours if f"<!-- options:{name} -->" in text}
    assert documented == ours >= {"train", "eval", "serve"}  # every alignx command made from a config has its table
    assert "| `--dataset-num-proc` | none |" in pages["training.md"]


def test_unknown_docs_block_is_refused():
    with pytest.raises(KeyError, match="no command 'nope'"):
        render_docs("<!-- options:nope -->\n<!-- /options:nope -->")
