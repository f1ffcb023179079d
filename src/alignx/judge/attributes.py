"""Attributes measured exactly: where a user's preference is about something a text can be measured on, the
answers are measured, not judged.

Each `Attribute` names a dimension of the preference space, a measure of a text, and which way is toward the
dimension's positive pole. For the records whose `Preference Direction` is non-neutral on that dimension, a
comparison of A (e.g. personalized) with B (e.g. universal) gives the share of records whose A answer moves
toward the user's pole (strictly: a tie does not move), and the mean measure of each side per pole. Length is
the one shipped: dimension 16, "Concise communication style" (positive) / "Detailed communication style".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from alignx.eval.stats import bootstrap_ci
from alignx.generate.copying import tokens
from alignx.space import dimension


@dataclass(frozen=True)
class Attribute:
    name: str
    dimension: int  # index in the preference space (alignx/data/preference_space.tsv)
    measure: Callable[[str], float]
    unit: str
    positive_is_less: bool  # the positive pole wants less of the measure (concise: fewer tokens)


def length(text: str) -> float:
    """Words and punctuation marks (`alignx.generate.copying.tokens`): the same for every generator's output."""
    return float(len(tokens(text)))


ATTRIBUTES = (Attribute("length", 16, length, "tokens", positive_is_less=True),)


def moves_toward(attribute: Attribute, positive: bool, a: float, b: float) -> bool:
    """Whether a's measure lies past b's toward the user's pole (`positive`: they prefer the positive pole)."""
    return a < b if positive == attribute.positive_is_less else a > b


def measure_attribute(attribute: Attribute, directions: Sequence[Sequence[float] | None],
                      answers: Sequence[tuple[str, str]], records: Sequence[int], *, rounds: int,
                      seed: int) -> dict[str, Any]:
    """The attribute over pairs of answers (a, b), each pair with its record's direction and index: n (pairs
    whose direction is non-neutral on the dimension), `toward` with its 95% interval (records resampled),
    `ties`, and per pole the pairs and each side's mean measure."""
    dim = dimension(attribute.dimension)
    chosen = [i for i, d in enumerate(directions) if d is not None and d[attribute.dimension] != 0.5]
    positive = {i: directions[i][attribute.dimension] > 0.5 for i in chosen}
    measured = {i: (attribute.measure(answers[i][0]), attribute.measure(answers[i][1])) for i in chosen}
    toward = [float(moves_toward(attribute, positive[i], *measured[i])) for i in chosen]
    poles = {}
    for label, wanted in ((dim.positive, True), (dim.negative, False)):
        on_pole = [measured[i] for i in chosen if positive[i] == wanted]
        poles[label] = {"n": len(on_pole), "mean_a": _mean([m[0] for m in on_pole]),
                        "mean_b": _mean([m[1] for m in on_pole])}
    return {"dimension": attribute.dimension, "unit": attribute.unit, "n": len(chosen),
            "toward": float(np.mean(toward)) if chosen else None,
            "ci95": list(bootstrap_ci(toward, rounds, seed, groups=[records[i] for i in chosen])) if chosen else None,
            "ties": sum(measured[i][0] == measured[i][1] for i in chosen), "poles": poles}


def measure_attributes(directions: Sequence[Sequence[float] | None], answers: Sequence[tuple[str, str]],
                       records: Sequence[int], *, rounds: int, seed: int) -> dict[str, Any]:
    """Every attribute of `ATTRIBUTES`, by name."""
    return {a.name: measure_attribute(a, directions, answers, records, rounds=rounds, seed=seed)
            for a in ATTRIBUTES}


def _mean(values: Sequence[float]) -> float | None:
    return round(float(np.mean(values)), 2) if values else None
