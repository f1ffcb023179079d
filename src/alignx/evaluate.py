"""Alignment accuracy: does the model's implicit reward prefer the user's chosen response?

r(y) = β·(log π_policy(y | persona prompt) − log π_ref(y | reference prompt)); an example is
correct when r(chosen) > r(rejected) (ties are wrong, as released). The reference decides
what is measured: `none` = the same model reading the universal prompt (persona lift),
`base` = an adapter's base model on the same prompt (the released protocol), `raw` = no
reference, or any other model spec on the same prompt.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alignx.options import parse_option
from alignx.personas import Persona, PersonaError, persona_view
from alignx.prompts import PromptKind, persona_messages, render, universal_messages
from alignx.records import Record

REFERENCE_MODES = ("none", "base", "raw")  # anything else is a model spec
DEFAULT_BETA = 0.1


@dataclass
class EvalConfig:
    data: str = "demo"
    split: str | None = None
    model: str = "default"
    persona: Persona | str = Persona.ALL
    prompt: PromptKind | str | None = None  # None: PBA for persona 'profile', ICA otherwise
    reference: str = "none"
    limit: int | None = None
    batch_size: int = 8
    beta: float = DEFAULT_BETA
    bootstrap: int = 1000
    seed: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        self.persona = Persona.parse(self.persona)
        if self.prompt is None:
            self.prompt = PromptKind.PBA if self.persona is Persona.PROFILE else PromptKind.ICA
        self.prompt = parse_option(PromptKind, self.prompt, "--prompt")
        if self.prompt is PromptKind.PBA and self.persona is not Persona.PROFILE:
            raise ValueError(f"--prompt pba reads a preference profile; use --persona profile, not {self.persona}")
        if self.prompt is PromptKind.ICA and self.persona is Persona.PROFILE:
            raise ValueError("--persona profile is read through the PBA prompt; use --prompt pba or leave --prompt out")
        if self.persona is Persona.NONE and self.reference == "none":
            raise ValueError("--persona none with --reference none compares the universal prompt with itself; "
                             "use --reference raw for the universal baseline")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"--limit must be at least 1, got {self.limit}")
        if self.batch_size < 1:
            raise ValueError(f"--batch-size must be at least 1, got {self.batch_size}")
        if self.beta <= 0:
            raise ValueError(f"beta must be positive, got {self.beta}")

    @property
    def label(self) -> str:
        return f"persona={self.persona.value} prompt={self.prompt.value} reference={self.reference}"


@dataclass
class EvalResult:
    config: EvalConfig
    model: str
    reference_model: str | None
    examples: list[dict[str, Any]]
    seconds: float
    tokens: int = 0
    ci95: tuple[float, float] = field(default=(0.0, 0.0))

    @property
    def n(self) -> int:
        return len(self.examples)

    @property
    def accuracy(self) -> float:
        return float(np.mean([e["correct"] for e in self.examples])) if self.examples else 0.0

    def to_dict(self) -> dict[str, Any]:
        c = self.config
        return {
            "accuracy": self.accuracy,
            "n": self.n,
            "ci95": list(self.ci95),
            "settings": {
                "data": c.data, "split": c.split, "model": self.model, "persona": c.persona.value,
                "prompt": c.prompt.value, "reference": c.reference, "reference_model": self.reference_model,
                "beta": c.beta, "limit": c.limit, "bootstrap": c.bootstrap, "seed": c.seed,
            },
            "timing": {"seconds": round(self.seconds, 3), "tokens": self.tokens,
                       "examples_per_second": round(self.n / self.seconds, 3) if self.seconds else None},
            "examples": self.examples,
        }


def bootstrap_ci(correct: list[bool], rounds: int, seed: int) -> tuple[float, float]:
    """Percentile bootstrap 95% interval of the mean of `correct`."""
    if not correct or rounds < 1:
        return (0.0, 0.0)
    values = np.asarray(correct, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(rounds, len(values)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return (float(low), float(high))


class Evaluator:
    """Scores records for one policy model; reuse it across persona settings to load the model once."""

    def __init__(self, model: str = "default", *, batch_size: int = 8, progress: bool = True):
        from alignx import models

        self.spec = model
        self.policy = models.load(model)
        self.batch_size, self.progress = batch_size, progress
        self._references: dict[str, Any] = {}
        self._memo: dict[tuple, tuple[float, ...]] = {}  # (model, adapter off, prompt, pair) -> scores

    def _score(self, loaded, prompts: list[str], pairs: list[tuple[str, str]], *, disable_adapter: bool = False,
               description: str) -> tuple[list[tuple[float, ...]], int]:
        """Scores of (prompt, pair) under `loaded`, and the tokens run; pairs scored before are not run again.

        Every persona row of a table shares the universal reference prompt, so the memo saves
        one reference pass per row after the first.
        """
        from alignx.scoring import PrefixSharingScorer, ScorerConfig, ScoreRequest

        keys = [(id(loaded), disable_adapter, p, y) for p, y in zip(prompts, pairs, strict=True)]
        todo = list(dict.fromkeys(k for k in keys if k not in self._memo))
        tokens = 0
        if todo:
            config = ScorerConfig(batch_size=self.batch_size, progress=self.progress, description=description)
            scorer = PrefixSharingScorer(loaded, config, disable_adapter=disable_adapter)
            for key, scores in zip(todo, scorer.score([ScoreRequest(k[2], k[3]) for k in todo]), strict=True):
                self._memo[key] = scores
            tokens = scorer.tokens_processed
        return [self._memo[k] for k in keys], tokens

    def _reference(self, config: EvalConfig):
        """(loaded reference model or None, whether to disable the policy's adapter, its display name)."""
        if config.reference == "raw":
            return None, False, None
        if config.reference == "none":
            return self.policy, False, self.spec
        if config.reference == "base":
            if not self.policy.spec.is_adapter:
                raise ValueError(f"--reference base needs an adapter (a training output folder); {self.spec!r} has "
                                 "no base model. Use --reference none (persona lift) or name a model")
            return self.policy, True, self.policy.spec.base
        if config.reference not in self._references:
            from alignx import models

            self._references[config.reference] = models.load(config.reference)
        return self._references[config.reference], False, config.reference

    def run(self, records: list[Record], config: EvalConfig) -> EvalResult:
        views = []
        for number, record in enumerate(records, 1):
            try:
                views.append(persona_view(record, config.persona))
            except PersonaError as e:
                raise ValueError(f"{config.data}: record {number}: {e}") from None
        tokenizer = self.policy.tokenizer
        policy_prompts = [render(tokenizer, persona_messages(r.prompt, v, config.prompt))
                          for r, v in zip(records, views, strict=True)]
        ref_model, disable_adapter, ref_name = self._reference(config)
        if ref_model is None:
            ref_prompts = None
        elif config.reference == "none":
            ref_prompts = [render(tokenizer, universal_messages(r.prompt)) for r in records]
        elif ref_model is self.policy:
            ref_prompts = policy_prompts
        else:
            ref_prompts = [render(ref_model.tokenizer, persona_messages(r.prompt, v, config.prompt))
                           for r, v in zip(records, views, strict=True)]

        start = time.perf_counter()
        pairs = [(r.chosen, r.rejected) for r in records]
        policy, tokens = self._score(self.policy, policy_prompts, pairs,
                                     description=f"policy, persona {config.persona}")
        reference: list[tuple[float, ...]] | list[None] = [None] * len(records)
        if ref_prompts is not None:
            what = "universal prompt" if config.reference == "none" else f"{config.reference}: {ref_name}"
            reference, ref_tokens = self._score(ref_model, ref_prompts, pairs, disable_adapter=disable_adapter,
                                                description=f"reference, {what}")
            tokens += ref_tokens
        seconds = time.perf_counter() - start

        examples = []
        for index, (record, pp, pol, ref) in enumerate(zip(records, policy_prompts, policy, reference, strict=True)):
            rp = ref_prompts[index] if ref_prompts is not None else None
            examples.append(example_row(index, record, pp, rp, pol, ref, config.beta))
        result = EvalResult(config, self.spec, ref_name, examples, seconds, tokens)
        result.ci95 = bootstrap_ci([e["correct"] for e in examples], config.bootstrap, config.seed)
        return result


def example_row(index: int, record: Record, policy_prompt: str, reference_prompt: str | None,
                policy: tuple[float, ...], reference: tuple[float, ...] | None, beta: float) -> dict[str, Any]:
    """One report line: the exact strings scored, the four log-probs and the verdict."""
    chosen_lp, rejected_lp = policy
    ref_chosen, ref_rejected = reference if reference is not None else (None, None)
    return {
        "index": index,
        "policy_prompt": policy_prompt,
        "reference_prompt": reference_prompt,
        "chosen": record.chosen,
        "rejected": record.rejected,
        "chosen_logp": chosen_lp,
        "rejected_logp": rejected_lp,
        "ref_chosen_logp": ref_chosen,
        "ref_rejected_logp": ref_rejected,
        "correct": is_correct(chosen_lp, rejected_lp, ref_chosen, ref_rejected, beta),
    }


def is_correct(chosen: float, rejected: float, ref_chosen: float | None, ref_rejected: float | None,
               beta: float = DEFAULT_BETA) -> bool:
    """r(chosen) > r(rejected) with r = β(log π − log π_ref); without a reference, log π alone. Ties are wrong."""
    if ref_chosen is None or ref_rejected is None:
        return chosen > rejected
    return beta * (chosen - ref_chosen) > beta * (rejected - ref_rejected)


def evaluate(config: EvalConfig) -> EvalResult:
    """Load the data and the model named in `config` and evaluate once."""
    from alignx import benchmarks

    if benchmarks.is_registered(config.data):
        supported = benchmarks.get(config.data).personas
        if config.persona not in supported:
            raise ValueError(f"benchmark {config.data} has no {config.persona.value} persona; "
                             f"choose one of {', '.join(p.value for p in supported)}")
    records = benchmarks.load(config.data, config.split, config.limit)
    if not records:
        raise ValueError(f"{config.data}: no records to evaluate")
    return Evaluator(config.model, batch_size=config.batch_size, progress=config.progress).run(records, config)
