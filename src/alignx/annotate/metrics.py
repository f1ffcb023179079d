"""How well an annotator recovers directions: per-pole precision / recall / F1, and identical profiles.

A pole is one side of one dimension (dimension 73 positive, "Likes humor"). An item whose
annotation failed counts as predicting neutral everywhere: a miss, never a pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from alignx.space import dimension

Direction = Sequence[float]


@dataclass(frozen=True)
class PoleScore:
    index: int
    value: float  # 1.0 positive, 0.0 negative
    precision: float
    recall: float
    f1: float
    support: int  # items whose true direction has this pole

    @property
    def label(self) -> str:
        d = dimension(self.index)
        return d.positive if self.value == 1.0 else d.negative

    def to_json(self) -> dict:
        return {"index": self.index, "pole": "positive" if self.value == 1.0 else "negative", "label": self.label,
                "precision": round(self.precision, 4), "recall": round(self.recall, 4), "f1": round(self.f1, 4),
                "support": self.support}


def pole_scores(truth: Sequence[Direction], predicted: Sequence[Direction | None]) -> list[PoleScore]:
    """One score per pole that the truth or the predictions use, in dimension order, positive first."""
    counts: dict[tuple[int, float], list[int]] = {}  # pole -> [true positives, predicted, actual]
    for true, pred in zip(truth, predicted, strict=True):
        for i, t in enumerate(true):
            p = pred[i] if pred is not None else 0.5
            for value, role in ((t, 2), (p, 1)):
                if value != 0.5:
                    counts.setdefault((i, value), [0, 0, 0])[role] += 1
            if t == p != 0.5:
                counts[(i, t)][0] += 1
    scores = []
    for (index, value), (hits, n_pred, n_true) in sorted(counts.items(), key=lambda kv: (kv[0][0], -kv[0][1])):
        precision = hits / n_pred if n_pred else 0.0
        recall = hits / n_true if n_true else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(PoleScore(index, value, precision, recall, f1, n_true))
    return scores


def macro_f1(scores: Sequence[PoleScore]) -> float:
    """Mean F1 over the poles the truth uses; a pole that is only ever predicted still shows, with its
    precision of 0, in the per-pole list."""
    used = [s.f1 for s in scores if s.support]
    return sum(used) / len(used) if used else float("nan")
