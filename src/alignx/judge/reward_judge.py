"""`reward:SPEC`: a judge that reads only the user's held-out evidence and scores each answer under it.

Each answer y gets the zero-shot reward of the evidence `alignx generate --hold-out` kept from the generator
(`alignx.held_out`): for held-out PAIR choices, log π(y | their chosen responses as examples) − log π(y |
their rejected ones); for a record without PAIR, the persona lift of its stated preference (`alignx.eval.
zero_shot`). The answer with the higher reward wins; equal rewards tie. No chat is read, so there is no order
to debias: the verdict is written in both orders, and both agree.

The reward is the sum over the answer's tokens, not a per-token mean. It is a contrast of the same tokens
under two contexts, so the answer's own likelihood (and its length as such) cancels; what adds up with length
is how far each token leans toward the chosen examples. That lean is the evidence a concise or detailed user
gives, and it is what `alignx eval --reward zero-shot` measures, so the calibrations carry over.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from alignx.eval.settings import DEFAULT_BETA
from alignx.eval.terms import RewardContext, Term
from alignx.eval.zero_shot import zero_shot_terms
from alignx.judge.backends import model_identity
from alignx.judge.pairs import Pair
from alignx.personas import Persona, PersonaView
from alignx.prompts import PromptKind

VERSION = "held-out-zero-shot-1"  # cached rewards key on it: a change of what is scored asks again
VERDICTS = {"a": ("A", "B"), "b": ("B", "A"), "tie": ("tie", "tie")}  # the winner, as orders ab and ba read it


def held_out_terms(post: str, view: PersonaView) -> list[Term]:
    """The zero-shot terms of the held-out evidence: PAIR choices, else the stated preference."""
    persona = Persona.PAIR if view.pairs else Persona.STATED
    return zero_shot_terms(RewardContext(post, view, persona, PromptKind.ICA, "none", DEFAULT_BETA))


class RewardJudge:
    """Scores answers by the zero-shot reward of held-out evidence under `model_spec`; loads at first use."""

    def __init__(self, model_spec: str, *, spec: str, device: str | None = None, dtype: str | None = None,
                 batch_size: int = 8, progress: bool = True):
        from alignx.models import pick_device, pick_dtype, resolve

        self.resolved = resolve(model_spec)
        self.device, self.dtype = pick_device(device), dtype
        self.torch_dtype = pick_dtype(self.device, dtype)
        self.spec, self.batch_size, self.progress = spec, batch_size, progress
        self.stats: Counter[str] = Counter()
        self._scored: Any = None

    @property
    def identity(self) -> str:
        return f"judge:reward:{model_identity(self.resolved, self.torch_dtype)}#{VERSION}"

    @property
    def scored(self) -> Any:
        if self._scored is None:
            from alignx.eval.evaluator import load_scored

            self._scored = load_scored(self.resolved.spec, batch_size=self.batch_size, progress=self.progress,
                                       dtype=self.dtype, device=str(self.device))
        return self._scored

    def rewards(self, items: Sequence[tuple[list[Term], str, str]]) -> list[tuple[float, float]]:
        """(r(a), r(b)) of each (terms, a, b), every term's requests scored in one call; the model loads only
        when there is something to score (a rerun from the cache never loads it)."""
        if not items:
            return []
        model = self.scored
        requests, spans = [], []
        for terms, a, b in items:
            for term in terms:
                asked = term.requests(model.render, [a, b])
                spans.append((len(requests), len(asked)))
                requests += asked
        answers = model.scorer.score(requests, description="held-out rewards")
        self.stats["requests"] += len(requests)
        out, at = [], iter(spans)
        for terms, _, _ in items:
            logps = []
            for term in terms:
                start, n = next(at)
                logps.append(term.logps(answers[start:start + n]))
            out.append(tuple(sum(t.weight * lp[k] for t, lp in zip(terms, logps, strict=True)) for k in (0, 1)))
        return out

    def close(self) -> None:
        pass


def reward_key(terms: Sequence[Term], a: str, b: str) -> str:
    """The cache key of one comparison: a hash of every term's prompt and both answers."""
    told = [[t.weight, t.messages, t.evidence] for t in terms] + [a, b]
    return hashlib.sha256(json.dumps(told, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


def reward_judgments(judge: RewardJudge, pairs: Sequence[Pair], cache: Any) -> tuple[list[dict], int]:
    """Per pair {order: judgment} as `alignx.judge.command` reads them, and how many came from the cache
    (counted per order). A pair without held-out evidence has no verdict (unread), with the reason."""
    terms = [held_out_terms(p.post, p.held_out) if p.held_out and not p.held_out.is_empty else None for p in pairs]
    keys = [reward_key(t, p.a, p.b) if t else None for t, p in zip(terms, pairs, strict=True)]
    stored = cache.get_many(judge.identity, [k for k in keys if k])
    todo = [i for i, k in enumerate(keys) if k and k not in stored]
    for i, rewards in zip(todo, judge.rewards([(terms[i], pairs[i].a, pairs[i].b) for i in todo]), strict=True):
        stored[keys[i]] = {"rewards": [round(r, 4) for r in rewards]}
        cache.put(judge.identity, keys[i], stored[keys[i]])
    asked = set(todo)
    out = []
    for i, (pair, t, key) in enumerate(zip(pairs, terms, keys, strict=True)):
        if t is None:
            missing = {"verdict": None, "answers": [], "error": "no held-out evidence (no PAIR choice, no stated "
                       "preference)"}
            out.append({order: missing for order in ("ab", "ba")})
            continue
        ra, rb = stored[key]["rewards"]
        winner = "a" if ra > rb else "b" if rb > ra else "tie"
        evidence = {"rewards": {"a": ra, "b": rb}, "evidence": "pair" if pair.held_out.pairs else "stated",
                    "held_out": len(pair.held_out.pairs), "answers": [], "error": None, "cached": i not in asked}
        out.append({order: {**evidence, "verdict": verdict} for order, verdict in zip(("ab", "ba"), VERDICTS[winner],
                                                                                      strict=True)})
    return out, 2 * sum(1 for i, k in enumerate(keys) if k and i not in asked)
