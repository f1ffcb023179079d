"""alignx build: events in, an AlignX dataset folder out; personas never on the target's post, no user on both
sides, sizes as asked, deterministic whatever the row order, duplicates and small users counted, bad input in
one line with the output untouched."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import random
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import make_direction
from typer.testing import CliRunner

from alignx.cli import app
from alignx.records import load_records, validate

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
UGC, PAIR = "User-Generated Content", "Pair-wise Comparative Feedback"


def generator():
    spec = importlib.util.spec_from_file_location("generate_events", ROOT / "tools" / "generate_events.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def log(tmp_path_factory) -> Path:
    """600 events of 30 users over 25 posts (a user meets a post twice), no duplicates, JSONL."""
    gen = generator()
    columns, _ = gen.generate(600, 30, seed=3, posts=25, duplicate_rate=0.0)
    path = tmp_path_factory.mktemp("events") / "events.jsonl"
    gen.write_events(columns, path)
    return path


def build(*args: str):
    result = runner.invoke(app, ["build", *map(str, args), "--no-progress"])
    return result


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
            if p.name != "stats.json"}


@pytest.mark.slow  # loads the output with datasets
def test_records_are_valid_and_load_with_datasets(log, tmp_path):
    out = tmp_path / "ds"
    result = build("--events", log, "-o", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["stats.json", "test.jsonl", "train.jsonl"]
    for split in ("train", "test"):
        checked = list(validate(out, split))
        assert checked and all(error is None for _, error in checked)
    import datasets

    loaded = datasets.load_dataset("json", data_files={s: str(out / f"{s}.jsonl") for s in ("train", "test")})
    stats = json.loads((out / "stats.json").read_text())
    assert loaded["train"].num_rows == stats["records"]["train"] and loaded["test"].num_rows == stats["records"]["test"]
    assert "user_id" in loaded["train"].column_names
    assert runner.invoke(app, ["validate", "--data", str(out), "--split", "train"]).exit_code == 0


def test_personas_never_on_the_target_post_sizes_as_asked_and_users_on_one_side(log, tmp_path):
    out = tmp_path / "ds"
    assert build("--events", log, "-o", out, "--max-items", 3, "--test-fraction", 0.3).exit_code == 0
    events = read_jsonl(log)
    comments, pairs = defaultdict(set), defaultdict(set)
    for e in events:
        if e["kind"] == "comment":
            comments[e["user_id"]].add((e["post"], e["comment"]))
        elif e["kind"] == "pair":
            pairs[e["user_id"]].add((e["post"], e["chosen"], e["rejected"]))
    users = {}
    same_post_seen = False
    for split in ("train", "test"):
        for record in read_jsonl(out / f"{split}.jsonl"):
            user = record["user_id"]
            assert users.setdefault(user, split) == split  # no user on both sides
            ugc, chosen = record.get(UGC, []), record.get(PAIR, [])
            assert all(item["prompt"] != record["prompt"] for item in ugc + chosen)
            ugc_pool = {c for c in comments[user] if c[0] != record["prompt"]}
            pair_pool = {p for p in pairs[user] if p[0] != record["prompt"]}
            same_post_seen |= len(ugc_pool) < len(comments[user])
            assert len(ugc) == min(3, len(ugc_pool)) and len(chosen) == min(3, len(pair_pool))
            assert {(i["prompt"], i["comment"]) for i in ugc} <= ugc_pool
            assert {(i["prompt"], i["chosen"], i["rejected"]) for i in chosen} <= pair_pool
    assert same_post_seen  # the rule was exercised
    assert {"train", "test"} == set(users.values())
    stats = json.loads((out / "stats.json").read_text())
    assert max(int(k) for k in stats["persona_sizes"][UGC]) == 3


def test_deterministic_and_independent_of_row_order(log, tmp_path):
    lines = log.read_text().splitlines(keepends=True)
    random.Random(1).shuffle(lines)
    shuffled = tmp_path / "shuffled.jsonl"
    shuffled.write_text("".join(lines))
    for name, source in (("a", log), ("b", log), ("c", shuffled)):
        assert build("--events", source, "-o", tmp_path / name, "--seed", 7).exit_code == 0
    assert digest(tmp_path / "a") == digest(tmp_path / "b") == digest(tmp_path / "c")
    assert build("--events", log, "-o", tmp_path / "d", "--seed", 8).exit_code == 0
    assert digest(tmp_path / "d") != digest(tmp_path / "a")


def event(user, kind, post=None, direction=None, **texts):
    row = {"user_id": user, "kind": kind}
    if kind == "comment":
        row |= {"post": post, "comment": texts.get("comment", f"comment on {post}")}
    elif kind == "pair":
        row |= {"post": post, "chosen": texts.get("chosen", f"good {post}"), "rejected": f"bad {post}"}
    else:
        row |= {"text": texts.get("text", f"about {user}")}
    if direction is not None:
        row["direction"] = direction
    return row | {k: v for k, v in texts.items() if k == "timestamp"}


SMALL = [
    event("ann", "demographic", text="old text", timestamp="2024-01-01T00:00:00Z"),
    event("ann", "demographic", text="A nurse who likes short answers.", timestamp="2024-06-01T00:00:00Z"),
    event("ann", "comment", "P1"), event("ann", "comment", "P1"), event("ann", "comment", "P2"),
    event("ann", "pair", "P1", make_direction(d3=1.0)), event("ann", "pair", "P3"),
    event("bob", "pair", "P1"),  # one event: under --min-items 2
    event("cid", "comment", "P1"), event("cid", "comment", "P2"),  # no pair events: no records
]


def test_duplicates_small_users_and_stats(write_jsonl, tmp_path):
    out = tmp_path / "ds"
    result = build("--events", write_jsonl(SMALL), "-o", out, "--test-fraction", 0)
    assert result.exit_code == 0, result.output
    assert "1 exact duplicates dropped" in result.output and "1 users with fewer than --min-items" in result.output
    stats = json.loads((out / "stats.json").read_text())
    assert stats["events"] == {"read": 10, "by_kind": {"comment": 5, "demographic": 2, "pair": 3},
                               "duplicates_dropped": 1, "in_skipped_users": 1}
    assert stats["users"] == {"seen": 3, "skipped_min_items": 1, "without_pairs": 1, "train": 1, "test": 0}
    assert stats["records"] == {"train": 2, "test": 0, "total": 2}
    assert stats["directions"] == {"records_with": 1, "records_without": 1, "items_with": 1, "items_without": 4}
    assert stats["persona_sizes"] == {UGC: {"1": 1, "2": 1}, PAIR: {"1": 2}}
    assert stats["dimension_coverage"]["dimensions_covered"] == 1
    assert stats["dimension_coverage"]["non_neutral_records_per_dimension"][3] == 1
    assert not (out / "test.jsonl").exists()  # a split without records has no file
    records = {r["prompt"]: r for r in read_jsonl(out / "train.jsonl")}
    assert records["P1"]["Preference Direction"] == make_direction(d3=1.0)
    assert records["P1"]["Demographic Information"] == "A nurse who likes short answers."  # the latest
    assert [i["prompt"] for i in records["P1"][UGC]] == ["P2"] and [i["prompt"] for i in records["P1"][PAIR]] == ["P3"]
    assert sorted(i["prompt"] for i in records["P3"][UGC]) == ["P1", "P2"]
    assert "Preference Direction" not in records["P3"]
    assert all(r["user_id"] == "ann" for r in records.values())


def test_export_of_one_user(log, tmp_path):
    out = tmp_path / "mine"
    result = build("--events", log, "-o", out, "--user", "u07")
    assert result.exit_code == 0, result.output
    records = [r for f in sorted(out.glob("*.jsonl")) for r in read_jsonl(f)]
    expected = sum(1 for e in read_jsonl(log) if e["user_id"] == "u07" and e["kind"] == "pair")
    assert len(records) == expected > 0 and {r["user_id"] for r in records} == {"u07"}
    result = build("--events", log, "-o", tmp_path / "nobody", "--user", "nobody")
    assert result.exit_code == 2 and "no events of user 'nobody'" in result.output
    assert not (tmp_path / "nobody").exists()


BAD = [
    ("missing user_id", {"kind": "pair", "post": "p", "chosen": "a", "rejected": "b"}, "field user_id: missing"),
    ("missing text", {"user_id": "u", "kind": "pair", "post": "p", "chosen": "a"}, "field rejected: missing"),
    ("empty text", {"user_id": "u", "kind": "comment", "post": "p", "comment": "  "}, "field comment: is empty"),
    ("unknown kind", {"user_id": "u", "kind": "like", "post": "p"}, "field kind: unknown kind 'like'"),
    ("short direction", {"user_id": "u", "kind": "comment", "post": "p", "comment": "c", "direction": [1, 0]},
     "field direction: must have 90 values, got 2"),
    ("bad value", {"user_id": "u", "kind": "comment", "post": "p", "comment": "c",
                   "direction": make_direction(d5=0.7)}, "field direction: value 0.7 at position 5"),
    ("wrong type", {"user_id": "u", "kind": "comment", "post": 3, "comment": "c"}, "field post: must be text"),
    ("not json", "{oops", "field (event): invalid JSON"),
]


@pytest.mark.parametrize("name, bad, message", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_line_naming_file_row_and_field_and_leaves_the_output(write_jsonl, tmp_path, name, bad,
                                                                              message):
    path = write_jsonl([event("u", "comment", "p0"), event("u", "pair", "p1"), bad])
    out = tmp_path / "ds"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    result = build("--events", path, "-o", out, "--overwrite")
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {path}: row 3: {message}") and result.output.count("\n") == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".ds")] == []
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_bad_csv_rows_are_named_too(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("user_id,kind,post,comment,chosen,rejected,text,direction\n"
                    "u,comment,p,c,,,,\n"
                    "u,pair,p2,a,,,,\n")
    result = build("--events", path, "-o", tmp_path / "ds")
    assert result.exit_code == 2 and result.output.strip() == f"error: {path}: row 2: field chosen: missing " \
                                                              "(a pair event needs it)"
    path.write_text("user_id,kind,post,comment,chosen,rejected,text,direction\n"
                    "u,comment,p,c,,,,\n"
                    'u,comment,p2,c,,,,"[1, 2]"\n')
    result = build("--events", path, "-o", tmp_path / "ds")
    assert result.exit_code == 2 and f"{path}: row 2: field direction:" in result.output
    assert not (tmp_path / "ds").exists()


def test_an_existing_output_needs_overwrite(log, tmp_path):
    out = tmp_path / "ds"
    out.mkdir()
    (out / "old.txt").write_text("old")
    result = build("--events", log, "-o", out)
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert build("--events", log, "-o", out, "--overwrite").exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["stats.json", "test.jsonl", "train.jsonl"]


@pytest.mark.slow  # parquet through pyarrow and datasets
def test_parquet_and_csv_in_parquet_out(log, tmp_path):
    gen = generator()
    columns, _ = gen.generate(600, 30, seed=3, posts=25, duplicate_rate=0.0)
    for suffix in ("parquet", "csv"):
        gen.write_events(columns, tmp_path / f"events.{suffix}")
    assert build("--events", log, "-o", tmp_path / "from-jsonl").exit_code == 0
    for suffix in ("parquet", "csv"):
        assert build("--events", tmp_path / f"events.{suffix}", "-o", tmp_path / suffix).exit_code == 0
        assert digest(tmp_path / suffix) == digest(tmp_path / "from-jsonl"), suffix
    result = build("--events", log, "-o", tmp_path / "pq", "--format", "parquet")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "pq").iterdir()) == ["stats.json", "test.parquet", "train.parquet"]
    for split in ("train", "test"):
        assert load_records(tmp_path / "pq", split) == load_records(tmp_path / "from-jsonl", split)
    import datasets

    loaded = datasets.load_dataset("parquet", data_files=str(tmp_path / "pq" / "train.parquet"), split="train")
    assert loaded.num_rows == len(load_records(tmp_path / "pq", "train"))


def test_annotator_fills_the_missing_directions(write_jsonl, tmp_path, tiny_inferencer):
    rows = [event("ann", "comment", "P1"), event("ann", "comment", "P2"), event("ann", "pair", "P3"),
            event("ann", "pair", "P4", make_direction(d3=1.0)), event("ann", "pair", "P5")]
    out = tmp_path / "ds"
    result = build("--events", write_jsonl(rows), "-o", out, "--test-fraction", 0, "--annotator", f"local:{tiny_inferencer}",
                   "--cache", tmp_path / "cache.sqlite", "--device", "cpu")
    assert result.exit_code == 0, result.output
    stats = json.loads((out / "stats.json").read_text())
    assert stats["directions"]["records_without"] == 0 and stats["directions"]["items_without"] == 0
    records = {r.prompt: r for r in load_records(out, "train")}
    assert len(records) == 3 and all(r.direction is not None for r in records.values())
    assert records["P4"].direction == tuple(make_direction(d3=1.0))  # a direction the event gives is kept
    assert all(i.direction is not None for r in records.values() for i in (*r.ugc, *r.pairs))


def test_the_service_memory_builds_read_only_with_inferred_directions_and_without_deleted_users(tmp_path):
    """--db: feedback becomes records; a raw event takes its derived `inferred` direction; edits are no
    behaviour; a deleted user is in no build; --user exports one user; the database file is not written."""
    from alignx.serve.memory import EventKind
    from alignx.serve.store import MemoryStore

    db_path = tmp_path / "memory.db"
    store = MemoryStore(f"sqlite:///{db_path}")
    users = []
    for name in ("ada", "bo", "cy"):
        user, _ = store.create_user(name)
        users.append(user.id)
        store.append(user.id, EventKind.DEMOGRAPHIC, {"text": f"{name} likes jokes."})
        store.append(user.id, EventKind.CONTENT, {"prompt": "Day?", "comment": f"{name}: fine."})
        for i in range(3):
            raw = store.append(user.id, EventKind.FEEDBACK,
                               {"prompt": f"Post {i}", "chosen": f"joke {i}", "rejected": f"plain {i}"})
            if i == 0:
                store.append_inferred(raw, "local:test", make_direction(d73=1.0))
        store.append(user.id, EventKind.EDIT, {"set": {"73": 0}})
    store.delete_user(users[2])
    store.close()
    before = db_path.stat().st_mtime_ns

    out = tmp_path / "built"
    result = build("--db", f"sqlite:///{db_path}", "--output", out, "--test-fraction", "0")
    assert result.exit_code == 0, result.output
    records = load_records(out / "train.jsonl")
    assert {r.extra["user_id"] for r in records} == set(users[:2])
    assert len(records) == 2 * 3
    by_post = defaultdict(list)
    for r in records:
        by_post[r.prompt].append(r)
        assert r.demographic.endswith("likes jokes.") and len(r.ugc) == 1 and len(r.pairs) == 2
    assert all(r.direction == tuple(make_direction(d73=1.0)) for r in by_post["Post 0"])
    assert all(r.direction is None for r in by_post["Post 1"])
    assert db_path.stat().st_mtime_ns == before

    one = tmp_path / "one"
    assert build("--db", f"sqlite:///{db_path}", "--user", users[0], "--output", one).exit_code == 0
    assert {r.extra["user_id"] for split in one.glob("*.jsonl") for r in load_records(split)} == {users[0]}
    missing = build("--db", f"sqlite:///{tmp_path / 'nowhere.db'}", "--output", tmp_path / "x")
    assert missing.exit_code == 2 and "no such database file" in missing.output


@pytest.mark.parametrize("url, shown", [
    ("postgresql+psycopg://alice:s3cret@127.0.0.1:1/alignx", "postgresql+psycopg://alice:***@127.0.0.1:1/alignx"),
    ("mysql://alice:s3cret@db.example/alignx", "mysql://alice:***@db.example/alignx"),
])
def test_a_database_url_in_an_error_shows_no_password(tmp_path, url, shown):
    """Unreachable (port 1) or of an unsupported kind, the URL is named in the one-line error, its password
    masked by the one redact() every message uses."""
    result = build("--db", url, "--output", tmp_path / "out")
    assert result.exit_code == 2 and shown in result.output and "s3cret" not in result.output
