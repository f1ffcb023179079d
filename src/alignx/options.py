"""Command options declared once: a config dataclass is the command's options, help and docs table.

A command's settings are the fields of one dataclass; each field carries its type, its default and,
in `field(metadata=...)`, its help. `options_command` turns the dataclass into the function to
register with Typer, `options_table` into the Markdown table of its docs page, and validation stays
in the dataclass's `__post_init__`, raising `OptionError` with the option named as `--option-name`.
Adding an option is adding a field; nothing else repeats its name, default or help.

How: Typer reads a command's parameters from `inspect.signature`, which honours `__signature__`.
`options_command` sets that to one `Annotated[type, typer.Option(...)]` parameter per field on a
wrapper that builds the dataclass from the parsed values and calls the command body with it. The
field `batch_size` is the option `--batch-size`; a bool field is the flag pair `--lora/--no-lora`; a
field without a default is required. Metadata keys a field may carry:

    help          the help text (CLI and docs table)
    short         a short alias, e.g. "-o"
    default_text  what to show as the default where the value is not telling, e.g. "all" for None
    envvar        an environment variable the option is read from when not given
    min, max      inclusive bounds of a number (None values are not checked)
    above, below  exclusive bounds: above=0 is "positive"
    choices       the values a str option accepts (compared in lower case)

Bounds and choices are declared on the field and nowhere else: `check_options(config)`, called first in
every config's `__post_init__`, enforces them with one uniform wording, the options table shows them, and the
report spec (alignx.report.spec) reads the same fields for its keys.

Moving a command onto this (eval, serve, ...):

    @dataclass
    class EvalConfig:
        data: str = field(default="demo", metadata={"help": "Benchmark, file, folder or hub id."})
        limit: int | None = field(default=None, metadata={"help": "The first N records only."})

    def run_eval(config: EvalConfig) -> None:
        '''Alignment accuracy of MODEL on DATA.'''   # the command's help unless help= is given
        ...

    command(options_command(EvalConfig, run_eval, name="eval"))   # alignx.cli: one-line user errors

and put `<!-- options:eval -->` `<!-- /options:eval -->` in its docs page; then run
`python tools/options_docs.py docs/PAGE.md` to fill the table (tests/test_options.py checks it is current).

`parse_option` reads a setting whose values are a str Enum (persona, method, prompt kind) by value,
case-insensitively, with the one-line error the CLI gives for each.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing
from collections.abc import Callable, Iterable
from enum import Enum
from typing import Annotated, Any, TypeVar

from alignx.errors import OptionError

E = TypeVar("E", bound=Enum)

# Command name -> (config dataclass, excluded fields), filled by options_command; read by render_docs.
COMMANDS: dict[str, tuple[type, tuple[str, ...]]] = {}


def parse_option(choices: type[E], name: str | E, option: str) -> E:
    """The member of `choices` whose value is `name` (a member passes through); `option` names the
    setting in the error, e.g. 'persona' or '--method'."""
    try:
        return choices(str(getattr(name, "value", name)).lower())
    except ValueError:
        values = ", ".join(member.value for member in choices)
        raise OptionError(f"unknown {option} {name!r}; choose one of {values}") from None


def value_problem(f: dataclasses.Field, value: Any, kind: Any = None) -> str | None:
    """What is wrong with `value` for the field `f` by its declared bounds and choices (and, given `kind`, its
    type: an int field refuses a bool or a float), e.g. "must be at least 1, got 0"; None when it is fine."""
    meta = f.metadata
    if value is None:
        return None
    if kind is not None:
        wanted = {int: (int,), float: (int, float)}.get(unwrap_optional(kind))
        if wanted and (isinstance(value, bool) or not isinstance(value, wanted)):
            return f"must be {'an integer' if wanted == (int,) else 'a number'}, got {value!r}"
    if "choices" in meta and str(value).lower() not in meta["choices"]:
        return f"{value!r} is unknown; choose one of {', '.join(meta['choices'])}"
    if (problem := _range_text(meta)) and not _in_range(meta, value):
        return f"must be {problem}, got {value}"
    return None


def unwrap_optional(kind: Any) -> Any:
    """`int` for `int | None`, else `kind`."""
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    return args[0] if len(args) == 1 and type(None) in typing.get_args(kind) else kind


def _in_range(meta: typing.Mapping[str, Any], value: Any) -> bool:
    return (("min" not in meta or value >= meta["min"]) and ("max" not in meta or value <= meta["max"])
            and ("above" not in meta or value > meta["above"]) and ("below" not in meta or value < meta["below"]))


def _range_text(meta: typing.Mapping[str, Any]) -> str | None:
    """The declared bounds in words: "at least 1", "positive", "between 0 and 1", "in [0, 1)"."""
    low = ("[", meta["min"]) if "min" in meta else ("(", meta["above"]) if "above" in meta else None
    high = ("]", meta["max"]) if "max" in meta else (")", meta["below"]) if "below" in meta else None
    if low and high:
        return f"between {low[1]} and {high[1]}" if (low[0], high[0]) == ("[", "]") else \
            f"in {low[0]}{low[1]}, {high[1]}{high[0]}"
    if low:
        return f"at least {low[1]}" if low[0] == "[" else "positive" if low[1] == 0 else f"above {low[1]}"
    if high:
        return f"at most {high[1]}" if high[0] == "]" else f"below {high[1]}"
    return None


def help_text(f: dataclasses.Field) -> str:
    """The field's help with its declared bounds after it, e.g. "Sequences per forward pass. (at least 1)"."""
    bounds = _range_text(f.metadata)
    return f.metadata.get("help", "") + (f" ({bounds})" if bounds else "")


def check_options(config: Any) -> None:
    """OptionError naming the first option of `config` whose value breaks its declared type, bounds or choices,
    e.g. "--batch-size must be at least 1, got 0"."""
    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        if f.init and (problem := value_problem(f, getattr(config, f.name), hints.get(f.name))) is not None:
            raise OptionError(f"{option_name(f)} {problem}")


def option_name(f: dataclasses.Field) -> str:
    return "--" + f.name.replace("_", "-")


def option_fields(config_cls: type, exclude: Iterable[str] = ()) -> list[dataclasses.Field]:
    """The fields of `config_cls` that are command-line options, in declaration order."""
    return [f for f in dataclasses.fields(config_cls) if f.init and f.name not in set(exclude)]


def _parameter(f: dataclasses.Field, kind: Any) -> inspect.Parameter:
    import typer

    meta = f.metadata
    shown = {"help": help_text(f) or None, "show_default": meta.get("default_text", True), "envvar": meta.get("envvar"),
             "default_factory": None if f.default_factory is dataclasses.MISSING else f.default_factory}
    flag = f"{option_name(f)}/--no-{option_name(f)[2:]}" if kind is bool else option_name(f)
    info = typer.Option(flag, *([meta["short"]] if "short" in meta else []), **shown)  # never positional (docs/cli.md)
    default = inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default
    return inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[kind, info])


def options_command(config_cls: type, body: Callable[[Any], Any], *, name: str | None = None,
                    help: str | None = None, exclude: Iterable[str] = ()) -> Callable[..., Any]:
    """The Typer command function whose options are the fields of the dataclass `config_cls` (less
    `exclude`, which keep their defaults): it builds `config_cls(**options)`, so `__post_init__`
    validates, and returns `body(config)`. Register it with `app.command()`; its name is `name` or
    `body`'s, its help `help` or `body`'s docstring."""
    exclude = tuple(exclude)
    hints = typing.get_type_hints(config_cls)
    fields = option_fields(config_cls, exclude)
    for f in dataclasses.fields(config_cls):
        if f.name in exclude and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise TypeError(f"{config_cls.__name__}.{f.name} has no default and cannot be excluded")

    def command(**values: Any) -> Any:
        return body(config_cls(**values))

    parameters = [_parameter(f, hints[f.name]) for f in fields]
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__name__ = command.__qualname__ = name or body.__name__
    command.__doc__ = help if help is not None else body.__doc__
    command.__module__ = body.__module__
    COMMANDS[command.__name__.replace("_", "-")] = (config_cls, exclude)
    return command


def _default_text(f: dataclasses.Field) -> str:
    if "default_text" in f.metadata:
        return str(f.metadata["default_text"])
    if f.default is dataclasses.MISSING:
        return "required" if f.default_factory is dataclasses.MISSING else f"`{f.default_factory()!r}`"
    if isinstance(f.default, bool):
        return "on" if f.default else "off"
    return "none" if f.default is None else f"`{f.default}`" if isinstance(f.default, str) else str(f.default)


def options_table(config_cls: type, exclude: Iterable[str] = ()) -> str:
    """The Markdown table (option, default, help) of the options `options_command` makes."""
    rows = ["| option | default | help |", "|---|---|---|"]
    hints = typing.get_type_hints(config_cls)
    for f in option_fields(config_cls, exclude):
        names = f"{option_name(f)} / --no-{option_name(f)[2:]}" if hints[f.name] is bool else option_name(f)
        names = f"`{names}`, `{f.metadata['short']}`" if "short" in f.metadata else f"`{names}`"
        if "envvar" in f.metadata:
            names += f" (or `${f.metadata['envvar']}`)"
        cells = (names, _default_text(f), help_text(f))
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)


BLOCK = re.compile(r"(<!-- options:([\w-]+) -->\n).*?(<!-- /options:\2 -->)", re.DOTALL)


def render_docs(text: str) -> str:
    """`text` with each `<!-- options:NAME -->` ... `<!-- /options:NAME -->` block holding the
    table of the registered command NAME (whoever calls it imports alignx.cli first, which registers them; no
    library module imports the CLI)."""
    def table(match: re.Match) -> str:
        if match[2] not in COMMANDS:
            raise KeyError(f"no command {match[2]!r} made by options_command; known: {', '.join(sorted(COMMANDS))}")
        return f"{match[1]}\n{options_table(*COMMANDS[match[2]])}\n\n{match[3]}"  # blank lines end the table

    return BLOCK.sub(table, text)
