"""Best-of-N: sample N candidates per response and keep the one a personalized reward ranks first.

An untrained model reading the ICA prompt often continues its scaffold ("This person has chosen or
rejected comments ...") instead of answering; the universal prompt answers but ignores the user. So
candidates come from the universal prompt, the persona prompt or both (alternating, persona first),
and `alignx.eval.evaluator.rewards_of` scores them under the reward's terms (by default `zero-shot`, which
reads the user's evidence, not the scaffold). That reward reads the user's chosen texts, so a candidate that
copies them (or the scaffold around them) can win by construction: the copy filter ranks candidates that copy
their prompt (`alignx.generate.copying`) below every one that does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from alignx.eval.evaluator import ScoredModel, rewards_of
from alignx.eval.terms import Role, Term
from alignx.generate.config import Candidates
from alignx.prompts import Messages


def candidate_sources(n: int, candidates: Candidates | str) -> list[str]:
    """Where each of the `n` candidates is sampled from: "persona" or "universal"."""
    mode = Candidates(candidates)
    if mode is Candidates.BOTH:
        return ["persona" if j % 2 == 0 else "universal" for j in range(n)]
    return [mode.value] * n


def candidate_requests(persona: Messages, universal: Messages, sources: Sequence[str]) -> list[Messages]:
    """The generation request of each candidate: the persona or the universal prompt, as its source says."""
    return [persona if source == "persona" else universal for source in sources]


@dataclass(frozen=True)
class Pick:
    index: int  # of the chosen candidate
    rewards: list[float]


def pick_best(responses: Sequence[str], terms: Sequence[Term], scorer: ScoredModel, *,
              copies: Sequence[bool] | None = None) -> Pick:
    """The candidate with the highest reward (the first of equals), and every candidate's reward; with
    `copies` (per candidate: does it copy its prompt, `alignx.generate.copying`), the copying candidates rank
    below all that do not."""
    scores = rewards_of(responses, terms, {Role.POLICY: scorer})
    copied = list(copies) if copies is not None else [False] * len(responses)
    best = max(range(len(responses)), key=lambda i: (not copied[i], scores[i], -i))
    return Pick(best, scores)
