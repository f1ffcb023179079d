"""`alignx annotate DATA`: fill missing directions through the openai backend (a real HTTP server on 127.0.0.1),
the answer cache, resuming after a kill or a failure, --reannotate, --describe and the one-line errors."""

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing

import pytest
from conftest import free_port, make_direction, make_record
from fake_openai import GOOD, MODEL, FakeServer, answer
from typer.testing import CliRunner

from alignx.cli import app
from alignx.personas import record_profile
from alignx.records import load_records
from alignx.space import dimension

runner = CliRunner()
INFERRED = make_direction(d3=1.0, d17=0.0)  # what GOOD says


def unlabelled(n, *, keep_main=False):
    """n records (distinct main posts, shared history items) with every direction removed."""
    rows = []
    for i in range(n):
        row = make_record(i)
        if not keep_main:
            del row["Preference Direction"]
        for item in row["User-Generated Content"] + row["Pair-wise Comparative Feedback"]:
            del item["Preference Direction"]
        rows.append(row)
    return rows


def directions(record):
    return [record.direction, *(c.direction for c in record.ugc), *(p.direction for p in record.pairs)]


@pytest.fixture
def server():
    with FakeServer() as s:
        yield s


def annotate(server, data, out, cache, *extra):
    args = ["annotate", "--data", str(data), "--annotator", f"openai:{MODEL}", "--annotator-url", server.url,
            "--output", str(out), "--cache", str(cache), "--no-progress", "--annotator-workers", "2", *extra]
    return runner.invoke(app, args)


def test_fills_every_missing_direction_once_per_distinct_item(tmp_path, write_jsonl, server):
    data = write_jsonl(unlabelled(4, keep_main=True))
    out, cache = tmp_path / "out.jsonl", tmp_path / "cache.sqlite"
    result = annotate(server, data, out, cache)
    assert result.exit_code == 0, result.output
    records = load_records(out)
    assert len(records) == 4
    for record in records:
        assert record.direction == tuple(make_direction(d16=1.0))  # present: kept
        assert all(d == tuple(INFERRED) for d in directions(record)[1:])
    assert len(server.requests) == 3  # two UGC and one PAIR item, shared by all records
    assert record_profile(records[0]) == f"{dimension(3).positive}, {dimension(17).negative}"  # PBA reads them now
    assert "3 distinct to fill: 0 from the cache, 3 annotated" in result.output

    again = annotate(server, data, tmp_path / "again.jsonl", cache)
    assert again.exit_code == 0, again.output
    assert len(server.requests) == 3 and "3 from the cache, 0 annotated" in again.output
    assert load_records(tmp_path / "again.jsonl") == records

    overwritten = annotate(server, data, tmp_path / "over.parquet", cache, "--reannotate")
    assert overwritten.exit_code == 0, overwritten.output
    assert len(server.requests) == 3 + 4  # only the four main choices are new
    assert all(r.direction == tuple(INFERRED) for r in load_records(tmp_path / "over.parquet"))


def test_failed_items_keep_no_direction_are_reported_and_asked_again(tmp_path, write_jsonl, server):
    data = write_jsonl(unlabelled(1))
    server.default = answer("I think this user likes cats.")
    out, cache = tmp_path / "out.json", tmp_path / "cache.sqlite"
    result = annotate(server, data, out, cache, "--annotator-retries", "0")
    assert result.exit_code == 0, result.output
    assert "4 failed" in result.output and "not JSON" in result.output
    [record] = load_records(out)
    assert directions(record) == [None] * 4  # never a silent neutral
    server.default = answer(GOOD)
    resumed = annotate(server, data, out, cache)  # the same settings: the output is continued
    assert resumed.exit_code == 0 and f"resuming {out}" in resumed.output
    assert len(server.requests) == 8
    assert directions(load_records(out)[0]) == [tuple(INFERRED)] * 4
    assert annotate(server, data, out, cache).exit_code == 0 and len(server.requests) == 8  # nothing left to ask
    other = annotate(server, data, out, cache, "--limit", "1")
    assert other.exit_code == 2 and "with other settings; pass --overwrite" in other.output


def test_describe_writes_missing_demographics_only(tmp_path, write_jsonl, server):
    rows = unlabelled(2)
    del rows[0]["Demographic Information"]
    data = write_jsonl(rows)
    server.default = answer("A practical person who prefers short answers.")
    out = tmp_path / "out.jsonl"
    result = annotate(server, data, out, tmp_path / "cache.sqlite", "--describe", "--limit", "2")
    assert result.exit_code == 0, result.output
    first, second = load_records(out)
    assert first.demographic == "A practical person who prefers short answers."
    assert second.demographic == rows[1]["Demographic Information"]
    assert "descriptions: 1 written" in result.output


def stored_answers(cache) -> int:
    """How many answers the cache file holds (0 before the child made it)."""
    if not cache.exists():
        return 0
    with closing(sqlite3.connect(cache, timeout=30)) as db:
        try:
            return db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
        except sqlite3.OperationalError:  # the table is not there yet
            return 0


def test_resume_after_kill_asks_only_for_unanswered_items(tmp_path, write_jsonl, server):
    """Killed (SIGKILL) halfway, a rerun asks the server only for the items whose answers were not stored."""
    n = 30
    data = write_jsonl(unlabelled(n))  # 30 main choices + 3 shared history items
    distinct = n + 3
    half = distinct // 2
    # The first half is answered; every later request is held until the child has been killed.
    killed = threading.Event()
    server.respond = lambda body: answer(GOOD, hold=killed) if len(server.requests) > half else None
    out, cache = tmp_path / "out.jsonl", tmp_path / "cache.sqlite"
    args = [sys.executable, "-m", "alignx", "annotate", "--data", str(data), "--annotator", f"openai:{MODEL}",
            "--annotator-url", server.url, "--output", str(out), "--cache", str(cache), "--no-progress",
            "--annotator-workers", "1"]
    child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        # Until the child is stuck on its first held request with the answers it got committed (the deadline
        # only bounds a hang: a child that never commits as it goes fails here).
        deadline = time.monotonic() + 120
        while not (len(server.requests) > half and stored_answers(cache) >= half):
            assert time.monotonic() < deadline and child.poll() is None, (len(server.requests), stored_answers(cache))
            time.sleep(0.01)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        killed.set()
    server.respond = None
    asked_first = len(server.requests)
    assert distinct // 2 <= asked_first < distinct and not out.exists()
    stored = stored_answers(cache)
    assert asked_first - 1 <= stored <= asked_first  # at most the request in flight was lost

    server.default = answer(GOOD)
    result = annotate(server, data, out, cache, "--annotator-workers", "1")
    assert result.exit_code == 0, result.output
    assert len(server.requests) - asked_first == distinct - stored
    assert f"{stored} from the cache, {distinct - stored} annotated" in result.output
    assert all(d == tuple(INFERRED) for r in load_records(out) for d in directions(r))


@pytest.mark.slow  # loads torch for the local backend; a connection refused with retries
def test_backend_errors_are_one_line_and_keep_existing_output(tmp_path, write_jsonl):
    data = write_jsonl(unlabelled(1))
    out = tmp_path / "out.jsonl"
    out.write_text("precious\n")
    cases = [
        (["--annotator", f"local:{tmp_path / 'nowhere'}"], "local:"),
        (["--annotator", f"local:{tmp_path}"], "not an inferencer folder"),
        (["--annotator", "openai:m", "--annotator-url", f"http://127.0.0.1:{free_port()}/v1"], "cannot reach"),
        (["--annotator", "nonsense"], "--annotator 'nonsense'"),
        ([], "--annotator is required"),
    ]
    for options, expected in cases:
        result = runner.invoke(app, ["annotate", "--data", str(data), "--output", str(out), "--overwrite", "--no-progress",
                                     *options])
        assert result.exit_code == 2, (options, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], (options, result.output)
    assert out.read_text() == "precious\n"


def test_describe_with_a_local_inferencer_is_refused_before_any_work(tmp_path, write_jsonl, tiny_inferencer):
    data = write_jsonl(unlabelled(1))
    result = runner.invoke(app, ["annotate", "--data", str(data), "--annotator", f"local:{tiny_inferencer}", "--describe",
                                 "--output", str(tmp_path / "out.jsonl"), "--cache", str(tmp_path / "c.sqlite")])
    assert result.exit_code == 2
    assert "cannot write demographic text" in result.output and not (tmp_path / "out.jsonl").exists()


def test_output_must_be_a_record_file(tmp_path, write_jsonl):
    result = runner.invoke(app, ["annotate", "--data", str(write_jsonl(unlabelled(1))), "--annotator", "openai:m",
                                 "--output", str(tmp_path / "out.txt")])
    assert result.exit_code == 2 and "--output" in result.output
