"""`alignx generate`: answer each record of DATA as its persona would be answered, into a resumable file.

Work is the (record, sample) rows OUTPUT does not hold yet; each is written (append, fsync) as soon as
it is generated, so a killed run loses nothing it finished and a rerun only does the rest. With
--best-of N each row is the best of N candidates under --reward, written once its candidates are scored.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from alignx.errors import OptionError, UserError, record_prefix
from alignx.eval.settings import DEFAULT_BETA
from alignx.generate.config import GenerateConfig
from alignx.generate.files import GenerationWriter, make_meta, record_key
from alignx.generation.base import Generated, Generator, Settings
from alignx.generation.steering import Steered
from alignx.held_out import shown_view, split_evidence
from alignx.personas import Persona, PersonaError, PersonaView, persona_view
from alignx.prompts import Messages, PromptKind, persona_messages, universal_messages
from alignx.records import Record

if TYPE_CHECKING:
    from alignx.eval.evaluator import ScoredModel
    from alignx.models import LoadedModel


@dataclass
class Task:
    """One record to answer: its index, key, post, persona view and the messages of its prompt."""

    index: int
    key: str
    record: Record
    view: PersonaView
    messages: Messages
    steered: Steered | None = None  # with --steer: the universal prompt and the user's evidence contexts


@dataclass
class Summary:
    written: int = 0
    already: int = 0
    failed: list[str] = field(default_factory=list)
    tokens: int = 0
    seconds: float = 0.0
    copied: int = 0  # written responses that copy their prompt (alignx.generate.copying)
    candidates: int = 0  # best-of: candidates scored
    candidates_copied: int = 0


def build_tasks(records: Sequence[Record], config: GenerateConfig) -> list[Task]:
    """Every record's prompt, before anything is generated: a record lacking the persona stops the run here."""
    tasks = []
    for index, record in enumerate(records):
        try:
            view = persona_view(record, config.persona_type)  # the record must have the persona
            if config.hold_out:
                view = shown_view(record, config.persona_type)
            messages = (universal_messages(record.prompt) if view.is_empty or config.steer
                        else persona_messages(record.prompt, view, PromptKind(config.prompt)))
        except PersonaError as e:
            raise PersonaError(f"{record_prefix(config.data, index + 1)}: {e}") from None
        steered = Steered.by_choices(messages, record.prompt, view.pairs) if config.steer else None
        tasks.append(Task(index, record_key(record, index), record, view, messages, steered))
    return tasks


def load_generator(config: GenerateConfig) -> tuple[Generator, LoadedModel | None]:
    """The generator --upstream or --model names, and the model it loaded (None upstream)."""
    if config.upstream:
        from alignx.generation.upstream import UpstreamGenerator

        upstream = UpstreamGenerator.connect(
            config.upstream, config.upstream_model, api_key=os.environ.get(config.upstream_key_env),
            key_env=config.upstream_key_env, workers=config.workers, timeout=config.timeout, retries=config.retries)
        return upstream, None
    from alignx.generation.local import LocalGenerator

    local = LocalGenerator.load(config.model, device=config.device, dtype=config.dtype, batch_size=config.batch_size,
                                progress=config.progress)
    return local, local.loaded


def load_scorer(config: GenerateConfig, loaded: LoadedModel | None) -> ScoredModel:
    """The model best-of-N scores with: the generating one, or --model loaded for it (upstream)."""
    from alignx import models
    from alignx.eval.evaluator import scored

    if loaded is None:
        loaded = models.load(config.model, device=config.device, dtype=config.dtype)
    return scored(loaded, config.model, batch_size=config.batch_size, progress=False)


def _row(task: Task, sample: int, generated: Generated, messages: Messages, **extra: Any) -> dict[str, Any]:
    return {"key": task.key, "record": task.index, "sample": sample, "prompt": task.record.prompt,
            "response": generated.text, "tokens": generated.tokens, "messages": messages, **extra}


def run_plain(todo: list[tuple[Task, int]], generator: Generator, config: GenerateConfig, writer: GenerationWriter,
              settings: Settings, summary: Summary) -> None:
    from alignx.generate.copying import copies_prompt

    ids = [f"{task.key}:{sample}" for task, sample in todo]
    requests = [t.steered or t.messages for t, _ in todo]
    for i, result in generator.generate(requests, settings, ids=ids):
        task, sample = todo[i]
        if isinstance(result, Exception):
            summary.failed.append(f"{record_prefix(config.data, task.index + 1)}: {result}")
            continue
        extra = {"steering": task.steered.to_dict()} if task.steered else {}
        if writer.write(_row(task, sample, result, task.messages, **extra)):
            summary.written += 1
            read = task.messages + (task.steered.toward + task.steered.away if task.steered else [])
            summary.copied += copies_prompt(result.text, read, task.record.prompt)


def run_best_of(todo: list[tuple[Task, int]], generator: Generator, config: GenerateConfig,
                writer: GenerationWriter, settings: Settings, summary: Summary, scorer: ScoredModel) -> None:
    """Chunks of rows: every candidate of the chunk generated together, then scored, then written."""
    from alignx.eval import rewards
    from alignx.eval.terms import RewardContext
    from alignx.generate.best_of import candidate_requests, candidate_sources, pick_best
    from alignx.generate.copying import copies_prompt

    reward = rewards.get(config.reward)
    sources = candidate_sources(config.best_of, config.candidates)
    chunk = max(1, (max(config.batch_size, config.workers if config.upstream else 1) + len(sources) - 1)
                // len(sources))
    for at in range(0, len(todo), chunk):
        rows = todo[at:at + chunk]
        messages: list[Messages] = []
        ids, owners = [], []
        for r, (task, sample) in enumerate(rows):
            messages += candidate_requests(task.messages, universal_messages(task.record.prompt), sources)
            ids += [f"{task.key}:{sample}:{j}" for j in range(len(sources))]
            owners += [(r, j) for j in range(len(sources))]
        got: dict[tuple[int, int], Generated] = {}
        errors: dict[int, str] = {}
        for i, result in generator.generate(messages, settings, ids=ids,
                                            description=f"best-of-{config.best_of} candidates"):
            if isinstance(result, Exception):
                errors[owners[i][0]] = str(result)
            else:
                got[owners[i]] = result
        for r, (task, sample) in enumerate(rows):
            names = [j for j in range(len(sources)) if (r, j) in got]
            if not names:
                summary.failed.append(f"{record_prefix(config.data, task.index + 1)}: {errors.get(r, 'no candidate')}")
                continue
            texts = [got[(r, j)].text for j in names]
            requests = [messages[r * len(sources) + j] for j in names]
            copies = [copies_prompt(t, m, task.record.prompt) for t, m in zip(texts, requests, strict=True)]
            ctx = RewardContext(task.record.prompt, task.view, config.persona_type, PromptKind(config.prompt),
                                "none", DEFAULT_BETA)
            pick = pick_best(texts, reward.terms(ctx), scorer, copies=copies if config.copy_filter else None)
            best = got[(r, names[pick.index])]
            summary.candidates += len(texts)
            summary.candidates_copied += sum(copies)
            if writer.write(_row(task, sample, best, requests[pick.index], chosen_from=sources[names[pick.index]],
                                 rewards=[round(s, 4) for s in pick.rewards],
                                 sources=[sources[j] for j in names], copies=copies)):
                summary.written += 1
                summary.copied += copies[pick.index]


def run_generate(config: GenerateConfig) -> None:
    """Generate a response per record of DATA (or --samples N) for its persona, into OUTPUT (resumable)."""
    from alignx import registry

    records = registry.load(config.data, config.split, config.limit)
    if not records:
        raise OptionError(f"{config.data}: no records to answer")
    tasks = build_tasks(records, config)
    meta = make_meta(config.generation_settings(), config.data, config.split)
    if config.hold_out:  # what each record's generator saw, by key (PAIR indices; stated held out or not)
        meta["held_out"] = {t.key: split_evidence(t.record).to_dict() for t in tasks}
    summary = Summary()
    with GenerationWriter(config.output, meta, overwrite=config.overwrite) as writer:
        todo = [(t, s) for t in tasks for s in range(config.samples) if (t.key, s) not in writer.done]
        summary.already = len(tasks) * config.samples - len(todo)
        if todo:
            settings = Settings(config.max_new_tokens, config.temperature, config.top_k, config.top_p, config.seed,
                                steer=config.steer, steer_plausibility=config.plausibility,
                                steer_length=config.steer_length)
            generator, loaded = load_generator(config)
            start = time.perf_counter()
            try:
                if config.best_of > 1:
                    run_best_of(todo, generator, config, writer, settings, summary, load_scorer(config, loaded))
                else:
                    run_plain(todo, generator, config, writer, settings, summary)
            finally:
                summary.seconds = time.perf_counter() - start
                summary.tokens = generator.tokens_generated
                generator.close()
    report(config, summary)


def report(config: GenerateConfig, summary: Summary) -> None:
    out = sys.stdout  # results; logs and the progress bar go to stderr
    rate = f" ({summary.tokens} tokens in {summary.seconds:.1f} s, {summary.tokens / summary.seconds:,.1f} tok/s)" \
        if summary.seconds > 0 else ""
    print(f"{config.output}: wrote {summary.written} rows{rate}; {summary.already} were already there", file=out)
    if summary.written and config.persona_type is not Persona.NONE:
        share = summary.copied / summary.written
        print(f"responses copying their prompt: {summary.copied} of {summary.written} ({share:.1%})", file=out)
    if summary.candidates:
        share = summary.candidates_copied / summary.candidates
        print(f"best-of-{config.best_of} candidates copying their prompt: {summary.candidates_copied} of "
              f"{summary.candidates} ({share:.1%})", file=out)
    if summary.failed:
        raise UserError(f"{len(summary.failed)} of {summary.written + len(summary.failed)} rows failed (first: "
                        f"{summary.failed[0]}); the {summary.written} others are written: rerun the same command "
                        "to retry the failed ones")
