"""The PNG beside each analysis's JSON, drawn from the report alone (so a report can be re-plotted).
matplotlib is imported here, inside each function, through its object API (no pyplot state, Agg canvas)."""

from __future__ import annotations

from pathlib import Path
from textwrap import shorten
from typing import Any

CHANCE = 0.5
SERIES_LABELS = {"ugc": "UGC only", "pair": "PAIR only", "both": "UGC + PAIR (k of each)"}


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, format="png")  # the atomic temp file has no .png suffix


def _errors(points: list[dict[str, Any]], key: str = "accuracy") -> list[list[float]]:
    """Asymmetric error bars (below, above) of each point's interval."""
    return [[p[key] - p["ci95"][0] for p in points], [p["ci95"][1] - p[key] for p in points]]


def plot_history_size(report: dict[str, Any], path: Path) -> None:
    figure = _figure(7, 4.5)
    ax = figure.add_subplot()
    k0_labelled = False
    for offset, (series, body) in zip((-0.06, 0.0, 0.06), report["series"].items(), strict=True):
        points = [p for p in body["points"] if p["accuracy"] is not None and p["k"] > 0]
        color = None
        if points:
            line = ax.errorbar([p["k"] + offset for p in points], [p["accuracy"] for p in points],
                               yerr=_errors(points), marker="o", capsize=3,
                               label=f"{SERIES_LABELS[series]} (n = {body['records']})")
            color = line.lines[0].get_color()
        k0 = body["points"][0]
        if k0["accuracy"] is not None:  # another reward than the series (see report["k0"]): not joined to it
            ax.errorbar([offset], [k0["accuracy"]], yerr=_errors([k0]), marker="D", markerfacecolor="white",
                        color=color or "grey", capsize=3, label=None if k0_labelled else f"k = 0: {report['k0']}")
            k0_labelled = True
    ax.axhline(CHANCE, color="black", linestyle=":", linewidth=1, label="chance")
    ax.set_xticks(range(len(next(iter(report["series"].values()))["points"])))
    ax.set_xlabel("history items shown (k per kind)")
    ax.set_ylabel("alignment accuracy")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Accuracy vs history size ({report['settings']['persona']})\n{report['title']}", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    _save(figure, path)


def plot_controllability(report: dict[str, Any], path: Path) -> None:
    """Two panels over the same rows (each dimension, then overall): the moved share and the mean Δm of the
    flipped profile, each with its interval; horizontal bars, so long pole labels stay readable."""
    dims = report["dimensions"]
    rows = [(f"{d}: {shorten(body['positive'], 40, placeholder='…')} (n = {body['cases']})", body)
            for d, body in dims.items()]
    rows.append((f"overall (n = {report['overall']['cases']})", report["overall"]))
    figure = _figure(11, 1.2 + 0.42 * len(rows))
    moved_ax, delta_ax = figure.subplots(1, 2, sharey=True)
    ys = list(range(len(rows)))[::-1]  # first dimension on top
    colors = ["tab:blue"] * (len(rows) - 1) + ["tab:orange"]
    for ax, key in ((moved_ax, "moved"), (delta_ax, "delta_flipped")):
        stats = [body[key] for _, body in rows]
        drawn = [(y, st, c) for y, st, c in zip(ys, stats, colors, strict=True) if st["mean"] is not None]
        ax.barh([y for y, _, _ in drawn], [st["mean"] for _, st, _ in drawn],
                xerr=_errors([st for _, st, _ in drawn], "mean"), capsize=3, color=[c for _, _, c in drawn])
    moved_ax.axvline(CHANCE, color="black", linestyle=":", linewidth=1)
    moved_ax.set_xlim(0, 1.05)
    moved_ax.set_xlabel("share of cases with m(flipped) < m(aligned)")
    moved_ax.set_yticks(ys)
    moved_ax.set_yticklabels([name for name, _ in rows], fontsize=8)
    moved_ax.set_ylabel("dimension flipped in the profile (index: positive pole)")
    delta_ax.axvline(0, color="black", linewidth=1)
    delta_ax.set_xlabel("mean Δm = m(flipped) − m(aligned)")
    figure.suptitle(f"Controllability: flipping one profile dimension ({report['overall']['cases']} cases)\n"
                    f"{report['title']}", fontsize=10)
    _save(figure, path)


def plot_novel(report: dict[str, Any], path: Path) -> None:
    figure = _figure(5, 4.5)
    ax = figure.add_subplot()
    groups = [(name, body) for name, body in report["groups"].items() if body["accuracy"] is not None]
    ax.bar(range(len(groups)), [b["accuracy"] for _, b in groups], yerr=_errors([b for _, b in groups]),
           capsize=4, color=["tab:red" if name == "unseen" else "tab:green" for name, _ in groups])
    ax.axhline(CHANCE, color="black", linestyle=":", linewidth=1)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([f"touches unseen\n(n = {b['n']})" if name == "unseen" else f"seen only\n(n = {b['n']})"
                        for name, b in groups])
    ax.set_ylabel("alignment accuracy")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Unseen preference dimensions ({len(report['unseen'])} unseen)\n{report['title']}", fontsize=10)
    _save(figure, path)
