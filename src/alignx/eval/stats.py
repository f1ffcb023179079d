"""The statistics every figure of alignx comes with: percentile-bootstrap intervals (over examples, or over
groups such as a judge's records), the exact McNemar test of two runs on the same examples, and the
multiple-choice verdict of questions whose options are split over several pairwise records."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

ALPHA = 0.05  # significance level of the paired test in tables


def bootstrap_ci(values: Sequence[float], rounds: int, seed: int,
                 groups: Sequence[Any] | None = None) -> tuple[float, float]:
    """Percentile-bootstrap 95% interval of the mean of `values` (bools count as 0/1), resampling whole
    `groups` with replacement when given (values of one group move together), else single values."""
    if len(values) == 0 or rounds < 1:
        return (0.0, 0.0)
    scores = np.asarray(values, dtype=np.float64)
    if groups is None:
        sums, counts = scores, np.ones_like(scores)
    else:
        labels, index = np.unique(np.asarray(groups), return_inverse=True)
        sums = np.bincount(index, weights=scores, minlength=len(labels))
        counts = np.bincount(index, minlength=len(labels)).astype(np.float64)
    draw = np.random.default_rng(seed).integers(0, len(sums), size=(rounds, len(sums)))
    means = sums[draw].sum(axis=1) / counts[draw].sum(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return (float(low), float(high))


def summary(values: Sequence[float], rounds: int, seed: int) -> dict[str, Any]:
    """Mean, bootstrap 95% interval and count; mean and interval are None for no values."""
    if not values:
        return {"mean": None, "ci95": None, "n": 0}
    low, high = bootstrap_ci(values, rounds, seed)
    return {"mean": sum(values) / len(values), "ci95": [low, high], "n": len(values)}


def mcnemar(better: int, worse: int) -> float:
    """Two-sided exact McNemar p-value: `better` examples only the row gets right, `worse` only the baseline
    gets right. Under H0 each discordant pair goes either way with probability 1/2, so min(b, c) is binomial
    (b + c, 1/2); p = min(1, 2·P[X ≤ min(b, c)]), and 1 when there is no discordant pair."""
    n = better + worse
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(better, worse) + 1))
    return min(1.0, 2 * tail / 2**n)  # exact integers; int / int rounds once


def paired_test(correct: Sequence[bool], baseline: Sequence[bool]) -> dict[str, Any]:
    """The exact McNemar test of two runs on the same examples: `better` examples only the first gets right,
    `worse` only the baseline gets right, their p-value, and whether it is under ALPHA."""
    better = sum(1 for x, y in zip(correct, baseline, strict=True) if x and not y)
    worse = sum(1 for x, y in zip(correct, baseline, strict=True) if y and not x)
    p = mcnemar(better, worse)
    return {"p": p, "better": better, "worse": worse, "significant": p < ALPHA}


def question_verdicts(examples: Sequence[dict[str, Any]], correct: Sequence[bool]) -> list[bool]:
    """Multiple-choice verdicts, one per question (report lines sharing a `question_id`, e.g. PrefEval's three
    records of a question): right when the chosen answer beats every other option. Empty without ids."""
    by_question: dict[str, bool] = {}
    for e, ok in zip(examples, correct, strict=True):
        if "question_id" in e:
            by_question[e["question_id"]] = by_question.get(e["question_id"], True) and bool(ok)
    return list(by_question.values())
