"""devset/build.py: the shipped style development set is what the generator writes, and it is leak-free."""

from __future__ import annotations

import importlib.util
import json
from collections import defaultdict
from pathlib import Path

import pytest

from alignx.records import load_records

DEVSET = Path(__file__).resolve().parents[1] / "devset"
FILES = {"style-tune": 160, "style-holdout": 80}


@pytest.fixture(scope="module")
def build_module():
    spec = importlib.util.spec_from_file_location("devset_build", DEVSET / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def shipped():
    return {name: [json.loads(line) for line in (DEVSET / f"{name}.jsonl").open(encoding="utf-8")] for name in FILES}


def test_rebuild_is_byte_identical(build_module, tmp_path, capsys):
    build_module.main(["--out", str(tmp_path)])
    for name in FILES:
        assert (tmp_path / f"{name}.jsonl").read_bytes() == (DEVSET / f"{name}.jsonl").read_bytes(), name


def test_files_load_with_the_expected_counts():
    for name, count in FILES.items():
        records = load_records(DEVSET / f"{name}.jsonl")
        assert len(records) == count
        assert all(len(r.ugc) == 4 and len(r.pairs) == 4 and r.demographic for r in records)


def test_every_main_post_appears_twice_with_the_choice_swapped(shipped):
    for name, records in shipped.items():
        by_prompt = defaultdict(list)
        for r in records:
            by_prompt[r["prompt"]].append(r)
        for prompt, users in by_prompt.items():
            assert len(users) == 2, (name, prompt)
            a, b = users
            assert (a["chosen"], a["rejected"]) == (b["rejected"], b["chosen"]), (name, prompt)
            dim = [i for i, v in enumerate(a["Preference Direction"]) if v != 0.5]
            assert len(dim) == 1 and {a["Preference Direction"][dim[0]], b["Preference Direction"][dim[0]]} == {0.0, 1.0}


def test_history_directions_agree_with_the_user(shipped):
    for records in shipped.values():
        for r in records:
            items = r["User-Generated Content"] + r["Pair-wise Comparative Feedback"]
            assert all(item["Preference Direction"] == r["Preference Direction"] for item in items)


def test_no_user_sees_their_own_main_post_in_pair_history(shipped):
    for records in shipped.values():
        for r in records:
            history = [p["prompt"] for p in r["Pair-wise Comparative Feedback"]]
            assert r["prompt"] not in history
            assert len(set(history)) == len(history)


def test_splits_share_no_post(shipped):
    main = {name: {r["prompt"] for r in records} for name, records in shipped.items()}
    assert not main["style-tune"] & main["style-holdout"]
    for name, records in shipped.items():
        pair_prompts = {p["prompt"] for r in records for p in r["Pair-wise Comparative Feedback"]}
        assert pair_prompts <= main[name], f"{name}: PAIR history drawn from posts outside the split"


def test_pools_that_do_not_match_the_space_are_refused(build_module):
    pools = json.loads((DEVSET / "pools.json").read_text(encoding="utf-8"))
    pools["axes"][0]["dimension"] += 1
    with pytest.raises(ValueError, match="do not match dimension"):
        build_module.build(pools)
    pools["axes"][0]["dimension"] -= 1
    pools["axes"][0]["ugc"].pop()
    with pytest.raises(ValueError, match="'ugc' holds 7 items"):
        build_module.build(pools)
