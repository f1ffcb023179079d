"""Data-parallel evaluation: two real gloo processes under `accelerate launch` give the one-process report."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import free_port, make_record
from test_report import spec_text

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


def test_a_one_process_accelerate_launch_is_named(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("ACCELERATE_USE_CPU", raising=False)
    assert distributed.launcher_note() is None  # no launcher: nothing to say
    monkeypatch.setenv("ACCELERATE_USE_CPU", "False")  # what accelerate's one-process launcher sets
    assert "--multi_gpu" in distributed.launcher_note()
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert distributed.launcher_note() is None
    monkeypatch.delenv("WORLD_SIZE")
    from typer.testing import CliRunner

    from alignx.cli import app

    result = CliRunner().invoke(app, ["validate", "--data", "demo"])  # every command says it, not only eval
    assert result.exit_code == 0 and "note: accelerate launched 1 process" in result.stderr


def eval_args(model, data, output):
    return ["eval", "--data", str(data), "--model", str(model), "--persona", "pair", "--dtype", "fp32",
            "--no-progress", "--output", str(output)]


def alignx(args, processes):
    """`python -m alignx ARGS` as one process, or as `processes` gloo processes under accelerate launch."""
    launcher = [str(ACCELERATE), "launch", "--multi_gpu", "--num_processes", str(processes), "--num_machines", "1",
                "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(free_port())]
    command = [*(launcher if processes > 1 else [sys.executable]), "-m", "alignx", *args]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"},
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def data(write_jsonl):
    rows = [make_record(i) for i in range(7)]  # 7 records: shards of 4 and 3
    for i, row in enumerate(rows):
        row["chosen"], row["rejected"] = f"Yes, {i} times.", "No. " * (i + 1)  # unequal lengths, varied batches
    return write_jsonl(rows)


def assert_same_scores(first, second):
    """Same records in the same order, same verdicts, every log-prob within 1e-4."""
    assert first["accuracy"] == second["accuracy"] and first["n"] == second["n"]
    for a, b in zip(first["examples"], second["examples"], strict=True):
        assert (a["index"], a["chosen"], a["correct"]) == (b["index"], b["chosen"], b["correct"])
        for ta, tb in zip(a["terms"], b["terms"], strict=True):
            assert ta["prompt"] == tb["prompt"]
            assert abs(ta["chosen_logp"] - tb["chosen_logp"]) < 1e-4
            assert abs(ta["rejected_logp"] - tb["rejected_logp"]) < 1e-4


def test_two_processes_give_the_one_process_report(tiny_model, tmp_path, data):
    alignx(eval_args(tiny_model, data, tmp_path / "one.json"), 1)
    log = alignx(eval_args(tiny_model, data, tmp_path / "two.json"), 2)
    assert "data parallel: 2 processes scored 7 records" in log
    assert log.count("report: ") == 1  # only the main process reports
    first, second = (json.loads((tmp_path / name).read_text()) for name in ("one.json", "two.json"))
    assert (first["timing"]["processes"], second["timing"]["processes"]) == (1, 2)
    assert first["n"] == 7
    assert_same_scores(first, second)


def test_a_report_under_two_processes_is_the_one_process_report(tiny_model, tmp_path, data):
    spec = tmp_path / "spec.toml"
    spec.write_text(spec_text(str(tiny_model), str(data)))
    alignx(["report", "--spec", str(spec), "--output", str(tmp_path / "one"), "--no-progress"], 1)
    log = alignx(["report", "--spec", str(spec), "--output", str(tmp_path / "two"), "--no-progress"], 2)
    assert log.count("cells: 4 scored, 0 reused") == 1  # printed by the main process only
    one, two = (json.loads((tmp_path / d / "table.json").read_text()) for d in ("one", "two"))
    assert one["rows"] == two["rows"]  # accuracies, intervals, p-values
    for cell in (tmp_path / "one" / "cells").glob("*.json"):
        first, second = (json.loads((tmp_path / d / "cells" / cell.name).read_text()) for d in ("one", "two"))
        assert second["timing"]["processes"] == 2
        assert_same_scores(first, second)
