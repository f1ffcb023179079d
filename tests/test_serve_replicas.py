"""Replicas of `alignx serve` as real processes on one PostgreSQL (the tests' private cluster): the kill test (one of
two replicas SIGKILLed mid-burst: nothing acknowledged lost, nothing retried stored twice, every raw event explained
exactly once by the local annotator) and `--workers 2` (two uvicorn processes on one port, every write kept once)."""

import secrets
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from replicas import ONE_THREAD, Replica, burst, count, kill_drill, new_user

pytestmark = pytest.mark.slow  # subprocesses, PostgreSQL

WRITES = 240


def test_a_replica_killed_mid_burst_loses_nothing_acknowledged_and_duplicates_nothing(postgres, tiny_inferencer,
                                                                                     tmp_path):
    counts = kill_drill(postgres.new_database(), secrets.token_urlsafe(16), tmp_path / "replicas.log", writes=WRITES,
                        options=("--annotator", f"local:{tiny_inferencer}", "--claim-seconds", "2"))
    print("\n".join(counts.lines()))
    # The kill happened mid-burst: some writes were acknowledged before it, some went unanswered after it.
    assert counts.killed_after is not None and 0 < counts.killed_after < WRITES and counts.unanswered > 0
    assert counts.acknowledged + counts.unanswered == WRITES
    assert counts.acknowledged_stored_once == counts.acknowledged
    assert counts.acknowledged_lost == counts.acknowledged_duplicated == 0
    assert counts.retried_stored_once == counts.unanswered and counts.retried_duplicated == 0
    assert counts.raw_events == WRITES  # every write, once
    assert counts.raw_without_one_inferred == 0 and counts.inferred_for_nothing == 0


def test_workers_serve_one_port_from_several_processes_and_keep_every_write_once(postgres, tmp_path):
    db, admin = postgres.new_database(), secrets.token_urlsafe(16)
    server = Replica(db, admin, tmp_path / "workers.log", "--no-chat", "--workers", "2", env=ONE_THREAD)
    try:
        def process(_) -> int:
            with httpx.Client(base_url=server.base) as http:  # a new connection each time
                return http.get("/healthz").json()["process"]

        with ThreadPoolExecutor(8) as pool:
            processes = set(pool.map(process, range(200)))
        assert len(processes) == 2 and server.proc.pid not in processes  # two workers, the parent only supervises
        user, key = new_user(server.base, admin, "ann")
        result = burst([server], user, key, 100)
        assert len(result.acknowledged) == 100 and not result.unanswered
        counts = count(db, user, 100, result, {})
        assert counts.acknowledged_stored_once == counts.raw_events == 100
    finally:
        server.stop()
