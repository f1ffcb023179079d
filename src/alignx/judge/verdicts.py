"""From ordered verdicts to a result: both orders -> one outcome, then win / tie / loss and what to trust of it.

Each pair (side a, side b) is judged twice: order "ab" shows a as Response A, order "ba" shows b as Response A.
Side a wins only when both orders pick it; a verdict that flips with the order, or a tie in either order,
is a tie (LLM judges favour a position, so one order alone would measure the position as much as the response).
A pair with an order that was never read (unparsed or failed) has no outcome and is counted apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from alignx.eval.stats import bootstrap_ci

ORDERS = ("ab", "ba")
OUTCOMES = ("a", "tie", "b")


def side_of(verdict: str | None, order: str) -> str | None:
    """Which side an ordered verdict ("A", "B", "tie") picks: "a", "b", "tie"; None for no verdict."""
    if verdict is None:
        return None
    if verdict == "tie":
        return "tie"
    shown_first = order[0]  # "ab": side a is Response A
    if verdict == "A":
        return shown_first
    return "b" if shown_first == "a" else "a"


def combine(first: str | None, second: str | None) -> str | None:
    """The pair's outcome from the sides its two orders picked: "a", "b" or "tie"; None if either is missing."""
    if first is None or second is None:
        return None
    return first if first == second and first != "tie" else "tie"


@dataclass
class Summary:
    """What a reader needs to weigh one comparison (or one calibration: a = the user's chosen response)."""

    n: int  # pairs with an outcome
    wins: int  # side a
    ties: int
    losses: int  # side b
    unread: int  # pairs left out: an order unparsed or failed
    win_rate: float  # (wins + ties / 2) / n
    ci95: tuple[float, float]  # bootstrap over records (a record's samples move together)
    strict_win_rate: float  # wins / n
    position_consistency: float  # share of pairs whose two orders pick the same side (or both tie)
    first_position_rate: float  # share of read ordered verdicts picking Response A (0.5: no position bias)
    ordered_tie_rate: float  # share of read ordered verdicts that are "tie"
    longer_preferred: float | None  # among decisive outcomes between responses of different length
    mean_chars: dict[str, float]
    mean_tokens: dict[str, float | None]

    def to_dict(self) -> dict:
        out = asdict(self)
        out["ci95"] = list(self.ci95)
        return out


def summarize(outcomes: Sequence[str | None], ordered_sides: Sequence[tuple[str | None, str | None]],
              groups: Sequence[int], chars: Sequence[tuple[int, int]],
              tokens: Sequence[tuple[int | None, int | None]], *, rounds: int = 1000, seed: int = 0) -> Summary:
    """The summary of pairs: their outcomes, the sides each order picked (ab, ba), the record each belongs
    to (the bootstrap unit), and the length of each side in characters and (where known) tokens."""
    read = [i for i, o in enumerate(outcomes) if o is not None]
    counts = {o: sum(outcomes[i] == o for i in read) for o in OUTCOMES}
    n = len(read)
    scores = [{"a": 1.0, "tie": 0.5, "b": 0.0}[outcomes[i]] for i in read]
    consistent = sum(ordered_sides[i][0] == ordered_sides[i][1] for i in read)
    verdicts = [(side, order) for sides in ordered_sides for side, order in zip(sides, ORDERS, strict=True)
                if side is not None]
    first = sum(side != "tie" and side == order[0] for side, order in verdicts)
    ties = sum(side == "tie" for side, _ in verdicts)
    decisive = [i for i in read if outcomes[i] != "tie" and chars[i][0] != chars[i][1]]
    longer = sum((outcomes[i] == "a") == (chars[i][0] > chars[i][1]) for i in decisive)
    return Summary(
        n=n, wins=counts["a"], ties=counts["tie"], losses=counts["b"], unread=len(outcomes) - n,
        win_rate=float(np.mean(scores)) if n else 0.0,
        ci95=bootstrap_ci(scores, rounds, seed, groups=[groups[i] for i in read]),
        strict_win_rate=counts["a"] / n if n else 0.0,
        position_consistency=consistent / n if n else 0.0,
        first_position_rate=first / len(verdicts) if verdicts else 0.0,
        ordered_tie_rate=ties / len(verdicts) if verdicts else 0.0,
        longer_preferred=longer / len(decisive) if decisive else None,
        mean_chars={side: _mean([c[k] for c in chars]) for k, side in enumerate("ab")},
        mean_tokens={side: _mean([t[k] for t in tokens if t[k] is not None]) for k, side in enumerate("ab")},
    )


def _mean(values: Sequence[float]) -> float | None:
    return round(float(np.mean(values)), 2) if values else None
