"""Alignment accuracy: does the personalized reward prefer the user's chosen response?

A reward (`alignx.rewards`) is a weighted sum of log π(y | prompt) terms; an example is correct when
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
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alignx import distributed, rewards
from alignx.errors import OptionError, record_prefix
from alignx.models import DTYPES
from alignx.personas import Persona, PersonaError, persona_view
from alignx.prompts import Messages, PromptKind
from alignx.records import Record
from alignx.rewards import RewardContext, Role, Term
from alignx.scoring import CachedScorer, Scorer, ScoreRequest

DEFAULT_BETA = 0.1
BUILTIN_REFERENCES = ("none", "base", "raw")  # any other --reference is a model spec


@dataclass
class RewardSettings:
    """How a persona becomes a reward and how accuracy is summarised: shared by `alignx eval`, the rows of
    `alignx report` and the analyses (declared once, see alignx.options)."""

    reward: str = field(default="dpo", metadata={
        "help": "How the persona becomes a reward: dpo (the released protocol, with --reference) or a "
                "zero-training reward; zero-shot is the one recommended for untrained models (docs/rewards.md)."})
    reference: str = field(default="none", metadata={
        "help": "For --reward dpo: none (same model, universal prompt: persona lift) | base (the adapter's "
                "base) | raw (no reference) | a model spec."})
    beta: float = field(default=DEFAULT_BETA, metadata={"help": "β of the dpo reward."})
    bootstrap: int = field(default=1000, metadata={"help": "Bootstrap rounds of each 95% interval."})
    seed: int = field(default=0, metadata={"help": "Seeds the bootstrap (and an analysis's random draws)."})

    def __post_init__(self) -> None:
        reward = rewards.get(self.reward)
        if not reward.uses_reference and self.reference != "none":
            raise OptionError(f"--reward {reward.name} is scored by the model alone; leave --reference out")
        if not self.beta > 0:
            raise OptionError(f"--beta must be positive, got {self.beta}")
        if self.bootstrap < 0:
            raise OptionError(f"--bootstrap must be 0 or more, got {self.bootstrap}")


@dataclass
class EvalSettings(RewardSettings):
    """What one evaluation run reads (a row of a table); the report records these and the provenance."""

    persona: str = field(default=Persona.ALL.value, metadata={
        "help": "ugc | pair | demo | profile | stated | all | none: what the model is told about the user."})
    prompt: str | None = field(default=None, metadata={
        "help": "ica | pba: how the persona is put to the model.",
        "default_text": "pba for profile and stated, else ica"})

    def __post_init__(self) -> None:
        persona = Persona.parse(self.persona)
        self.persona = persona.value
        self.prompt = PromptKind.for_persona(persona, self.prompt).value
        reward = rewards.get(self.reward)
        if persona not in reward.personas:
            raise OptionError(f"--reward {reward.name} is defined for persona "
                              f"{', '.join(p.value for p in reward.personas)}; not {persona}")
        RewardSettings.__post_init__(self)
        if persona is Persona.NONE and self.reference == "none" and reward.uses_reference:
            raise OptionError("--persona none with --reference none compares the universal prompt with itself; "
                              "use --reference raw for the universal baseline")

    @property
    def persona_type(self) -> Persona:
        return Persona(self.persona)


@dataclass
class RunSettings:
    """What to score on and how: the data, the model, batching and precision (shared by `alignx eval` and
    the analyses; declared once, see alignx.options)."""

    data: str = field(default="demo", metadata={
        "help": "Benchmark (demo, alignx-test, p-soups, prism, uf-p-4, prefeval), a PrefEval checkout, file, folder "
                "or hub dataset id."})
    split: str | None = field(default=None, metadata={
        "help": "Split to read; default: the data's only split, else 'test'.", "default_text": "test"})
    model: str = field(default="default", metadata={
        "help": "'default' (the embedded SmolLM2-135M-Instruct), a hub id, a model or adapter folder."})
    limit: int | None = field(default=None, metadata={"help": "Use the first N records only."})
    batch_size: int = field(default=8, metadata={"help": "Sequences per forward pass."})
    dtype: str | None = field(default=None, metadata={
        "help": "fp32 | bf16 | fp16 for the model.", "default_text": "bf16 on GPUs that have it, else fp32"})
    progress: bool = field(default=True, metadata={"help": "Show progress bars with tokens/s on stderr."})

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit < 1:
            raise OptionError(f"--limit must be at least 1, got {self.limit}")
        if self.batch_size < 1:
            raise OptionError(f"--batch-size must be at least 1, got {self.batch_size}")
        if self.dtype is not None and self.dtype.lower() not in DTYPES:
            raise OptionError(f"--dtype {self.dtype!r} is unknown; choose one of fp32, bf16, fp16")


@dataclass
class EvalConfig(EvalSettings, RunSettings):
    """`alignx eval`: one run's settings plus what to run them on (declared once, see alignx.options)."""

    output: str | None = field(default=None, metadata={"help": "Write the full JSON report here (atomically)."})

    def __post_init__(self) -> None:
        EvalSettings.__post_init__(self)
        RunSettings.__post_init__(self)


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
        settings = {name: getattr(s, name) for name in ("persona", "prompt", "reward", "reference", "beta",
                                                        "bootstrap", "seed")}
        return {
            "accuracy": self.accuracy,
            "n": self.n,
            "ci95": list(self.ci95),
            **({"multiple_choice": mc} if (mc := self.multiple_choice()) else {}),
            "settings": {**self.provenance, **settings},
            "timing": {"seconds": round(self.seconds, 3), "tokens": self.tokens, "processes": self.processes,
                       "tokens_per_record": round(self.tokens / self.n, 1) if self.n else None,
                       "examples_per_second": round(self.n / self.seconds, 3) if self.seconds else None},
            "examples": self.examples,
        }


def question_verdicts(examples: Sequence[dict[str, Any]], correct: Sequence[bool]) -> list[bool]:
    """Multiple-choice verdicts, one per question (report lines sharing a `question_id`, e.g. PrefEval's three
    records of a question): right when the chosen answer beats every other option. Empty without ids."""
    by_question: dict[str, bool] = {}
    for e, ok in zip(examples, correct, strict=True):
        if "question_id" in e:
            by_question[e["question_id"]] = by_question.get(e["question_id"], True) and bool(ok)
    return list(by_question.values())


def bootstrap_ci(correct: list[bool], rounds: int, seed: int) -> tuple[float, float]:
    """Percentile bootstrap 95% interval of the mean of `correct`."""
    if not correct or rounds < 1:
        return (0.0, 0.0)
    values = np.asarray(correct, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(rounds, len(values)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return (float(low), float(high))


@dataclass
class ScoredModel:
    """A model as evaluation sees it: its name, how chat messages become its prompt, its scorer, and for an
    adapter the base model (the same weights with the adapter switched off)."""

    name: str
    render: Callable[[Messages], str]
    scorer: Scorer
    base: ScoredModel | None = None


def load_scored(spec: str, *, batch_size: int = 8, progress: bool = True, dtype: str | None = None) -> ScoredModel:
    """`spec` loaded once (in `dtype`, default as `alignx.models.pick_dtype`), scored by the prefix-sharing
    scorer behind a cache."""
    from alignx import models

    return scored(models.load(spec, dtype=dtype), spec, batch_size=batch_size, progress=progress)


def scored(loaded: Any, name: str, *, batch_size: int = 8, progress: bool = True) -> ScoredModel:
    """A `ScoredModel` on an already loaded model (generation and scoring can share the weights); an adapter
    also gets its base, the same weights with the adapter switched off."""
    from alignx.prompts import render
    from alignx.scoring import PrefixSharingScorer, ScorerConfig

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
             dtype: str | None = None) -> Evaluator:
        def load_model(spec: str) -> ScoredModel:
            return load_scored(spec, batch_size=batch_size, progress=progress, dtype=dtype)

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
                                            progress=config.progress and distributed.is_main(), dtype=config.dtype)
    provenance = {"data": config.data, "split": config.split, "limit": config.limit, "dtype": config.dtype}
    return evaluator.run(records, config, source=config.data, provenance=provenance)
