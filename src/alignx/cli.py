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
EvalDataOpt = Annotated[
    str, typer.Option(help="Benchmark (demo, alignx-test, p-soups, prism, uf-p-4), file, folder or hub dataset id.")
]
ModelOpt = Annotated[
    str, typer.Option(help="'default' (the embedded SmolLM2-135M-Instruct), a hub id, a model or adapter folder.")
]
ReferenceOpt = Annotated[
    str, typer.Option(help="none (same model, universal prompt) | base (the adapter's base) | raw | a model spec.")
]


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


@app.command(name="eval")
def eval_(
    data: EvalDataOpt = "demo",
    split: SplitOpt = None,
    model: ModelOpt = "default",
    persona: Annotated[str, typer.Option(help="ugc | pair | demo | profile | all | none")] = "all",
    prompt: Annotated[str | None, typer.Option(help="ica | pba (default: pba for persona profile, else ica).")] = None,
    reference: ReferenceOpt = "none",
    limit: Annotated[int | None, typer.Option(help="Evaluate the first N records only.")] = None,
    batch_size: Annotated[int, typer.Option(help="Sequences per forward pass.")] = 8,
    output: Annotated[str | None, typer.Option(help="Write the full JSON report here (atomically).")] = None,
) -> None:
    """Alignment accuracy of MODEL on DATA for one persona type, with a bootstrap 95% interval."""
    with user_errors():
        from rich.console import Console

        from alignx.evaluate import EvalConfig, evaluate
        from alignx.reporting import results_table, write_report

        config = EvalConfig(data=data, split=split, model=model, persona=persona, prompt=prompt,
                            reference=reference, limit=limit, batch_size=batch_size)
        result = evaluate(config)
        Console().print(results_table([result]))
        if output:
            write_report(result, output)
            typer.echo(f"report: {output}")


@command
def demo(
    limit: Annotated[int | None, typer.Option(help="Use the first N test records only.")] = None,
    output: Annotated[str | None, typer.Option(help="Folder for one JSON report per row.")] = None,
) -> None:
    """The main job: the embedded model on the demo test split, universal baseline and each persona type."""
    from pathlib import Path

    from rich.console import Console

    from alignx import benchmarks
    from alignx.evaluate import EvalConfig, Evaluator
    from alignx.reporting import results_table, write_report

    console = Console()
    records = benchmarks.load("demo", "test", limit)
    console.print(f"[bold]alignx demo[/]: {len(records)} demo test records, embedded model SmolLM2-135M-Instruct")
    evaluator = Evaluator("default")
    settings = [("none", "raw")] + [(p, "none") for p in ("ugc", "pair", "demo", "profile", "all")]
    results = []
    for persona, reference in settings:
        config = EvalConfig(data="demo", split="test", persona=persona, reference=reference, limit=limit)
        results.append(evaluator.run(records, config))
        if output:
            write_report(results[-1], Path(output) / f"demo-{persona}-{reference}.json")
    console.print(results_table(results, title="alignx demo: persona lift of the embedded model (demo test split)"))
    console.print("persona none / reference raw is the universal baseline (log π(chosen) > log π(rejected)); the other "
                  "rows use reference none: the same model reading the prompt without the persona.")


def main() -> None:  # pragma: no cover - console entry for `python -m alignx`
    sys.exit(app())


from alignx.train import train as _train  # noqa: E402

command(_train)

from alignx.serve.command import serve as _serve  # noqa: E402

command(_serve)
