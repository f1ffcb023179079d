"""The copy rate of each side of a comparison: the share of its answers that repeat a span of the prompt they
were generated from (`alignx.generate.copying`), read from the prompt messages each generation row records.

It needs no judge: an answer that writes back the user's history or the prompt's scaffold is not an answer,
whatever a reward or a judge makes of it. Rows written before generation files recorded their prompt have no
copy figure (n counts the rows that do).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alignx.eval.stats import bootstrap_ci
from alignx.generate.copying import copies_prompt


def row_copies(row: dict[str, Any]) -> bool | None:
    """Whether a generation row's response copies its prompt, or for a steered row the evidence contexts that
    steered it as well; None when the row does not record its prompt."""
    messages = row.get("messages")
    if messages is None:
        return None
    steering = row.get("steering") or {}
    read = messages + steering.get("toward", []) + steering.get("away", [])
    return copies_prompt(row["response"], read, row["prompt"])


def copy_rate(copies: Sequence[bool | None], records: Sequence[int], *, rounds: int, seed: int) -> dict[str, Any]:
    """{"rate", "ci95", "n"} over the answers whose prompt is known; the interval resamples records."""
    known = [i for i, c in enumerate(copies) if c is not None]
    if not known:
        return {"rate": None, "ci95": None, "n": 0}
    values = [float(bool(copies[i])) for i in known]
    low, high = bootstrap_ci(values, rounds, seed, groups=[records[i] for i in known])
    return {"rate": sum(values) / len(values), "ci95": [low, high], "n": len(values)}
