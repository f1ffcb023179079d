"""Background inference: an annotator derives the direction of feedback and content sent without one.

The POST stores the raw event as sent and hands it to `InferenceWorker.submit`, which only queues it:
a write never waits on a model. One worker thread owns the annotator (backends need not be
thread-safe), takes whatever is queued as one batch, claims it in the database, and stores an
`inferred` event per answer, naming the annotator and the event it explains.

Replicas sharing a database each run a worker. A claim lasts `claim_seconds`; an event another live
worker has claimed is skipped, and when a replica dies its claims run out and the others take the
events over: each worker queues, at start and whenever it has been idle for a quarter of the claim
time, every raw event that no inferred event explains and no live claim holds. Were a slow answer to
outlive its claim, the database's unique index still keeps one explanation per event. A failed answer
stores nothing and is logged; its claim is left to run out, so it is tried again after `claim_seconds`.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import uuid
from collections.abc import Sequence

from alignx.annotate.base import Annotator, Item, annotate_all
from alignx.records import Choice, Comment
from alignx.serve.config import CLAIM_SECONDS
from alignx.serve.memory import Event, EventKind
from alignx.serve.store import MemoryStore
from alignx.space import direction_problem

log = logging.getLogger("alignx.serve.inference")

MAX_BATCH = 32
MIN_RESCAN_SECONDS = 0.5
_STOP = object()


def item_of(event: Event) -> Item:
    """The annotator's item for a feedback (a choice) or content (a comment) event."""
    if event.kind is EventKind.CONTENT:
        return Comment(event.data["prompt"], event.data["comment"])
    return Choice(event.data["prompt"], event.data["chosen"], event.data["rejected"])


class InferenceWorker:
    """A queue of raw events and one thread annotating them with `annotator` into `store`."""

    def __init__(self, annotator: Annotator, store: MemoryStore, *, max_batch: int = MAX_BATCH,
                 claim_seconds: float = CLAIM_SECONDS):
        self.annotator = annotator
        self.store = store
        self.max_batch = max_batch
        self.claim_seconds = claim_seconds
        self.rescan_seconds = max(claim_seconds / 4, MIN_RESCAN_SECONDS)
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"  # this worker, in its claims
        self._queue: queue.Queue = queue.Queue()
        self._stopping = threading.Event()
        self._unfinished: set[int] = set()  # ids of the events queued or in hand
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def spec(self) -> str:
        return self.annotator.spec

    def start(self) -> int:
        """Queue the raw events a previous run (or a replica that died) left unexplained, then start the thread;
        how many were queued."""
        queued = self._rescan()
        if queued:
            log.info("annotator %s: resuming %d raw events without an inferred direction", self.spec, queued)
        self._thread = threading.Thread(target=self._run, name="alignx-inference", daemon=True)
        self._thread.start()
        return queued

    def _rescan(self) -> int:
        """Queue the unexplained, unclaimed raw events not queued here already; how many."""
        return sum(self._put(event) for event in self.store.pending_inference())

    def submit(self, event: Event) -> bool:
        """Queue `event` if it needs inference (feedback or content sent without a direction); never blocks."""
        if not event.needs_inference or self._stopping.is_set():
            return False
        self._put(event)
        return True

    def pending(self) -> int:
        """Events queued or being annotated now."""
        with self._lock:
            return len(self._unfinished)

    def _put(self, event: Event) -> bool:
        with self._lock:
            if event.id in self._unfinished:
                return False
            self._unfinished.add(event.id)
        self._queue.put(event)
        return True

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in hand and stop; what is still queued is picked up at the next start."""
        self._stopping.set()
        self._queue.put(_STOP)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("annotator %s: still annotating after %.0f s at shutdown; leaving it", self.spec,
                            timeout)

    # ------------------------------------------------------------ the thread

    def _take(self) -> list[Event] | None:
        """The next batch: wait for one event (rescanning the database while idle), then take whatever else is
        queued; None to stop."""
        while True:
            try:
                first = self._queue.get(timeout=self.rescan_seconds)
                break
            except queue.Empty:
                try:
                    self._rescan()
                except Exception as exc:  # a lost database: say so, keep waiting
                    log.warning("annotator %s: cannot look for pending events: %s", self.spec,
                                f"{type(exc).__name__}: {exc}")
        if first is _STOP or self._stopping.is_set():
            return None
        batch = [first]
        while len(batch) < self.max_batch:
            try:
                event = self._queue.get_nowait()
            except queue.Empty:
                break
            if event is _STOP:
                self._queue.put(_STOP)  # stop after this batch
                break
            batch.append(event)
        return batch

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            try:
                self._annotate(batch)
            except Exception:  # a bug or a lost database: log it, keep serving; the events resume at next start
                log.exception("annotator %s: failed on events %s", self.spec, [e.id for e in batch])
            finally:
                with self._lock:
                    self._unfinished.difference_update(e.id for e in batch)

    def _annotate(self, batch: Sequence[Event]) -> None:
        batch = self.store.claim(batch, self.name, self.claim_seconds)  # the others are explained or in hand
        if not batch:
            return
        try:
            answers = annotate_all(self.annotator, [item_of(e) for e in batch])
        except Exception as exc:  # the backend failed as a whole (unreachable, crashed): nothing is stored
            log.warning("annotator %s: no directions for events %s: %s", self.spec, [e.id for e in batch],
                        f"{type(exc).__name__}: {exc}")
            return
        for event, answer in zip(batch, answers, strict=True):
            problem = (answer.error or "no answer") if answer.direction is None else direction_problem(answer.direction)
            if problem is not None:
                log.warning("annotator %s: no direction for event %d: %s", self.spec, event.id, problem)
                continue
            stored = self.store.append_inferred(event, self.spec, answer.direction, answer.confidence)
            if stored is not None:
                log.debug("annotator %s: event %d explains event %d", self.spec, stored.id, event.id)
