"""Alignment accuracy: does the personalized reward prefer the user's chosen response?

A reward (`alignx.eval.rewards`) is a weighted sum of log π(y | prompt) terms; an example is correct when
r(chosen) > r(rejected) (ties are wrong, as released). The default reward `dpo` is the released
r = β·(log π_policy − log π_ref), and the reference decides what it measures: `none` = the same model
reading the universal prompt (persona lift), `base` = an adapter's base model on the same prompt (the
released protocol), `raw` = no reference, or any other model spec on the same prompt.

`Evaluator` talks to models only through the `Scorer` protocol, behind a `CachedScorer`, so rows of a
table and terms of a reward that share a prompt are scored once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from alignx import distributed
from alignx.errors import OptionError, record_prefix
from alignx.eval import rewards
from alignx.eval.scoring import CachedScorer, Scorer, ScoreRequest
from alignx.eval.settings import BUILTIN_REFERENCES, EvalConfig, EvalSettings
from alignx.eval.stats import bootstrap_ci, question_verdicts
from alignx.eval.terms import RewardContext, Role, Term
from alignx.personas import PersonaError, persona_view
from alignx.prompts import Messages, PromptKind
from alignx.records import Record

RECORDED_SETTINGS = ("persona", "prompt", "reward", "reference", "beta", "bootstrap", "seed")  # in every report


@dataclass
class EvalResult:
    settings: EvalSettings
    provenance: dict[str, Any]  # data, split, limit, model, reference_model: what the settings were run on
    examples: list[dict[str, Any]]
    seconds: float
    tokens: int = 0  # positions the scorers ran for this row (rows sharing prompts share tokens)
    processes: int = 1  # data-parallel processes that scored it (alignx.distributed)
    ci95: tuple[float, float] = (0.0, 0.0)

    @property
    def n(self) -> int:
        return len(self.examples)

    @property
    def accuracy(self) -> float:
        return float(np.mean([e["correct"] for e in self.examples])) if self.examples else 0.0

    def multiple_choice(self) -> dict[str, Any] | None:
        """Multiple-choice accuracy with its bootstrap interval over questions; None when records have no ids."""
        verdicts = question_verdicts(self.examples, [e["correct"] for e in self.examples])
        if not verdicts:
            return None
        s = self.settings
        return {"accuracy": float(np.mean(verdicts)), "n": len(verdicts),
                "ci95": list(bootstrap_ci(verdicts, s.bootstrap, s.seed))}

    def to_dict(self) -> dict[str, Any]:
        s = self.settings
        settings = {name: getattr(s, name) for name in RECORDED_SETTINGS}
        return {
            "accuracy": self.accuracy,
            "n": self.n,
            "ci95": list(self.ci95),
            **({"multiple_choice": mc} if (mc := self.multiple_choice()) else {}),
            "settings": {**self.provenance, **settings},
            "timing": {"seconds": self.seconds, "tokens": self.tokens, "processes": self.processes,
                       "tokens_per_record": round(self.tokens / self.n, 1) if self.n else None,
                       "examples_per_second": round(self.n / self.seconds, 3) if self.seconds else None},
            "examples": self.examples,
        }


@dataclass
class ScoredModel:
    """A model as evaluation sees it: its name, how chat messages become its prompt, its scorer, and for an
    adapter the base model (the same weights with the adapter switched off)."""

    name: str
    render: Callable[[Messages], str]
    scorer: Scorer
    base: ScoredModel | None = None


def load_scored(spec: str, *, batch_size: int = 8, progress: bool = True, dtype: str | None = None,
                device: str | None = None) -> ScoredModel:
    """`spec` loaded once (on `device` in `dtype`, defaults as `alignx.models.pick_device` / `pick_dtype`),
    scored by the prefix-sharing scorer behind a cache."""
    from alignx import models

    return scored(models.load(spec, device=device, dtype=dtype), spec, batch_size=batch_size, progress=progress)


def scored(loaded: Any, name: str, *, batch_size: int = 8, progress: bool = True) -> ScoredModel:
    """A `ScoredModel` on an already loaded model (generation and scoring can share the weights); an adapter
    also gets its base, the same weights with the adapter switched off."""
    from alignx.eval.scoring import PrefixSharingScorer, ScorerConfig
    from alignx.prompts import render

    config = ScorerConfig(batch_size=batch_size, progress=progress)

    def render_messages(messages: Messages) -> str:
        return render(loaded.tokenizer, messages)

    base = None
    if loaded.spec.is_adapter:
        base = ScoredModel(loaded.spec.base, render_messages,
                           CachedScorer(PrefixSharingScorer(loaded, config, disable_adapter=True)))
    return ScoredModel(name, render_messages, CachedScorer(PrefixSharingScorer(loaded, config)), base)


class Evaluator:
    """Scores records for one policy model; reuse it across settings (rows) to load the model once."""

    def __init__(self, policy: ScoredModel, load_model: Callable[[str], ScoredModel] | None = None):
        self.policy = policy
        self._load_model = load_model or load_scored
        self._references: dict[str, ScoredModel] = {}

    @classmethod
    def load(cls, model: str = "default", *, batch_size: int = 8, progress: bool = True,
             dtype: str | None = None, device: str | None = None) -> Evaluator:
        def load_model(spec: str) -> ScoredModel:
            return load_scored(spec, batch_size=batch_size, progress=progress, dtype=dtype, device=device)

        return cls(load_model(model), load_model)

    def reference(self, settings: EvalSettings) -> ScoredModel | None:
        """The model `--reference` names for the REFERENCE terms (none and raw have none)."""
        if settings.reference in ("none", "raw"):  # no reference model: the universal prompt, or nothing
            return None
        if settings.reference == "base":
            if self.policy.base is None:
                raise OptionError(f"--reference base needs an adapter (a training output folder); "
                                  f"{self.policy.name!r} has no base model. Use --reference none (persona lift) "
                                  "or name a model")
            return self.policy.base
        if settings.reference not in self._references:  # a model spec (not one of BUILTIN_REFERENCES)
            self._references[settings.reference] = self._load_model(settings.reference)
        return self._references[settings.reference]

    def run(self, records: Sequence[Record], settings: EvalSettings, *, source: str = "data",
            provenance: dict[str, Any] | None = None) -> EvalResult:
        reward = rewards.get(settings.reward)
        terms = []
        for number, record in enumerate(records, 1):
            try:
                view = persona_view(record, settings.persona_type)
                terms.append(reward.terms(RewardContext(record.prompt, view, settings.persona_type,
                                                        PromptKind(settings.prompt), settings.reference,
                                                        settings.beta)))
            except PersonaError as e:
                raise PersonaError(f"{record_prefix(source, number)}: {e}") from None
        models = {Role.POLICY: self.policy, Role.REFERENCE: self.reference(settings)}
        scorers = {id(m.scorer): m.scorer for m in models.values() if m is not None}  # base and policy differ
        start = time.perf_counter()
        tokens_before = sum(scorer.tokens_processed for scorer in scorers.values())
        # Under torchrun / accelerate launch the scorers share each call's batches between the processes
        # (alignx.distributed) and every process gets every score back; tokens are added up over them.
        scores = self._score(records, terms, models, f"{settings.reward}, persona {settings.persona}")
        tokens = sum(scorer.tokens_processed for scorer in scorers.values()) - tokens_before
        tokens = sum(distributed.gather([tokens], distributed.world_size()))
        examples = [example_row(i, r, t, s, models) for i, (r, t, s) in enumerate(zip(records, terms, scores,
                                                                                          strict=True))]
        reference = models[Role.REFERENCE]
        provenance = {**(provenance or {}), "model": self.policy.name,
                      "reference_model": reference.name if reference else None}
        result = EvalResult(settings, provenance, examples, time.perf_counter() - start, tokens,
                            processes=distributed.world_size())
        result.ci95 = bootstrap_ci([e["correct"] for e in examples], settings.bootstrap, settings.seed)
        return result

    def _score(self, records: Sequence[Record], terms: list[list[Term]], models: dict[Role, ScoredModel | None],
               description: str) -> list[list[tuple[str, float, float]]]:
        """(prompt for the report, log π(chosen), log π(rejected)) of every term of every record; one scorer
        call per model, so the scorer can sort and share prompts across the whole set."""
        by_role: dict[Role, list[ScoreRequest]] = {}
        asked = [[t.requests(models[t.role].render, (record.chosen, record.rejected)) for t in row]
                 for record, row in zip(records, terms, strict=True)]
        for row, requests in zip(terms, asked, strict=True):
            for term, term_requests in zip(row, requests, strict=True):
                by_role.setdefault(term.role, []).extend(term_requests)
        answers = {role: iter(models[role].scorer.score(requests, description=f"{description}: {role.value}"))
                   for role, requests in by_role.items()}
        return [[(t.prompt(models[t.role].render, term_requests),
                  *t.logps([next(answers[t.role]) for _ in term_requests]))
                 for t, term_requests in zip(row, requests, strict=True)]
                for row, requests in zip(terms, asked, strict=True)]


def rewards_of(responses: Sequence[str], terms: Sequence[Term], models: dict[Role, ScoredModel]) -> list[float]:
    """r(y) for each candidate response y under one post's reward terms (`Reward.terms`), e.g. to rank
    sampled candidates: Σ_k w_k · log π_k(y | prompt_k), each term scored by the model its role names."""
    scores = [t.logps(models[t.role].scorer.score(t.requests(models[t.role].render, responses))) for t in terms]
    return [weighted_sum(terms, [s[i] for s in scores]) for i in range(len(responses))]


def weighted_sum(terms: Sequence[Term], logps: Sequence[float]) -> float:
    """Σ_k w_k · log π_k: the reward of one response from its log-probability under each term."""
    return sum(t.weight * logp for t, logp in zip(terms, logps, strict=True))


def example_row(index: int, record: Record, terms: list[Term], scores: list[tuple[str, float, float]],
                models: dict[Role, ScoredModel | None]) -> dict[str, Any]:
    """One report line: every term's exact prompt, weight and log-probs, the two rewards and the verdict."""
    rows = [{"label": t.label, "model": models[t.role].name, "weight": t.weight, "prompt": prompt,
             **({"evidence": t.evidence} if t.evidence is not None else {}),
             "chosen_logp": chosen, "rejected_logp": rejected}
            for t, (prompt, chosen, rejected) in zip(terms, scores, strict=True)]
    reward_chosen = weighted_sum(terms, [r["chosen_logp"] for r in rows])
    reward_rejected = weighted_sum(terms, [r["rejected_logp"] for r in rows])
    group = {"question_id": record.extra["question_id"]} if "question_id" in record.extra else {}
    return {"index": index, **group, "chosen": record.chosen, "rejected": record.rejected, "terms": rows,
            "reward_chosen": reward_chosen, "reward_rejected": reward_rejected,
            "correct": reward_chosen > reward_rejected}  # ties are wrong, as released


def load_data(config: EvalConfig) -> list[Record]:
    """The records `config` names, after checking a registered benchmark has its persona type."""
    from alignx import registry

    if registry.is_registered(config.data):
        supported = registry.get(config.data).personas
        if config.persona_type not in supported:
            raise OptionError(f"benchmark {config.data} has no {config.persona} persona; "
                              f"choose one of {', '.join(p.value for p in supported)}")
    records = registry.load(config.data, config.split, config.limit)
    if not records:
        raise OptionError(f"{config.data}: no records to evaluate")
    return records


def evaluate(config: EvalConfig, evaluator: Evaluator | None = None) -> EvalResult:
    """Load the data (and the model, unless an evaluator is given) that `config` names, and evaluate once."""
    records = load_data(config)
    if evaluator is None and config.reference not in BUILTIN_REFERENCES:
        from alignx.hub import ensure_reachable

        ensure_reachable("model", config.reference)  # before the policy loads, not after
    evaluator = evaluator or Evaluator.load(config.model, batch_size=config.batch_size,
                                            progress=config.progress and distributed.is_main(), dtype=config.dtype,
                                            device=config.device)
    provenance = {"data": config.data, "split": config.split, "limit": config.limit, "dtype": config.dtype}
    return evaluator.run(records, config, source=config.data, provenance=provenance)
