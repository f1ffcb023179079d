"""The `alignx` command line: thin wrappers over the library modules.

Heavy libraries (torch, transformers, datasets) are imported inside the commands that
need them, so `alignx --help` stays instant. Expected failures print one line and exit 2.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

app = typer.Typer(
    help="Personalized alignment toolkit: the AlignX preference space, personas, evaluation, training, serving.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_BAD_INPUT = 2

DataArg = Annotated[str, typer.Argument(help="A .json/.jsonl/.parquet file, a hub dataset id or folder, or 'demo'.")]
SplitOpt = Annotated[str | None, typer.Option(help="Split of a hub dataset or of 'demo' (train|test).")]


def fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can fix into one line on stderr and exit code 2."""
    try:
        yield
    except (ValueError, KeyError, FileNotFoundError, IsADirectoryError, PermissionError) as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        raise fail(message) from None


def command(fn: Callable) -> Callable:
    """Register `fn` as a subcommand whose user errors exit 2 with one line."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with user_errors():
            return fn(*args, **kwargs)

    return app.command()(wrapper)


@command
def validate(
    data: DataArg,
    split: SplitOpt = None,
    all_errors: Annotated[bool, typer.Option("--all", help="Report every bad record, not only the first.")] = False,
) -> None:
    """Check every record of DATA; exit 0 with a summary, or 2 naming the file, record and field."""
    from alignx.records import validate as check

    total = bad = 0
    for _, error in check(data, split):
        total += 1
        if error is None:
            continue
        bad += 1
        if not all_errors:
            raise fail(str(error))
        typer.echo(f"error: {error}", err=True)
    if bad:
        typer.echo(f"{data}: {bad} of {total} records are invalid", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    typer.echo(f"{data}: {total} records, all valid")


@command
def profile(
    data: DataArg,
    split: SplitOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help='One {"index", "profile"} object per line.')] = False,
) -> None:
    """Print each record's preference profile, aggregated from its UGC and PAIR items' directions."""
    from alignx.personas import PersonaError, record_profile
    from alignx.records import iter_records

    for index, record in enumerate(iter_records(data, split)):
        try:
            text = record_profile(record)
        except PersonaError as e:
            raise fail(f"{data}: record {index + 1}: {e}") from None
        typer.echo(json.dumps({"index": index, "profile": text}, ensure_ascii=False) if as_json else text)


@command
def demo() -> None:
    """The main job on the embedded demo data: its users' personas and profiles."""
    from rich.console import Console
    from rich.table import Table

    from alignx.personas import record_profile
    from alignx.records import iter_records

    table = Table(title="alignx demo data (test split): who the users are", show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("Demographic Information", max_width=40)
    table.add_column("Profile (from UGC + PAIR directions)", max_width=40)
    table.add_column("Post / chosen response", max_width=50)
    for index, record in enumerate(iter_records("demo", "test")):
        table.add_row(str(index), record.demographic or "", record_profile(record),
                      f"{record.prompt}\n→ {record.chosen}")
    Console().print(table)


def main() -> None:  # pragma: no cover - console entry for `python -m alignx`
    sys.exit(app())
