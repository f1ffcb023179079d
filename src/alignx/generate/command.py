"""`alignx generate`: answer each record of DATA as its persona would be answered, into a resumable file.

Work is the (record, sample) rows OUTPUT does not hold yet; each is written (append, fsync) as soon as
it is generated, so a killed run loses nothing it finished and a rerun only does the rest. With
--best-of N each row is the best of N candidates under --reward, written once its candidates are scored.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from alignx.errors import OptionError, UserError, record_prefix
from alignx.generate.config import GenerateConfig
from alignx.generate.files import GenerationWriter, make_meta, record_key
from alignx.generate.local import Generated, Sampling
from alignx.personas import Persona, PersonaError, PersonaView, persona_view
from alignx.prompts import Messages, PromptKind, persona_messages, universal_messages
from alignx.records import Record

DEFAULT_BETA = 0.1


@dataclass
class Task:
    """One record to answer: its index, key, post, persona view and the messages of its prompt."""

    index: int
    key: str
    record: Record
    view: PersonaView
    messages: Messages


@dataclass
class Summary:
    written: int = 0
    already: int = 0
    failed: list[str] = field(default_factory=list)
    tokens: int = 0
    seconds: float = 0.0
    echoed: int = 0  # written responses that repeat the prompt's scaffold
    candidates: int = 0  # best-of: candidates scored
    candidates_echoed: int = 0


def build_tasks(records: Sequence[Record], config: GenerateConfig) -> list[Task]:
    """Every record's prompt, before anything is generated: a record lacking the persona stops the run here."""
    tasks = []
    for index, record in enumerate(records):
        try:
            view = persona_view(record, config.persona_type)
            messages = (universal_messages(record.prompt) if view.is_empty
                        else persona_messages(record.prompt, view, PromptKind(config.prompt)))
        except PersonaError as e:
            raise PersonaError(f"{record_prefix(config.data, index + 1)}: {e}") from None
        tasks.append(Task(index, record_key(record, index), record, view, messages))
    return tasks


class Backend:
    """The local model or an upstream server behind one call: messages in, (index, Generated | error) out."""

    def __init__(self, config: GenerateConfig):
        self.config = config
        self.loaded = self.upstream = None
        if config.upstream:
            from alignx.generate.upstream import UpstreamGenerator

            self.upstream = UpstreamGenerator.connect(
                config.upstream, config.upstream_model, api_key=os.environ.get(config.upstream_key_env),
                key_env=config.upstream_key_env, workers=config.workers, timeout=config.timeout,
                retries=config.retries)
        else:
            from alignx import models
            from alignx.generate.local import LocalGenerator

            self.loaded = models.load(config.model, device=config.device, dtype=config.dtype)
            self.local = LocalGenerator(self.loaded, batch_size=config.batch_size, progress=config.progress)

    @property
    def tokens_generated(self) -> int:
        return (self.upstream or self.local).tokens_generated

    def generate(self, messages: Sequence[Messages], ids: Sequence[str], sampling: Sampling,
                 description: str) -> Iterator[tuple[int, Generated | Exception]]:
        if self.upstream is not None:
            yield from self.upstream.generate(messages, sampling, seed=self.config.seed, ids=ids)
            return
        from alignx.prompts import render

        prompts = [render(self.loaded.tokenizer, m) for m in messages]
        for batch in self.local.generate(prompts, sampling, seed=self.config.seed, ids=ids, description=description):
            yield from batch

    def scorer(self):
        """The model best-of-N scores with: the loaded one, or --model loaded for it (upstream)."""
        from alignx.eval.evaluator import scored

        if self.loaded is None:
            from alignx import models

            self.loaded = models.load(self.config.model, device=self.config.device, dtype=self.config.dtype)
        return scored(self.loaded, self.config.model, batch_size=self.config.batch_size, progress=False)

    def close(self) -> None:
        if self.upstream is not None:
            self.upstream.close()


def _row(task: Task, sample: int, generated: Generated, **extra: Any) -> dict[str, Any]:
    return {"key": task.key, "record": task.index, "sample": sample, "prompt": task.record.prompt,
            "response": generated.text, "tokens": generated.tokens, **extra}


def run_plain(todo: list[tuple[Task, int]], backend: Backend, writer: GenerationWriter, sampling: Sampling,
              summary: Summary) -> None:
    from alignx.generate.best_of import echoes_scaffold

    ids = [f"{task.key}:{sample}" for task, sample in todo]
    for i, result in backend.generate([t.messages for t, _ in todo], ids, sampling, "generating"):
        task, sample = todo[i]
        if isinstance(result, Exception):
            summary.failed.append(f"{record_prefix(backend.config.data, task.index + 1)}: {result}")
            continue
        if writer.write(_row(task, sample, result)):
            summary.written += 1
            summary.echoed += echoes_scaffold(result.text)


def run_best_of(todo: list[tuple[Task, int]], backend: Backend, writer: GenerationWriter, sampling: Sampling,
                summary: Summary) -> None:
    """Chunks of rows: every candidate of the chunk generated together, then scored, then written."""
    from alignx.eval import rewards
    from alignx.eval.terms import RewardContext
    from alignx.generate.best_of import candidate_sources, echoes_scaffold, pick_best

    config = backend.config
    reward = rewards.get(config.reward)
    sources = candidate_sources(config.best_of, config.candidates)
    scorer = backend.scorer()
    chunk = max(1, (max(config.batch_size, config.workers if config.upstream else 1) + len(sources) - 1)
                // len(sources))
    for at in range(0, len(todo), chunk):
        rows = todo[at:at + chunk]
        messages, ids, owners = [], [], []
        for r, (task, sample) in enumerate(rows):
            for j, source in enumerate(sources):
                messages.append(task.messages if source == "persona" else universal_messages(task.record.prompt))
                ids.append(f"{task.key}:{sample}:{j}")
                owners.append((r, j))
        got: dict[tuple[int, int], Generated] = {}
        errors: dict[int, str] = {}
        for i, result in backend.generate(messages, ids, sampling, f"best-of-{config.best_of} candidates"):
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
            ctx = RewardContext(task.record.prompt, task.view, config.persona_type, PromptKind(config.prompt),
                                "none", DEFAULT_BETA)
            pick = pick_best(texts, reward.terms(ctx), scorer, scaffold_filter=config.scaffold_filter)
            best = got[(r, names[pick.index])]
            summary.candidates += len(texts)
            summary.candidates_echoed += sum(echoes_scaffold(t) for t in texts)
            if writer.write(_row(task, sample, best, chosen_from=sources[names[pick.index]],
                                 rewards=[round(s, 4) for s in pick.rewards],
                                 sources=[sources[j] for j in names], echoes=[echoes_scaffold(t) for t in texts])):
                summary.written += 1
                summary.echoed += echoes_scaffold(best.text)


def run_generate(config: GenerateConfig) -> None:
    """Generate a response per record of DATA (or --samples N) for its persona, into OUTPUT (resumable)."""
    from alignx import registry

    records = registry.load(config.data, config.split, config.limit)
    if not records:
        raise OptionError(f"{config.data}: no records to answer")
    tasks = build_tasks(records, config)
    meta = make_meta(config.generation_settings(), config.data, config.split)
    summary = Summary()
    with GenerationWriter(config.output, meta, overwrite=config.overwrite) as writer:
        todo = [(t, s) for t in tasks for s in range(config.samples) if (t.key, s) not in writer.done]
        summary.already = len(tasks) * config.samples - len(todo)
        if todo:
            sampling = Sampling(config.max_new_tokens, config.temperature, config.top_k, config.top_p)
            backend = Backend(config)
            start = time.perf_counter()
            try:
                (run_best_of if config.best_of > 1 else run_plain)(todo, backend, writer, sampling, summary)
            finally:
                summary.seconds = time.perf_counter() - start
                summary.tokens = backend.tokens_generated
                backend.close()
    report(config, summary)


def report(config: GenerateConfig, summary: Summary) -> None:
    out = sys.stdout  # results; logs and the progress bar go to stderr
    rate = f" ({summary.tokens} tokens in {summary.seconds:.1f} s, {summary.tokens / summary.seconds:,.1f} tok/s)" \
        if summary.seconds > 0 else ""
    print(f"{config.output}: wrote {summary.written} rows{rate}; {summary.already} were already there", file=out)
    if summary.written and config.persona_type is not Persona.NONE:
        share = summary.echoed / summary.written
        print(f"responses echoing the prompt's scaffold: {summary.echoed} of {summary.written} ({share:.1%})", file=out)
    if summary.candidates:
        share = summary.candidates_echoed / summary.candidates
        print(f"best-of-{config.best_of} candidates echoing the scaffold: {summary.candidates_echoed} of "
              f"{summary.candidates} ({share:.1%})", file=out)
    if summary.failed:
        raise UserError(f"{len(summary.failed)} of {summary.written + len(summary.failed)} rows failed (first: "
                        f"{summary.failed[0]}); the {summary.written} others are written: rerun the same command "
                        "to retry the failed ones")
