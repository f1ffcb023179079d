"""`alignx analyze history-size | controllability | novel`: each checks that it can plot, loads the data and
the model once, runs its analysis, writes DIR/<name>.json and DIR/<name>.png and prints a few lines.
Options are the fields of the configs in `alignx.analyze.config`."""

from __future__ import annotations

from typing import Any

import typer

from alignx.analyze.config import ControllabilityConfig, HistorySizeConfig, NovelConfig


def _interval(stats: dict[str, Any], fmt: str = ".3f") -> str:
    """'0.625 [0.41, 0.83]' for a summary (mean) or a point (accuracy) with its interval."""
    value = stats["mean"] if "mean" in stats else stats["accuracy"]
    if value is None:
        return "undefined"
    low, high = stats["ci95"]
    return f"{value:{fmt}} [{low:{fmt}}, {high:{fmt}}]"


def _finish(report: dict[str, Any], name: str, config: Any, plot: Any, lines: list[str], done: bool) -> None:
    from alignx.analyze.common import write_outputs
    from alignx.distributed import is_main

    path = write_outputs(report, name, config, plot, done=done)
    if is_main():
        for line in lines:
            typer.echo(line)
        again = " (made with these options already: nothing computed; --overwrite computes it again)" if done else ""
        typer.echo(f"report: {path}{again}\nplot: {path.with_suffix('.png')}")


def run_history_size_command(config: HistorySizeConfig) -> None:
    """Alignment accuracy against the number of history items shown (k = 0..4): UGC only, PAIR only and both."""
    from alignx.analyze.common import require_matplotlib
    from alignx.analyze.history_size import NAME, run_history_size
    from alignx.analyze.plots import plot_history_size

    require_matplotlib()
    done = config.finished(NAME)
    report = done or run_history_size(config)
    lines = [f"k = 0: {report['k0']}"]
    for series, body in report["series"].items():
        cells = "  ".join(f"k={p['k']}: {_interval(p)}" for p in body["points"])
        lines.append(f"{series} ({body['records']} records): {cells}")
    _finish(report, NAME, config, plot_history_size, lines, done is not None)


def run_controllability_command(config: ControllabilityConfig) -> None:
    """How the profile steers the reward: flip / remove one dimension of the profile and measure the margin."""
    from alignx.analyze.common import require_matplotlib
    from alignx.analyze.controllability import NAME, run_controllability
    from alignx.analyze.plots import plot_controllability

    require_matplotlib()
    done = config.finished(NAME)
    report = done or run_controllability(config)
    overall = report["overall"]
    lines = [f"{overall['cases']} cases on {len(report['dimensions'])} dimensions: "
             f"moved {_interval(overall['moved'])}, "
             f"reversed {_interval(overall['reversed'])} (of {overall['reversed']['n']}), "
             f"Δm flipped {_interval(overall['delta_flipped'], '.3g')}, "
             f"Δm removed {_interval(overall['delta_removed'], '.3g')} (of {overall['delta_removed']['n']})"]
    _finish(report, NAME, config, plot_controllability, lines, done is not None)


def run_novel_command(config: NovelConfig) -> None:
    """Accuracy on records whose target touches dimensions unseen in training, against seen-only records."""
    from alignx.analyze.common import require_matplotlib
    from alignx.analyze.novel import NAME, run_novel
    from alignx.analyze.plots import plot_novel

    require_matplotlib()
    done = config.finished(NAME)
    report = done or run_novel(config)
    lines = [f"unseen ({report['unseen_from']}): {', '.join(str(d['index']) for d in report['unseen'])}"]
    lines += [f"{name}: {_interval(body)} (n = {body['n']})" for name, body in report["groups"].items()]
    _finish(report, NAME, config, plot_novel, lines, done is not None)
