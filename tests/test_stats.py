"""alignx.eval.stats: the intervals, the paired test and the multiple-choice verdicts every figure comes with."""

from __future__ import annotations

import pytest

from alignx.eval.stats import bootstrap_ci, mcnemar, paired_test, question_verdicts, summary


def test_bootstrap_interval():
    low, high = bootstrap_ci([True] * 15 + [False] * 5, rounds=2000, seed=0)
    assert low < 0.75 < high and 0.5 < low and high <= 0.95
    assert bootstrap_ci([True] * 4, 100, 0) == (1.0, 1.0)
    assert bootstrap_ci([], 100, 0) == (0.0, 0.0) and bootstrap_ci([True], 0, 0) == (0.0, 0.0)


def test_bootstrap_resamples_groups_and_is_degenerate_when_every_score_agrees():
    assert bootstrap_ci([1.0] * 6, 300, 0, groups=[0, 0, 1, 1, 2, 2]) == (1.0, 1.0)
    low, high = bootstrap_ci([1.0, 0.0] * 20, 2000, 1, groups=list(range(40)))
    assert 0.3 < low < 0.5 < high < 0.7
    # two records of 10 samples each: only 2 independent units, so the interval is wide
    low2, high2 = bootstrap_ci([1.0] * 10 + [0.0] * 10, 2000, 1, groups=[0] * 10 + [1] * 10)
    assert (low2, high2) == (0.0, 1.0)
    assert bootstrap_ci([], 100, 0, groups=[]) == (0.0, 0.0)


def test_one_value_per_group_is_the_plain_bootstrap():
    values = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0]
    assert bootstrap_ci(values, 500, 3, groups=list(range(10))) == bootstrap_ci(values, 500, 3)


def test_summary_is_mean_interval_and_count():
    assert summary([], 100, 0) == {"mean": None, "ci95": None, "n": 0}
    out = summary([1.0, 0.0, 1.0, 1.0], 200, 0)
    assert out["mean"] == 0.75 and out["n"] == 4 and out["ci95"][0] <= 0.75 <= out["ci95"][1]


def test_mcnemar_exact_p_values():
    assert mcnemar(10, 2) == pytest.approx(0.03857421875, rel=1e-12)  # 2·(1 + 12 + 66) / 2^12
    assert mcnemar(2, 10) == mcnemar(10, 2)
    assert mcnemar(7, 7) == 1.0 and mcnemar(0, 0) == 1.0
    assert mcnemar(5, 0) == pytest.approx(2 / 32) and mcnemar(6, 0) == pytest.approx(2 / 64)
    assert mcnemar(1000, 900) < 0.05 < mcnemar(1000, 950)  # big n stays exact (integer arithmetic)


def test_paired_test_counts_the_discordant_examples():
    row = [True] * 12 + [False] * 2 + [True] * 5
    base = [False] * 12 + [True] * 2 + [True] * 5
    assert paired_test(row, base) == {"p": mcnemar(12, 2), "better": 12, "worse": 2, "significant": True}
    assert paired_test(base, base)["significant"] is False
    with pytest.raises(ValueError):
        paired_test(row, base[:-1])


def test_a_question_is_right_only_when_every_one_of_its_records_is():
    examples = [{"question_id": "q1"}, {"question_id": "q1"}, {"question_id": "q2"}, {"question_id": "q2"}]
    assert question_verdicts(examples, [True, True, True, False]) == [True, False]
    assert question_verdicts([{}, {}], [True, False]) == []
