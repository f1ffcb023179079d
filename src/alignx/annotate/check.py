"""`alignx annotate eval`: remove every direction of labelled data, infer them again, and compare.

Two figures: per-pole precision / recall / F1 over every item occurrence (a failed item counts as
all-neutral), and the share of records whose rendered profile (the PBA bridge) from inferred
directions is the profile from the true ones, which is what PBA actually reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alignx.annotate.base import Annotator, record_items, with_directions
from alignx.annotate.fill import fill_directions
from alignx.annotate.metrics import macro_f1, pole_scores
from alignx.answer_cache import AnswerCache
from alignx.errors import UserError
from alignx.personas import PersonaError, record_profile
from alignx.records import Record


def _profile(record: Record) -> str | None:
    try:
        return record_profile(record)
    except PersonaError:
        return None


def agreement(records: Sequence[Record], annotator: Annotator, cache: AnswerCache, *,
              progress: bool = True) -> dict[str, Any]:
    """The comparison report (JSON-ready) of `annotator` against the directions `records` carry."""
    stripped = [with_directions(r, [None] * len(record_items(r))) for r in records]
    filled, summary = fill_directions(stripped, annotator, cache, progress=progress)
    truth, predicted = [], []
    compared = identical = 0
    for true_record, inferred in zip(records, filled, strict=True):
        for (_, true), (_, guess) in zip(record_items(true_record), record_items(inferred), strict=True):
            if true is not None:
                truth.append(true)
                predicted.append(guess)
        expected = _profile(true_record) if true_record.profile is None else None
        if expected is not None:
            compared += 1
            identical += _profile(inferred) == expected
    if not truth:
        raise UserError("no item of these records carries a 'Preference Direction' to compare against")
    scores = pole_scores(truth, predicted)
    return {
        "annotator": annotator.spec,
        "items": len(truth),
        "distinct_items": summary.distinct,
        "macro_f1": round(macro_f1(scores), 4),
        "exact_items": round(sum(p == t for p, t in zip(predicted, truth, strict=True)) / len(truth), 4),
        "profiles": {"compared": compared, "identical": identical,
                     "share": round(identical / compared, 4) if compared else None},
        "failed": dict(summary.failed),
        "from_cache": summary.from_cache,
        "annotated": summary.annotated,
        "seconds": round(summary.seconds, 2),
        "items_per_second": round(summary.rate, 2),
        "poles": [s.to_json() for s in scores],
    }


def agreement_table(report: dict[str, Any], title: str):
    """The report as a rich table: one row per pole, the headline figures in the caption."""
    from rich.table import Table

    table = Table(title=title)
    for name in ("dim", "pole", "precision", "recall", "F1", "support"):
        table.add_column(name, justify="left" if name == "pole" else "right")
    for pole in report["poles"]:
        table.add_row(str(pole["index"]), pole["label"], f"{pole['precision']:.3f}", f"{pole['recall']:.3f}",
                      f"{pole['f1']:.3f}", str(pole["support"]))
    profiles = report["profiles"]
    share = f"{profiles['share']:.1%}" if profiles["share"] is not None else "n/a"
    failed = sum(report["failed"].values())
    table.caption = (f"macro-F1 {report['macro_f1']:.3f} over the poles in use; identical profiles {share} "
                     f"({profiles['identical']}/{profiles['compared']}); exact items {report['exact_items']:.1%} "
                     f"of {report['items']}; {failed} failed; {report['annotated']} annotated "
                     f"({report['items_per_second']:.1f} items/s), {report['from_cache']} from the cache")
    return table
