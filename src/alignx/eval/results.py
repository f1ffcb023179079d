"""Evaluation reports: the JSON file anyone can re-score, and the terminal table."""

from __future__ import annotations

import os
from collections.abc import Sequence

from alignx.atomic import write_json
from alignx.eval import rewards
from alignx.eval.evaluator import RECORDED_SETTINGS, EvalResult
from alignx.eval.settings import EvalSettings


def write_report(result: EvalResult, path: str | os.PathLike) -> None:
    """Write the report atomically: a failed run never leaves half a file or clobbers an old one."""
    write_json(path, result.to_dict())


def finished_result(path: str | os.PathLike, settings: EvalSettings, provenance: dict, *,
                    overwrite: bool = False) -> EvalResult | None:
    """The result a report at `path` holds when it records this very run (`settings` on `provenance`: data,
    split, limit, dtype, model), so nothing is scored again. None when there is none or with `overwrite`;
    OptionError when a report made otherwise is there."""
    from alignx.outputs import finished_report

    expected = {**provenance, **{name: getattr(settings, name) for name in RECORDED_SETTINGS}}
    report = finished_report(path, overwrite, expected,
                             lambda report: {k: v for k, v in report["settings"].items() if k != "reference_model"})
    if report is None:
        return None
    timing = report["timing"]
    return EvalResult(settings, {key: report["settings"][key] for key in (*provenance, "reference_model")},
                      report["examples"], timing["seconds"], timing["tokens"], timing["processes"],
                      tuple(report["ci95"]))


def results_table(results: Sequence[EvalResult], title: str | None = None):
    """One row per result; the data and model go in the title when every row shares them."""
    from rich.table import Table

    shared = {(r.provenance.get("data"), r.provenance.get("split"), r.provenance["model"]) for r in results}
    if title is None:
        data, split, model = next(iter(shared)) if len(shared) == 1 else ("several", None, "several")
        title = f"alignment accuracy: {data}{':' + split if split else ''}, model {model}"
    table = Table(title=title)
    choice = [r.multiple_choice() for r in results]  # PrefEval-style data: all options of a question at once
    has_choice = any(choice)
    columns = ["persona", "reward", "accuracy", "95% CI", "n"]
    columns += ["multiple choice", "95% CI", "questions"] if has_choice else []
    for name in (*columns, "tok/rec", "s"):
        table.add_column(name, justify="left" if name in ("persona", "reward") else "right", no_wrap=True)
    for r, mc in zip(results, choice, strict=True):
        cells = [r.settings.persona, reward_label(r), f"{r.accuracy:.3f}", f"{r.ci95[0]:.2f}–{r.ci95[1]:.2f}", str(r.n)]
        if has_choice:
            cells += [f"{mc['accuracy']:.3f}", f"{mc['ci95'][0]:.2f}–{mc['ci95'][1]:.2f}", str(mc["n"])] if mc else \
                ["-"] * 3
        table.add_row(*cells, f"{r.tokens / r.n:,.0f}" if r.n else "-", f"{r.seconds:.1f}")
    return table


def reward_label(result: EvalResult) -> str:
    """`zero-shot`, or `dpo` with its reference: `dpo vs none` (persona lift), `dpo raw`, `dpo vs base: MODEL`.
    The prompt needs no column: PBA reads the profile persona and ICA every other."""
    s = result.settings
    if not rewards.get(s.reward).uses_reference:
        return s.reward
    if s.reference == "raw":
        return f"{s.reward} raw"
    label = f"{s.reward} vs {s.reference}"
    model = result.provenance["reference_model"]
    return label if model in (None, s.reference) else f"{label}: {model}"
