"""Data-parallel evaluation: two real gloo processes under `accelerate launch` give the one-process report."""

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import free_port, make_record

from alignx import distributed

ACCELERATE = Path(sys.executable).with_name("accelerate")


def test_shards_cover_the_list_once_in_a_one_process_world(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("RANK", raising=False)
    assert distributed.shard(["a", "b", "c"]) == ["a", "b", "c"] and distributed.is_main()
    assert distributed.gather(["a", "b", "c"], 3) == ["a", "b", "c"]
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert distributed.shard(["a", "b", "c", "d", "e"]) == ["b", "d"] and not distributed.is_main()


def eval_command(model, data, output):
    return ["-m", "alignx", "eval", "--data", str(data), "--model", str(model), "--persona", "pair",
            "--dtype", "fp32", "--no-progress", "--output", str(output)]


def test_two_processes_give_the_one_process_report(tiny_model, tmp_path, write_jsonl):
    rows = [make_record(i) for i in range(7)]  # 7 records: shards of 4 and 3
    for i, row in enumerate(rows):
        row["chosen"], row["rejected"] = f"Yes, {i} times.", "No. " * (i + 1)  # unequal lengths, varied batches
    data = write_jsonl(rows)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    one = subprocess.run([sys.executable, *eval_command(tiny_model, data, tmp_path / "one.json")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert one.returncode == 0, one.stderr
    two = subprocess.run([str(ACCELERATE), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                          "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(free_port()),
                          *eval_command(tiny_model, data, tmp_path / "two.json")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert two.returncode == 0, two.stderr
    assert "data parallel: 2 processes scored 7 records" in two.stdout
    assert two.stdout.count("report: ") == 1  # only the main process reports
    first, second = (json.loads((tmp_path / name).read_text()) for name in ("one.json", "two.json"))
    assert (first["timing"]["processes"], second["timing"]["processes"]) == (1, 2)
    assert first["accuracy"] == second["accuracy"] and first["n"] == second["n"] == 7
    for a, b in zip(first["examples"], second["examples"], strict=True):
        assert (a["index"], a["chosen"], a["correct"]) == (b["index"], b["chosen"], b["correct"])
        for ta, tb in zip(a["terms"], b["terms"], strict=True):
            assert ta["prompt"] == tb["prompt"]
            assert abs(ta["chosen_logp"] - tb["chosen_logp"]) < 1e-4
            assert abs(ta["rejected_logp"] - tb["rejected_logp"]) < 1e-4
