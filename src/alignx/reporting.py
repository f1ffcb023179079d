"""Evaluation reports: the JSON file anyone can re-score, and the terminal table."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from alignx.evaluate import EvalResult
from alignx.records import atomic_write


def write_report(result: EvalResult, path: str | os.PathLike) -> None:
    """Write the report atomically: a failed run never leaves half a file or clobbers an old one."""
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def results_table(results: Sequence[EvalResult], title: str | None = None):
    """One row per result; the data and model go in the title when every row shares them."""
    from rich.table import Table

    shared = {(r.config.data, r.config.split, r.model) for r in results}
    if title is None:
        data, split, model = next(iter(shared)) if len(shared) == 1 else ("several", None, "several")
        title = f"alignment accuracy: {data}{':' + split if split else ''}, model {model}"
    table = Table(title=title)
    for name in ("persona", "prompt", "reference", "accuracy", "95% CI", "n", "seconds"):
        table.add_column(name, justify="left" if name in ("persona", "prompt", "reference") else "right")
    for r in results:
        c = r.config
        reference = c.reference
        if r.reference_model not in (None, c.reference, r.model):
            reference += f": {r.reference_model}"
        table.add_row(c.persona.value, c.prompt.value, reference, f"{r.accuracy:.3f}",
                      f"{r.ci95[0]:.2f}–{r.ci95[1]:.2f}", str(r.n), f"{r.seconds:.1f}")
    return table
