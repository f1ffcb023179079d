"""Events -> an AlignX dataset folder: personas per pair event, a split by user, `stats.json`.

The event table is sorted by `user_id` (Arrow) and read one slice of whole users at a time, so Python only
ever holds one batch of events. Within a user, events are put in a canonical order (by content, then time) and
exact duplicates dropped, so the output does not depend on the order of the input rows. Every pair event of a
kept user is a target: its record carries up to `max_items` of the user's comments and up to `max_items` of
the user's other pairs, drawn with `random.Random(f"{seed}:{user_id}")` and never on the target's own post,
and the text of the user's latest demographic event. Users go to `test` when a seeded hash of their id falls
under `test_fraction`, so no user is on both sides.

JSONL without an annotator is the fast path: each event's JSON is written once and records are joined from
those pieces. Parquet output and annotated builds go through `Record` objects, a chunk at a time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from alignx.dataset.stats import TEST, TRAIN, Stats, count_record
from alignx.dataset.writer import USER_ID, Writer
from alignx.progress import ProgressBar
from alignx.records import Choice, Comment, Record
from alignx.space import N_DIMENSIONS

BATCH_EVENTS = 1 << 16  # events per slice of whole users
CHUNK_RECORDS = 2048  # records per annotator call / Parquet row group
STATS_FILE = "stats.json"

_encode = json.encoder.encode_basestring  # the C encoder json.dumps(ensure_ascii=False) uses for a str
_TOKENS = np.frombuffer(b"0.0,0.5,1.0,", dtype=np.uint8).reshape(3, 4)


@dataclass(frozen=True)
class BuildOptions:
    seed: int = 0
    test_fraction: float = 0.1
    max_items: int = 4
    min_items: int = 2
    format: str = "jsonl"
    user: str | None = None  # an export of one user: --min-items does not apply


@dataclass
class Annotation:
    """How an annotated build fills what the events lack: `directions` returns the records with missing
    directions filled; `describe` returns one text (or None) per record, from its history."""

    directions: Callable[[list[Record]], list[Record]] | None = None
    describe: Callable[[list[Record]], list[str | None]] | None = None
    summary: Any = None  # what the annotator did (alignx.annotate.fill.FillSummary), for the report


def in_test_split(user_id: str, seed: int, fraction: float) -> bool:
    """Whether `user_id` goes to the test split: a seeded hash, so a user is on one side whatever the input."""
    digest = hashlib.blake2b(f"{seed}:{user_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < fraction


# ---------------------------------------------------------------- one batch of events as Python values


class _Batch:
    """The columns of a slice of whole users as Python lists, directions as JSON text and as codes."""

    def __init__(self, table: pa.Table):
        self.n = table.num_rows
        for name in ("kind", "post", "comment", "chosen", "rejected", "text"):
            setattr(self, name, table[name].to_pylist())
        self.ts = pc.cast(table["timestamp"], pa.int64()).to_pylist()
        self.row = table["row"].to_pylist()
        direction = table["direction"].combine_chunks()
        valid = np.flatnonzero(pc.is_valid(direction).to_numpy(zero_copy_only=False))
        codes = (pc.list_flatten(direction).to_numpy(zero_copy_only=False) * 2).astype(np.uint8)
        self.codes = codes.reshape(-1, N_DIMENSIONS)  # one row per event with a direction
        self.code_row: list[int | None] = [None] * self.n
        self.dir_json: list[str | None] = [None] * self.n
        if valid.size:
            chars = np.empty((valid.size, N_DIMENSIONS * 4 + 1), dtype=np.uint8)
            chars[:, 0] = ord("[")
            chars[:, 1:] = _TOKENS[self.codes].reshape(valid.size, -1)
            chars[:, -1] = ord("]")
            text = chars.tobytes().decode("ascii")
            width = chars.shape[1]
            for j, i in enumerate(valid.tolist()):
                self.code_row[i] = j
                self.dir_json[i] = text[j * width:(j + 1) * width]

    def direction(self, i: int) -> tuple[float, ...] | None:
        j = self.code_row[i]
        return None if j is None else tuple((self.codes[j] / 2).tolist())

    def key(self, i: int) -> tuple:
        ts = self.ts[i]
        return (self.kind[i], self.post[i] or "", self.comment[i] or "", self.chosen[i] or "",
                self.rejected[i] or "", self.text[i] or "", self.dir_json[i] or "", -1 << 62 if ts is None else ts)


@dataclass
class _Target:
    event: int
    ugc: list[int]
    pairs: list[int]


@dataclass
class _UserPlan:
    user_id: str
    split: str
    demographic: str | None
    targets: list[_Target]
    comments: list[int]
    pairs: list[int]


# ---------------------------------------------------------------- the build


def build_dataset(events: pa.Table, folder: Path, options: BuildOptions, *, source: str = "",
                  annotation: Annotation | None = None, progress: bool = False) -> dict[str, Any]:
    """Write `folder/train.*`, `folder/test.*` (a split without records has no file) and `folder/stats.json`
    from the checked event table `events`; returns the stats."""
    stats = Stats(events_read=events.num_rows)
    stats.events_by_kind.update({item["values"].as_py(): item["counts"].as_py()
                                 for item in pc.value_counts(events["kind"])})
    events = events.sort_by(USER_ID)
    n = events.num_rows
    user_ids = events[USER_ID].combine_chunks()
    if n > 1:
        changes = pc.not_equal(user_ids.slice(1), user_ids.slice(0, n - 1)).to_numpy(zero_copy_only=False)
        starts = np.concatenate([[0], np.flatnonzero(changes) + 1]).astype(np.int64)
    else:
        starts = np.zeros(n, dtype=np.int64)
    bounds = np.append(starts, n)
    stats.users_seen = len(starts)
    slow = options.format == "parquet" or (annotation is not None and (annotation.directions or annotation.describe))
    writer = Writer(folder, options.format)
    try:
        with ProgressBar("building", stats.users_seen, unit="users", enabled=progress) as bar:
            first = 0
            while first < len(starts):
                last = int(np.searchsorted(bounds, bounds[first] + BATCH_EVENTS, side="right")) - 1
                last = max(last, first + 1)  # at least one user per batch
                lo, hi = int(bounds[first]), int(bounds[last])
                batch = _Batch(events.slice(lo, hi - lo))
                plans = []
                for u in range(first, last):
                    a, b = int(bounds[u]) - lo, int(bounds[u + 1]) - lo
                    plan = _plan_user(user_ids[int(bounds[u])].as_py(), batch, range(a, b), options, stats)
                    if plan is not None:
                        plans.append(plan)
                if slow:
                    _write_slow(plans, batch, writer, stats, annotation)
                else:
                    _write_fast(plans, batch, writer, stats)
                bar.advance(last - first)
                first = last
    finally:
        writer.close()
    result = stats.to_dict(dataclasses.asdict(options), source)
    (folder / STATS_FILE).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def _plan_user(user_id: str, batch: _Batch, indices: range, options: BuildOptions, stats: Stats) -> _UserPlan | None:
    keyed = sorted([(batch.key(i), i) for i in indices])
    unique, previous = [], None
    for key, i in keyed:
        if key == previous:
            stats.duplicates_dropped += 1
            continue
        unique.append(i)
        previous = key
    if options.user is None and len(unique) < options.min_items:
        stats.users_skipped += 1
        stats.events_in_skipped_users += len(unique)
        return None
    kind, post = batch.kind, batch.post
    comments = [i for i in unique if kind[i] == "comment"]
    pairs = [i for i in unique if kind[i] == "pair"]
    demographics = [i for i in unique if kind[i] == "demographic"]
    if not pairs:
        stats.users_without_pairs += 1
        return None
    demographic = None
    if demographics:
        latest = max(demographics, key=lambda i: (-1 << 62 if batch.ts[i] is None else batch.ts[i], batch.row[i]))
        demographic = batch.text[latest]
    split = TEST if in_test_split(user_id, options.seed, options.test_fraction) else TRAIN
    draw = random.Random(f"{options.seed}:{user_id}").random
    k = options.max_items
    targets = []
    for t in pairs:
        where = post[t]
        ugc = [i for i in comments if post[i] != where]
        others = [i for i in pairs if post[i] != where]
        targets.append(_Target(t, _sample(ugc, k, draw), _sample(others, k, draw)))
    return _UserPlan(user_id, split, demographic, targets, comments, pairs)


def _sample(pool: list[int], k: int, draw: Callable[[], float]) -> list[int]:
    """`k` items of `pool` drawn without replacement (a partial Fisher-Yates shuffle), or all of them when there
    are no more than `k`; `pool` is shuffled in place."""
    n = len(pool)
    if n <= k:
        return pool
    for j in range(k):
        r = j + int(draw() * (n - j))
        pool[j], pool[r] = pool[r], pool[j]
    return pool[:k]


def _count_plan(plan: _UserPlan, stats: Stats) -> None:
    stats.users[plan.split] += 1
    stats.records[plan.split] += len(plan.targets)
    for target in plan.targets:
        stats.ugc_sizes[len(target.ugc)] += 1
        stats.pair_sizes[len(target.pairs)] += 1


def _write_fast(plans: list[_UserPlan], batch: _Batch, writer: Writer, stats: Stats) -> None:
    """JSONL from pieces: each event's JSON is made once per batch and joined into the records that use it."""
    post, dirs = batch.post, batch.dir_json
    covered: list[int] = []
    for plan in plans:
        _count_plan(plan, stats)
        comment_json = {}
        for i in plan.comments:
            d = dirs[i]
            comment_json[i] = ('{"prompt":' + _encode(post[i]) + ',"comment":' + _encode(batch.comment[i])
                               + ('' if d is None else ',"Preference Direction":' + d) + '}')
        core = {}
        for i in plan.pairs:
            d = dirs[i]
            core[i] = ('"prompt":' + _encode(post[i]) + ',"chosen":' + _encode(batch.chosen[i]) + ',"rejected":'
                       + _encode(batch.rejected[i]) + ('' if d is None else ',"Preference Direction":' + d))
        tail = ',"user_id":' + _encode(plan.user_id) + '}\n'
        demographic = '' if plan.demographic is None else ',"Demographic Information":' + _encode(plan.demographic)
        lines = []
        for target in plan.targets:
            t = target.event
            parts = ['{', core[t], demographic]
            if target.ugc:
                parts += [',"User-Generated Content":[', ','.join([comment_json[i] for i in target.ugc]), ']']
            if target.pairs:
                parts += [',"Pair-wise Comparative Feedback":[{', '},{'.join([core[i] for i in target.pairs]), '}]']
            parts.append(tail)
            lines.append(''.join(parts))
            if dirs[t] is None:
                stats.without_direction += 1
            else:
                covered.append(batch.code_row[t])
            for i in (*target.ugc, *target.pairs):
                if dirs[i] is None:
                    stats.items_without_direction += 1
                else:
                    stats.items_with_direction += 1
        if plan.demographic is not None:
            stats.with_demographic += len(plan.targets)
        writer.write_lines(plan.split, lines)
    stats.with_direction += len(covered)
    if covered:
        stats.coverage += (batch.codes[np.asarray(covered)] != 1).sum(axis=0)


def _write_slow(plans: list[_UserPlan], batch: _Batch, writer: Writer, stats: Stats,
                annotation: Annotation | None) -> None:
    """Records as `Record` objects: annotated (directions, descriptions) a chunk at a time, then written."""
    comment_of: dict[int, Comment] = {}
    choice_of: dict[int, Choice] = {}

    def comment(i: int) -> Comment:
        if i not in comment_of:
            comment_of[i] = Comment(batch.post[i], batch.comment[i], batch.direction(i))
        return comment_of[i]

    def choice(i: int) -> Choice:
        if i not in choice_of:
            choice_of[i] = Choice(batch.post[i], batch.chosen[i], batch.rejected[i], batch.direction(i))
        return choice_of[i]

    if annotation is not None and annotation.describe is not None:
        wanting = [plan for plan in plans if plan.demographic is None and (plan.comments or len(plan.pairs) > 1)]
        for start in range(0, len(wanting), CHUNK_RECORDS):
            chunk = wanting[start:start + CHUNK_RECORDS]
            history = [Record(prompt="(user)", chosen="-", rejected="-",
                              ugc=tuple(comment(i) for i in plan.comments), pairs=tuple(choice(i) for i in plan.pairs))
                       for plan in chunk]
            for plan, text in zip(chunk, annotation.describe(history), strict=True):
                plan.demographic = text or None
    pending: list[tuple[str, Record]] = []

    def flush() -> None:
        records = [record for _, record in pending]
        if annotation is not None and annotation.directions is not None:
            records = annotation.directions(records)
        for record in records:
            count_record(record, stats)
        writer.write_records([(split, record) for (split, _), record in zip(pending, records, strict=True)])
        pending.clear()

    for plan in plans:
        _count_plan(plan, stats)
        for target in plan.targets:
            t = choice(target.event)
            pending.append((plan.split, Record(
                prompt=t.prompt, chosen=t.chosen, rejected=t.rejected, direction=t.direction,
                demographic=plan.demographic, ugc=tuple(comment(i) for i in target.ugc),
                pairs=tuple(choice(i) for i in target.pairs), extra={USER_ID: plan.user_id})))
            if len(pending) >= CHUNK_RECORDS:
                flush()
    if pending:
        flush()


