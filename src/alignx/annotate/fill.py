"""`alignx annotate --data DATA`: fill every missing `Preference Direction` of a dataset through an annotator.

Equal items (same texts) are asked once, answers come from the cache where an earlier run (or a
killed one) already paid for them, and each new answer is cached the moment it arrives. Items that
already carry a direction stay as they are unless `reannotate`. A failed item keeps no direction and
its reason is counted: never a silent neutral. `describe` also writes `Demographic Information`
for records that lack it, from their history items (backends that write text only).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from alignx.annotate.base import Annotation, Annotator, AnnotatorError, Item, item_key, record_items, with_directions
from alignx.answer_cache import AnswerCache
from alignx.progress import ProgressBar
from alignx.records import Record

DESCRIBE_KEY = "describe:"


@dataclass
class FillSummary:
    """What the fill calls did; one summary handed to several calls (chunks of a large build) adds them up."""

    items: int = 0  # item occurrences in the records
    kept: int = 0  # occurrences that already had a direction and were left alone
    distinct: int = 0  # distinct items that needed an answer
    from_cache: int = 0
    annotated: int = 0
    failed: Counter = field(default_factory=Counter)  # reason -> distinct items
    seconds: float = 0.0  # asking the annotator
    tokens: int = 0
    described: int = 0
    describe_failed: Counter = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.annotated / self.seconds if self.seconds > 0 else 0.0

    def lines(self) -> list[str]:
        out = [f"{self.items} items: {self.kept} kept their direction, {self.distinct} distinct to fill: "
               f"{self.from_cache} from the cache, {self.annotated} annotated"
               + (f" ({self.rate:.1f} items/s)" if self.annotated else "")
               + f", {sum(self.failed.values())} failed"
               + (f"; {self.tokens:,} tokens" if self.tokens else "")]
        out += [f"  failed x{n}: {reason}" for reason, n in self.failed.most_common(5)]
        if self.described or self.describe_failed:
            out.append(f"descriptions: {self.described} written, {sum(self.describe_failed.values())} failed")
            out += [f"  failed x{n}: {reason}" for reason, n in self.describe_failed.most_common(3)]
        return out


def fill_directions(records: Sequence[Record], annotator: Annotator, cache: AnswerCache, *,
                    reannotate: bool = False, progress: bool = True,
                    summary: FillSummary | None = None) -> tuple[list[Record], FillSummary]:
    """The records with every missing (or, with `reannotate`, every) item direction answered."""
    summary = summary or FillSummary()
    wanted: dict[str, Item] = {}
    for record in records:
        for item, direction in record_items(record):
            summary.items += 1
            if direction is not None and not reannotate:
                summary.kept += 1
            else:
                wanted.setdefault(item_key(item), item)
    summary.distinct += len(wanted)
    answers: dict[str, tuple[float, ...]] = {
        key: tuple(value["direction"]) for key, value in cache.get_many(annotator.identity, wanted).items()}
    summary.from_cache += len(answers)
    pending = [(key, item) for key, item in wanted.items() if key not in answers]
    start = time.perf_counter()
    with ProgressBar(f"annotating with {annotator.spec}", len(pending), unit="items", enabled=progress) as bar:
        for index, annotation in annotator.annotate([item for _, item in pending]):
            key = pending[index][0]
            summary.tokens += annotation.tokens
            if annotation.direction is None:
                summary.failed[annotation.error or "no answer"] += 1
            else:
                cache.put(annotator.identity, key, _cached(annotation))
                answers[key] = annotation.direction
                summary.annotated += 1
            bar.advance()
    summary.seconds += time.perf_counter() - start
    filled = []
    for record in records:
        directions = [direction if direction is not None and not reannotate else answers.get(item_key(item))
                      for item, direction in record_items(record)]
        filled.append(with_directions(record, directions))
    return filled, summary


def _cached(annotation: Annotation) -> dict[str, Any]:
    value: dict[str, Any] = {"direction": list(annotation.direction or ())}
    if annotation.confidence is not None:
        value["confidence"] = list(annotation.confidence)
    return value


def fill_descriptions(records: Sequence[Record], annotator: Annotator, cache: AnswerCache, *,
                      workers: int = 1, progress: bool = True,
                      summary: FillSummary | None = None) -> tuple[list[Record], FillSummary]:
    """The records with `Demographic Information` written where it is missing and there is history to read."""
    summary = summary or FillSummary()
    if not annotator.can_describe:
        raise AnnotatorError(f"{annotator.spec}: this annotator answers directions only and cannot write "
                             "demographic text; --describe needs an openai:MODEL annotator")
    todo = [i for i, r in enumerate(records) if r.demographic is None and (r.ugc or r.pairs)]
    keys = {i: DESCRIBE_KEY + _history_key(records[i]) for i in todo}
    cached = cache.get_many(annotator.identity, keys.values())
    texts = {i: cached[keys[i]] for i in todo if keys[i] in cached}

    def ask(i: int) -> tuple[int, str | None, str | None]:
        try:
            return i, annotator.describe([*records[i].ugc, *records[i].pairs]), None
        except AnnotatorError as e:
            return i, None, str(e)

    pending = [i for i in todo if i not in texts]
    with ProgressBar(f"describing with {annotator.spec}", len(pending), unit="items", enabled=progress) as bar, \
            ThreadPoolExecutor(max(1, workers)) as pool:
        for i, text, error in pool.map(ask, pending):
            if text:
                cache.put(annotator.identity, keys[i], text)
                texts[i] = text
            else:
                summary.describe_failed[error or "empty answer"] += 1
            bar.advance()
    summary.described += len(texts)
    return [dataclasses.replace(r, demographic=texts[i]) if i in texts else r for i, r in enumerate(records)], summary


def _history_key(record: Record) -> str:
    joined = "\x1e".join(item_key(item) for item in (*record.ugc, *record.pairs))
    return hashlib.sha256(joined.encode()).hexdigest()
