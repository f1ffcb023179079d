import json
import random
import subprocess
import sys

import pytest
from conftest import make_record
from test_records import BAD
from typer.testing import CliRunner

from alignx.cli import app
from alignx.registry import load as load_records
from alignx.space import dimensions

runner = CliRunner()


def released_profile(directions: list[list[float]]) -> str:
    """The released AlignX profile helper, restated independently: a torch float32 mean,
    Python-float thresholds, and the most-extreme fallback computed on tensors."""
    import torch

    labels = dimensions()
    mean = torch.tensor(directions, dtype=torch.float32).mean(dim=0)
    out = []
    for i, value in enumerate(mean.tolist()):
        if value >= 0.6:
            out.append(labels[i].positive)
        elif value <= 0.4:
            out.append(labels[i].negative)
    if not out:
        top, bottom = mean.max(), mean.min()
        if (1 - top) < bottom:
            out = [labels[i].positive for i in range(90) if mean[i] == top]
        else:
            out = [labels[i].negative for i in range(90) if mean[i] == bottom]
    return ", ".join(out)


def random_history(rng: random.Random) -> list[dict]:
    n = rng.randint(1, 8)
    kind = rng.random()
    if kind < 0.15:  # all neutral: the fallback renders every negative label
        return [{"prompt": "q", "comment": "c", "Preference Direction": [0.5] * 90} for _ in range(n)]
    if kind < 0.45:  # means that land exactly on 2/5 and 3/5 (five items) or ties in the fallback
        n = rng.choice([5, 6, 7])
        dims = rng.sample(range(90), 3)
        items = [[0.5] * 90 for _ in range(n)]
        for d in dims:
            for row in rng.sample(range(n), rng.randint(1, 3)):
                items[row][d] = rng.choice([0.0, 1.0])
    else:
        p = rng.choice([0.02, 0.1, 0.4])
        items = [[rng.choice([0.0, 1.0]) if rng.random() < p else 0.5 for _ in range(90)] for _ in range(n)]
    return [{"prompt": "q", "comment": "c", "Preference Direction": d} for d in items]


def test_profile_json_matches_released_algorithm_on_random_records(tmp_path):
    rng = random.Random(42)
    rows, expected = [], []
    for _ in range(300):
        history = random_history(rng)
        split = rng.randint(0, len(history))
        pairs = [{"prompt": h["prompt"], "chosen": "a", "rejected": "b", "Preference Direction": h["Preference Direction"]}
                 for h in history[split:]]
        rows.append({"prompt": "p", "chosen": "a", "rejected": "b",
                     "User-Generated Content": history[:split], "Pair-wise Comparative Feedback": pairs})
        expected.append(released_profile([h["Preference Direction"] for h in history]))
    path = tmp_path / "random.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = runner.invoke(app, ["profile", "--data", str(path), "--json"])
    assert result.exit_code == 0, result.output
    got = [json.loads(line) for line in result.stdout.splitlines()]
    assert [g["index"] for g in got] == list(range(300))
    assert [g["profile"] for g in got] == expected
    assert any(e == ", ".join(d.negative for d in dimensions()) for e in expected)  # the fallback was exercised


def test_validate_ok_summary(write_jsonl):
    path = write_jsonl([make_record(i) for i in range(3)])
    result = runner.invoke(app, ["validate", "--data", str(path)])
    assert result.exit_code == 0 and result.stdout.strip() == f"{path}: 3 records, all valid"


@pytest.mark.slow  # a subprocess
@pytest.mark.parametrize("name, mutate, message", BAD, ids=[b[0] for b in BAD])
def test_validate_bad_record_one_line_exit_2(write_jsonl, name, mutate, message):
    path = write_jsonl([make_record(0), mutate(make_record(1))])
    proc = subprocess.run([sys.executable, "-m", "alignx", "validate", "--data", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {path}: record 2: {message}") and proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_validate_broken_json_and_all(write_jsonl):
    path = write_jsonl([make_record(0), "{not json", make_record(2) | {"chosen": ""}])
    result = runner.invoke(app, ["validate", "--data", str(path)])
    assert result.exit_code == 2 and "record 2: field (record): invalid JSON on line 2" in result.stderr
    result = runner.invoke(app, ["validate", "--data", str(path), "--all"])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 3
    assert "record 3: field chosen: is empty" in lines[1] and lines[2] == f"{path}: 2 of 3 records are invalid"


def test_missing_file_and_profile_without_directions(tmp_path, write_jsonl):
    result = runner.invoke(app, ["validate", "--data", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2 and "no such file" in result.stderr
    path = write_jsonl([{"prompt": "p", "chosen": "a", "rejected": "b"}])
    result = runner.invoke(app, ["profile", "--data", str(path)])
    assert result.exit_code == 2 and "record 1: persona 'profile' needs history items" in result.stderr


def test_profile_of_demo_data():
    result = runner.invoke(app, ["profile", "--data", "demo", "--split", "test"])
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == len(load_records("demo", "test"))


@pytest.mark.slow  # a subprocess
def test_a_closed_pipe_is_not_reported_as_a_bug(write_jsonl):
    """`alignx profile ... | head -1`: the reader leaves early; no traceback, the SIGPIPE exit status.
    The output (3,000 lines) outgrows any pipe buffer, so the writer surely meets the closed pipe."""
    path = write_jsonl([make_record(i) for i in range(3000)])
    process = subprocess.Popen([sys.executable, "-m", "alignx", "profile", "--data", str(path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141 and stderr == ""
