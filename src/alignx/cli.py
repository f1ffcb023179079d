"""The `alignx` command line: thin wrappers over the library modules.

Heavy libraries (torch, transformers, datasets) are imported inside the commands that need them, so
`alignx --help` stays instant. A `UserError` prints one line and exits 2; any other exception is a bug:
its traceback, a one-line hint, exit 1. Every command's options are declared once, on its config dataclass
(alignx.options), and follow the conventions of docs/cli.md (tests/test_conventions.py checks them).
"""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
import typer
from typer.core import TyperGroup

from alignx.data_commands import ProfileConfig, ValidateConfig
from alignx.demo import DemoConfig
from alignx.errors import UserError, record_prefix
from alignx.eval.settings import EvalConfig
from alignx.options import options_command

app = typer.Typer(
    help="Personalized alignment toolkit: the AlignX preference space, personas, evaluation, training, serving.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_BAD_INPUT = 2
EXIT_BUG = 1
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer killed by a closed pipe

BUG_HINT = ("this is a bug in alignx or in a library it calls, not a problem with your input; please report it "
            "with the traceback above")


def fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


@contextmanager
def user_errors() -> Iterator[None]:
    """A `UserError` becomes one line on stderr and exit code 2; anything else is a bug and keeps its
    traceback, followed by a one-line hint, and exits 1."""
    try:
        yield
    except UserError as e:
        raise fail(str(e)) from None
    except (typer.Exit, typer.Abort, click.exceptions.ClickException):
        raise
    except BrokenPipeError:  # the reader went away (`alignx profile --data ... | head`): stop as SIGPIPE would
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        raise typer.Exit(EXIT_BROKEN_PIPE) from None
    except Exception:
        traceback.print_exc()
        typer.echo(f"alignx: {BUG_HINT}", err=True)
        raise typer.Exit(EXIT_BUG) from None


def guarded(fn: Callable) -> Callable:
    """`fn` with its user errors as one line and exit 2, its bugs with a traceback and exit 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from alignx.distributed import launcher_note

        if note := launcher_note():  # under a launcher that started fewer processes than meant
            typer.echo(f"note: {note}", err=True)
        with user_errors():
            return fn(*args, **kwargs)

    return wrapper


def command(fn: Callable) -> Callable:
    """Register `fn`, guarded, as a subcommand of `alignx`."""
    return app.command()(guarded(fn))


def run_validate(config: ValidateConfig) -> None:
    """Check every record of --data; exit 0 with a summary, or 2 naming the file, record and field."""
    from alignx import registry
    from alignx.records import validate as check

    data, split = config.data, config.split
    if registry.is_checkout(data):  # records assembled from several files: the first problem ends the check
        total = sum(1 for _ in registry.iter_data(data, split))
        typer.echo(f"{data}: {total} records, all valid")
        return
    total = bad = 0
    for _, error in check(registry.source(data), split):
        total += 1
        if error is None:
            continue
        bad += 1
        if not config.all:
            raise fail(str(error))
        typer.echo(f"error: {error}", err=True)
    if bad:
        typer.echo(f"{data}: {bad} of {total} records are invalid", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    typer.echo(f"{data}: {total} records, all valid")


command(options_command(ValidateConfig, run_validate, name="validate"))


def run_profile(config: ProfileConfig) -> None:
    """Print each record's preference profile, aggregated from its UGC and PAIR items' directions."""
    from alignx import registry
    from alignx.personas import PersonaError, record_profile

    for index, record in enumerate(registry.iter_data(config.data, config.split)):
        try:
            text = record_profile(record)
        except PersonaError as e:
            raise fail(f"{record_prefix(config.data, index + 1)}: {e}") from None
        typer.echo(json.dumps({"index": index, "profile": text}, ensure_ascii=False) if config.json else text)


command(options_command(ProfileConfig, run_profile, name="profile"))


def run_eval(config: EvalConfig) -> None:
    """Alignment accuracy of MODEL on DATA for one persona type and reward, with a bootstrap 95% interval."""
    from rich.console import Console

    from alignx import distributed
    from alignx.eval.evaluator import evaluate
    from alignx.eval.results import finished_result, results_table, write_report

    provenance = {"data": config.data, "split": config.split, "limit": config.limit, "dtype": config.dtype,
                  "model": config.model}
    if config.output and (done := finished_result(config.output, config, provenance, overwrite=config.overwrite)):
        Console().print(results_table([done]))
        typer.echo(f"report: {config.output} (this run already: nothing scored; --overwrite scores it again)")
        return
    result = evaluate(config)
    if not distributed.is_main():  # every process scored its share of the batches; the main one reports
        return
    if result.processes > 1:
        typer.echo(f"data parallel: {result.processes} processes scored {result.n} records, gathered in order")
    Console().print(results_table([result]))
    if config.output:
        write_report(result, config.output)
        typer.echo(f"report: {config.output}")


command(options_command(EvalConfig, run_eval, name="eval"))


def run_demo_command(config: DemoConfig) -> None:
    """The main job: the embedded model on the demo test split; universal baseline, then persona lift and the
    zero-shot reward for each persona type."""
    import time

    from rich.console import Console

    from alignx.demo import DEMO_SPLIT, REAL_DATA_NOTE, demo_dtype, run_demo
    from alignx.eval.results import results_table

    console = Console()
    dtype = config.dtype or demo_dtype()
    console.print(f"[bold]alignx demo[/]: the demo {DEMO_SPLIT} split, embedded model SmolLM2-135M-Instruct, "
                  f"untrained, {dtype}")
    start = time.perf_counter()
    results = run_demo(limit=config.limit, output=config.output, overwrite=config.overwrite, dtype=dtype,
                       device=config.device, progress=config.progress)
    console.print(results_table(results, title="alignx demo: the embedded model, untrained (demo test split)"))
    console.print("none / dpo raw is the universal baseline (log π(chosen) > log π(rejected)); dpo vs none is "
                  "persona lift (reference: the same model without the persona); zero-shot contrasts the user's own "
                  "evidence (docs/rewards.md). The split is persona-contrast: a scorer that ignores the persona gets "
                  "exactly 0.5. tok/rec counts what a row added; rows share prompts through the cache.")
    console.print(REAL_DATA_NOTE)
    console.print(f"{time.perf_counter() - start:.0f} s")
    if config.output:
        typer.echo(f"reports: {config.output}")


command(options_command(DemoConfig, run_demo_command, name="demo"))


def main() -> None:  # pragma: no cover - console entry for `python -m alignx`
    sys.exit(app())


from alignx.training.command import train as _train  # noqa: E402

command(_train)

from alignx.serve.command import db_upgrade as _db_upgrade  # noqa: E402
from alignx.serve.command import serve as _serve  # noqa: E402

command(_serve)
db_app = typer.Typer(no_args_is_help=True, help="The service's memory database: `upgrade` brings its schema to this "
                                                "alignx's revision, in place.")
db_app.command(name="upgrade")(guarded(_db_upgrade))
app.add_typer(db_app, name="db")


class DataOrSubcommand(TyperGroup):
    """`alignx annotate --data DATA ...` runs the hidden default command; `alignx annotate train|eval ...` the
    others."""

    default = "data"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [self.default, *args]
        return super().parse_args(ctx, args)


from alignx.annotate.command import (  # noqa: E402
    AnnotateConfig,
    AnnotatorEvalConfig,
    run_annotate,
    run_annotator_eval,
    run_train,
)
from alignx.annotate.learn import InferencerTrainConfig  # noqa: E402

annotate_app = typer.Typer(
    cls=DataOrSubcommand, no_args_is_help=True,
    help="Infer 90-dimension preference directions from behaviour. `alignx annotate --data DATA --annotator SPEC "
         "--output OUT` fills every missing direction of DATA (options: `alignx annotate --data DATA --help`); "
         "`train` makes a local inferencer, `eval` measures an annotator against true directions.")
annotate_app.command(name=DataOrSubcommand.default, hidden=True)(
    guarded(options_command(AnnotateConfig, run_annotate, name="annotate")))
annotate_app.command(name="train")(guarded(options_command(InferencerTrainConfig, run_train, name="annotate_train")))
annotate_app.command(name="eval")(guarded(options_command(AnnotatorEvalConfig, run_annotator_eval,
                                                          name="annotate_eval")))
app.add_typer(annotate_app, name="annotate")

from alignx.dataset.command import BuildConfig, run_build  # noqa: E402

command(options_command(BuildConfig, run_build, name="build"))

from alignx.judge.command import JudgeConfig, run_judge  # noqa: E402

command(options_command(JudgeConfig, run_judge, name="judge"))

from alignx.generate.command import GenerateConfig, run_generate  # noqa: E402

command(options_command(GenerateConfig, run_generate, name="generate"))

from alignx.report.command import ReportConfig  # noqa: E402


def run_report(config: ReportConfig) -> None:
    """The paper's Table 3 as one command: every model row of SPEC on every benchmark × persona column, each cell
    saved as it finishes (a rerun resumes), then table.json / table.md with a paired test against the baseline."""
    from alignx.report.command import run_report as run

    run(config)


command(options_command(ReportConfig, run_report, name="report"))

from alignx.analyze.command import (  # noqa: E402
    ControllabilityConfig,
    HistorySizeConfig,
    NovelConfig,
    run_controllability_command,
    run_history_size_command,
    run_novel_command,
)

analyze_app = typer.Typer(
    no_args_is_help=True,
    help="The paper's analyses, each writing DIR/<name>.json and DIR/<name>.png (docs/analysis.md): accuracy "
         "against history size, controllability of the profile, and unseen preference dimensions.")
analyze_app.command(name="history-size")(guarded(options_command(
    HistorySizeConfig, run_history_size_command, name="analyze_history_size")))
analyze_app.command(name="controllability")(guarded(options_command(
    ControllabilityConfig, run_controllability_command, name="analyze_controllability")))
analyze_app.command(name="novel")(guarded(options_command(NovelConfig, run_novel_command, name="analyze_novel")))
app.add_typer(analyze_app, name="analyze")
