"""`alignx serve` replicas as real processes on one database, and the fault drill run on them: a burst of writes
spread over the replicas, one replica SIGKILLed mid-burst, the unanswered writes retried with their idempotency keys
on a survivor, the dead replica restarted, then the database counted. Used by tests/test_serve_replicas.py (which
asserts the counts) and benchmarks/serve_load.py --replicas (which prints them with the timings)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from alignx.serve.memory import EventKind
from alignx.serve.store import MemoryStore

START_TIMEOUT = 300.0
ONE_THREAD = {"OMP_NUM_THREADS": "1"}  # replicas and client share the machine's cores


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Replica:
    """`alignx serve OPTIONS` on `db` in a subprocess (its output appended to `log`), ready (answering /healthz)
    when constructed; `startup_s` is how long that took."""

    def __init__(self, db: str, admin: str, log: Path, *options: str, env: dict[str, str] | None = None):
        self.db, self.admin, self.log_path, self.options, self.env = db, admin, log, options, env
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        args = [sys.executable, "-m", "alignx", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                "--db", db, "--log-level", "warning", *options]
        self.log = log.open("ab")
        started = time.perf_counter()
        self.proc = subprocess.Popen(args, env={**os.environ, **(env or {}), "ALIGNX_ADMIN_TOKEN": admin},
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.close()
                raise RuntimeError(f"alignx serve exited with {self.proc.returncode}: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    self.startup_s = time.perf_counter() - started
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"alignx serve did not answer /healthz within {START_TIMEOUT:.0f} s; see {log}")

    def restarted(self) -> Replica:
        """A new process with the same settings (what a supervisor does after a crash)."""
        return Replica(self.db, self.admin, self.log_path, *self.options, env=self.env)

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, in-flight requests get no answer."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def new_user(base: str, admin: str, name: str) -> tuple[str, str]:
    """(user id, API key) of a new user."""
    body = httpx.post(f"{base}/v1/users", json={"name": name}, headers={"Authorization": f"Bearer {admin}"},
                      timeout=60).json()
    return body["user_id"], body["api_key"]


def write(i: int, *, direction: bool) -> tuple[dict, str]:
    """Write `i` of a burst: (a feedback body, its idempotency key); with `direction`, one the client sends."""
    body = {"prompt": f"write {i}", "chosen": "short answer", "rejected": "a long answer"}
    if direction:
        d = [0.5] * 90
        d[16] = float(i % 2)
        body["direction"] = d
    return body, f"write-{i}"


@dataclass
class Burst:
    acknowledged: dict[int, int] = field(default_factory=dict)  # write -> the event id its 2xx answer gave
    unanswered: list[int] = field(default_factory=list)  # writes whose request got no answer
    latencies: list[float] = field(default_factory=list)  # of the answered writes, seconds
    seconds: float = 0.0
    killed_after: int | None = None  # acknowledged writes when the victim was killed


def burst(replicas: list[Replica], user: str, key: str, writes: int, *, concurrency: int = 16,
          victim: Replica | None = None, kill_after: int = 0, direction: bool = True) -> Burst:
    """`writes` feedback posts, write i to replica i mod len(replicas), `concurrency` at a time; `victim` is
    SIGKILLed once `kill_after` writes have been acknowledged."""
    out, lock = Burst(), threading.Lock()
    clients = [httpx.Client(base_url=r.base, headers={"Authorization": f"Bearer {key}"}, timeout=60,
                            limits=httpx.Limits(max_connections=concurrency)) for r in replicas]

    def post(i: int) -> None:
        body, idempotency_key = write(i, direction=direction)
        started = time.perf_counter()
        try:
            response = clients[i % len(clients)].post(f"/v1/users/{user}/feedback", json=body,
                                                      headers={"Idempotency-Key": idempotency_key})
        except httpx.TransportError:
            with lock:
                out.unanswered.append(i)
            return
        if response.status_code not in (200, 201):
            raise RuntimeError(f"write {i}: {response.status_code} {response.text}")
        with lock:
            out.latencies.append(time.perf_counter() - started)
            out.acknowledged[i] = response.json()["event"]["id"]
            kill = victim is not None and out.killed_after is None and len(out.acknowledged) >= kill_after
            if kill:
                out.killed_after = len(out.acknowledged)
        if kill:
            victim.kill()

    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(post, range(writes)))
    finally:
        for client in clients:
            client.close()
    out.seconds = time.perf_counter() - started
    return out


@dataclass
class DrillCounts:
    writes: int
    acknowledged: int
    killed_after: int | None
    acknowledged_stored_once: int
    acknowledged_lost: int
    acknowledged_duplicated: int
    unanswered: int
    retried_replayed: int  # retries answered 200: the dead replica had stored the write before dying
    retried_stored_once: int
    retried_duplicated: int
    raw_events: int
    raw_without_one_inferred: int  # raw events with no inferred event, or more than one
    inferred_for_nothing: int  # inferred events whose raw event is not among the writes

    def lines(self) -> list[str]:
        return [
            f"{self.writes} writes, {self.acknowledged} acknowledged (2xx) before the retries, one replica SIGKILLed "
            f"after {self.killed_after} acknowledgements",
            f"acknowledged writes: {self.acknowledged_stored_once} stored exactly once, {self.acknowledged_lost} lost, "
            f"{self.acknowledged_duplicated} duplicated",
            f"unanswered writes retried on a survivor with their Idempotency-Key: {self.unanswered} "
            f"({self.retried_replayed} had been stored by the dead replica and were replayed); "
            f"{self.retried_stored_once} stored exactly once, {self.retried_duplicated} duplicated",
            f"raw events: {self.raw_events}; with other than exactly one inferred event: "
            f"{self.raw_without_one_inferred}; inferred events explaining no write: {self.inferred_for_nothing}",
        ]


def retry(replica: Replica, user: str, key: str, writes: list[int], *, direction: bool) -> dict[int, tuple[int, int]]:
    """Each write again on `replica` with its idempotency key: write -> (status, event id)."""
    out = {}
    with httpx.Client(base_url=replica.base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as http:
        for i in writes:
            body, idempotency_key = write(i, direction=direction)
            response = http.post(f"/v1/users/{user}/feedback", json=body, headers={"Idempotency-Key": idempotency_key})
            if response.status_code not in (200, 201):
                raise RuntimeError(f"retry of write {i}: {response.status_code} {response.text}")
            out[i] = (response.status_code, response.json()["event"]["id"])
    return out


def wait_until_explained(db: str, user: str, timeout: float) -> None:
    """Until every raw event of `user` that needs a direction has an inferred event, or `timeout` seconds."""
    store = MemoryStore(db)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = store.events(user)
            explained = {e.data["explains"] for e in events if e.kind is EventKind.INFERRED}
            if all(e.id in explained for e in events if e.needs_inference):
                return
            time.sleep(0.5)
        raise TimeoutError(f"raw events still without an inferred event after {timeout:.0f} s")
    finally:
        store.close()


def count(db: str, user: str, writes: int, result: Burst, retried: dict[int, tuple[int, int]]) -> DrillCounts:
    """What the database holds of the burst, against what the clients were told."""
    store = MemoryStore(db)
    try:
        events = store.events(user)
    finally:
        store.close()
    raw = [e for e in events if e.kind is EventKind.FEEDBACK]
    stored = Counter(e.data["prompt"] for e in raw)
    ids = {e.data["prompt"]: e.id for e in raw}
    explained = Counter(e.data["explains"] for e in events if e.kind is EventKind.INFERRED)
    acked = result.acknowledged

    def once(i: int, event_id: int) -> bool:
        return stored[f"write {i}"] == 1 and ids[f"write {i}"] == event_id

    needs = [e for e in raw if e.needs_inference]
    needing = {e.id for e in needs}
    return DrillCounts(
        writes=writes, acknowledged=len(acked), killed_after=result.killed_after,
        acknowledged_stored_once=sum(once(i, event_id) for i, event_id in acked.items()),
        acknowledged_lost=sum(stored[f"write {i}"] == 0 for i in acked),
        acknowledged_duplicated=sum(stored[f"write {i}"] > 1 for i in acked),
        unanswered=len(result.unanswered),
        retried_replayed=sum(status == 200 for status, _ in retried.values()),
        retried_stored_once=sum(once(i, event_id) for i, (_, event_id) in retried.items()),
        retried_duplicated=sum(stored[f"write {i}"] > 1 for i in retried),
        raw_events=len(raw),
        raw_without_one_inferred=sum(explained[e.id] != 1 for e in needs),
        inferred_for_nothing=sum(n for event_id, n in explained.items() if event_id not in needing),
    )


def kill_drill(db: str, admin: str, log: Path, *, writes: int, options: tuple[str, ...], direction: bool = False,
               explain_timeout: float = 180.0) -> DrillCounts:
    """Two replicas on `db`, a burst of `writes` over both, the second SIGKILLed after a third of them are
    acknowledged; the unanswered ones retried on the first, the second restarted, the annotators left to finish."""
    options = ("--no-chat", *options)
    first = Replica(db, admin, log, *options, env=ONE_THREAD)
    second = Replica(db, admin, log, *options, env=ONE_THREAD)
    restarted = None
    try:
        user, key = new_user(first.base, admin, "drill")
        result = burst([first, second], user, key, writes, victim=second, kill_after=writes // 3,
                       direction=direction)
        retried = retry(first, user, key, sorted(result.unanswered), direction=direction)
        restarted = second.restarted()
        wait_until_explained(db, user, explain_timeout)
        return count(db, user, writes, result, retried)
    finally:
        for replica in (first, second, restarted):
            if replica is not None:
                replica.stop()
