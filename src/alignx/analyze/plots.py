"""The PNG beside each analysis's JSON, drawn from the report alone (so a report can be re-plotted).
matplotlib is imported here, inside each function, through its object API (no pyplot state, Agg canvas)."""

from __future__ import annotations

from pathlib import Path
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
    dims = report["dimensions"]
    bars = [(f"{d}: {body['positive'][:28]}", body["moved"]) for d, body in dims.items()]
    bars.append(("overall", report["overall"]["moved"]))
    figure = _figure(max(6, 0.35 * len(bars) + 2), 5)
    ax = figure.add_subplot()
    xs = range(len(bars))
    means = [b["mean"] for _, b in bars]
    ax.bar(xs, means, yerr=_errors(list(b for _, b in bars), "mean"), capsize=2,
           color=["tab:blue"] * (len(bars) - 1) + ["tab:orange"])
    ax.axhline(CHANCE, color="black", linestyle=":", linewidth=1)
    ax.set_xticks(list(xs))
    many = len(bars) > 8
    ax.set_xticklabels([name for name, _ in bars], rotation=75 if many else 20, ha="right", fontsize=6 if many else 8)
    ax.set_xlabel("dimension flipped in the profile (index: positive pole)")
    ax.set_ylabel("share of cases with m(flipped) < m(aligned)")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Controllability: flipping one profile dimension ({report['overall']['cases']} cases)\n"
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
