"""alignx analyze: history-size draws and points, controllability's profile edits and margins, the novel-dimension
groups, train --exclude-dimensions, and the one-line option errors; on the tiny random Llama."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import make_direction, make_record
from typer.testing import CliRunner

from alignx.analyze.config import ControllabilityConfig, HistoryReading, HistorySizeConfig, NovelConfig
from alignx.analyze.controllability import base_means, cases, edited_profile, run_controllability
from alignx.analyze.history_size import draw_orders, k0_settings, run_history_size, shown, shown_record, usable
from alignx.analyze.novel import group, run_novel, unseen_dimensions, used_dimensions
from alignx.cli import app
from alignx.errors import OptionError, UserError
from alignx.records import Record
from alignx.space import dimension, dimensions, parse_dimensions, parse_profile

torch = pytest.importorskip("torch")
runner = CliRunner()
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def rich_record(i: int) -> dict:
    """A record with 4 UGC and 3 PAIR items, each with its own direction (the UGC items share 40 positive, which
    the history's profile shows); the target is non-neutral on 16 and, for odd i, on 3 too."""
    rec = make_record(i, pole=float(i % 2))
    rec["Preference Direction"] = make_direction(d16=float(i % 2), **({"d3": 1.0} if i % 2 else {}))
    rec["User-Generated Content"] = [
        {"prompt": f"ugc post {k} of user {i}", "comment": f"comment {k}", "Preference Direction": make_direction(**{f"d{k}": 1.0, "d40": 1.0})}
        for k in range(4)]
    rec["Pair-wise Comparative Feedback"] = [
        {"prompt": f"pair post {k} of user {i}", "chosen": f"yes {k}", "rejected": f"no {k}",
         "Preference Direction": make_direction(**{f"d{20 + k}": 0.0, "d3": 0.0 if k == 0 else 0.5})}
        for k in range(3)]
    return rec


@pytest.fixture
def data(write_jsonl):
    rows = [rich_record(i) for i in range(4)]
    rows[3]["Preference Direction"] = make_direction()  # all neutral: no controllability case, no novel group
    rows[2]["User-Generated Content"] = []  # a record without UGC: in the PAIR series only
    return write_jsonl(rows)


@pytest.fixture(scope="module")
def evaluator(tiny_model):
    from alignx.eval.evaluator import Evaluator

    return Evaluator.load(str(tiny_model), progress=False)


def records_of(path) -> list[Record]:
    return [Record.from_dict(json.loads(line)) for line in path.read_text().splitlines()]


def assert_png(path) -> None:
    import matplotlib.image

    assert path.read_bytes()[:8] == PNG_MAGIC
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100


# ---------------------------------------------------------------- history size


def test_draws_are_seeded_by_seed_and_position_and_nested_over_k():
    record = Record.from_dict(rich_record(0))
    same = [draw_orders(record, 5, seed=1, draw=0) for _ in range(2)]
    assert same[0] == same[1]
    assert sorted(same[0][0]) == [0, 1, 2, 3] and sorted(same[0][1]) == [0, 1, 2]
    other_seed = [draw_orders(record, p, seed=2, draw=0) for p in range(6)]
    assert other_seed != [draw_orders(record, p, seed=1, draw=0) for p in range(6)]
    assert [draw_orders(record, p, seed=1, draw=1) for p in range(6)] != [draw_orders(record, p, seed=1, draw=0)
                                                                           for p in range(6)]
    orders = same[0]
    assert shown(orders, "ugc", 2) == (orders[0][:2], [])
    assert shown(orders, "pair", 2) == ([], orders[1][:2])
    assert shown(orders, "both", 4) == (orders[0], orders[1])  # 3 PAIR items < k = 4: all of them
    copy = shown_record(record, *shown(orders, "both", 1))
    assert copy.ugc == (record.ugc[orders[0][0]],) and copy.pairs == (record.pairs[orders[1][0]],)
    assert copy.demographic is None and copy.profile is None and copy.prompt == record.prompt


def test_profile_reading_draws_only_items_with_directions():
    raw = rich_record(0)
    del raw["User-Generated Content"][1]["Preference Direction"]
    record = Record.from_dict(raw)
    assert usable(record, HistoryReading.PROFILE) == ([0, 2, 3], [0, 1, 2])
    assert usable(record, HistoryReading.HISTORY) == ([0, 1, 2, 3], [0, 1, 2])


def test_k0_is_the_universal_baseline_raw_under_persona_lift_and_undefined_for_zero_shot(tmp_path):
    settings, rule = k0_settings(HistorySizeConfig(output=str(tmp_path)))
    assert (settings.persona, settings.reference) == ("none", "raw") and "raw" in rule
    settings, _ = k0_settings(HistorySizeConfig(output=str(tmp_path), reference="base"))
    assert (settings.persona, settings.reference) == ("none", "base")
    settings, rule = k0_settings(HistorySizeConfig(output=str(tmp_path), reward="zero-shot"))
    assert settings is None and rule.startswith("undefined")


def test_history_size_cli_writes_three_series_of_five_points_and_a_png(tiny_model, data, tmp_path):
    out = tmp_path / "out"
    args = ["analyze", "history-size", "--data", str(data), "--model", str(tiny_model), "--output", str(out),
            "--bootstrap", "20", "--no-progress", "--draws", "2"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "history_size.json").read_text())
    assert_png(out / "history_size.png")
    written = (out / "history_size.json").read_bytes()
    (out / "history_size.png").unlink()
    again = runner.invoke(app, [*args, "--batch-size", "3"])  # the same options, but one that changes no figure
    assert again.exit_code == 0 and "nothing computed" in again.stdout and result.stdout.split("report:")[0] == \
        again.stdout.split("report:")[0]  # the same lines, read from the report
    assert (out / "history_size.json").read_bytes() == written
    assert_png(out / "history_size.png")  # only the missing plot is drawn again
    other = runner.invoke(app, [*args[:-1], "1"])
    assert other.exit_code == 2 and "made with other settings; pass --overwrite" in other.stderr
    assert report["settings"]["model"] == str(tiny_model) and report["settings"]["draws"] == 2
    assert report["settings"]["persona"] == "history" and report["settings"]["reference"] == "none"
    assert list(report["series"]) == ["ugc", "pair", "both"]
    assert {s: b["records"] for s, b in report["series"].items()} == {"ugc": 3, "pair": 4, "both": 3}
    for body in report["series"].values():
        assert [p["k"] for p in body["points"]] == [0, 1, 2, 3, 4]
        for p in body["points"]:
            assert 0 <= p["accuracy"] <= 1 and p["ci95"][0] <= p["accuracy"] <= p["ci95"][1]
            assert p["n"] == body["records"] and p["examples"] == body["records"] * (2 if p["k"] else 1)
            assert p["accuracy"] == pytest.approx(np.mean([r["correct"] for r in p["shown"]]))
    pair4 = report["series"]["pair"]["points"][4]
    assert pair4["mean_pair_shown"] == 3 and pair4["mean_ugc_shown"] == 0  # every record has 3 PAIR items
    both2 = report["series"]["both"]["points"][2]
    assert both2["mean_items_shown"] == 4 and all(len(r["ugc"]) == len(r["pairs"]) == 2 for r in both2["shown"])


def test_history_size_report_is_reproducible_with_the_seed(evaluator, data, tmp_path):
    runs = iter(range(100))

    def shown_items(seed: int) -> list:
        out = tmp_path / f"run{next(runs)}"  # a fresh folder each time: nothing saved by an earlier run is read back
        report = run_history_size(HistorySizeConfig(output=str(out), data=str(data), seed=seed, bootstrap=10,
                                                     persona="profile"), evaluator)
        assert report["settings"]["eval_persona"] == "profile" and report["settings"]["prompt"] == "pba"
        return [(r["index"], r["ugc"], r["pairs"], r["margin"]) for body in report["series"].values()
                for p in body["points"] for r in p["shown"]]

    first = shown_items(3)
    assert shown_items(3) == first
    assert [x[:3] for x in shown_items(4)] != [x[:3] for x in first]


class Interrupted(Exception):
    pass


class CountingEvaluator:
    """The evaluator, counting its runs; with `stop_after`, the run after that many is interrupted."""

    def __init__(self, inner, stop_after=None):
        self.inner, self.stop_after, self.runs = inner, stop_after, 0

    @property
    def policy(self):
        return self.inner.policy

    def run(self, *args, **kwargs):
        if self.stop_after is not None and self.runs >= self.stop_after:
            raise Interrupted
        self.runs += 1
        return self.inner.run(*args, **kwargs)


def test_an_interrupted_analysis_resumes_where_it_stopped(evaluator, data, tmp_path):
    from alignx.analyze.common import write_outputs
    from alignx.analyze.plots import plot_history_size

    config = HistorySizeConfig(output=str(tmp_path / "resumed"), data=str(data), bootstrap=10)
    fresh = CountingEvaluator(evaluator)
    expected = run_history_size(dataclasses.replace(config, output=str(tmp_path / "fresh")), fresh)
    assert fresh.runs > 3
    with pytest.raises(Interrupted):
        run_history_size(config, CountingEvaluator(evaluator, stop_after=3))
    assert len(list((tmp_path / "resumed" / "history_size.parts").glob("*.json"))) == 3
    resumed = CountingEvaluator(evaluator)
    assert run_history_size(config, resumed) == expected
    assert resumed.runs == fresh.runs - 3  # the three finished evaluations are read back, not scored
    write_outputs(expected, "history_size", config, plot_history_size)
    assert not (tmp_path / "resumed" / "history_size.parts").exists()  # the report holds them now
    again = CountingEvaluator(evaluator)
    run_history_size(dataclasses.replace(config, overwrite=True), again)
    assert again.runs == fresh.runs


# ---------------------------------------------------------------- controllability


def test_flipping_a_dimension_shows_the_opposite_label_and_removing_drops_both():
    record = Record.from_dict(rich_record(1))  # target: 16 and 3 positive
    d = dimension(16)
    means = base_means(record)
    aligned, flipped, removed = (edited_profile(means, 16, v) for v in (1.0, 0.0, 0.5))
    assert parse_profile(aligned)[16] == 1.0 and d.positive in aligned.split(", ")
    assert parse_profile(flipped)[16] == 0.0 and d.negative in flipped and d.positive not in flipped
    assert parse_profile(removed)[16] == 0.5 and dimension(40).positive in removed
    for other in range(90):  # the rest of the history's profile is kept as it was
        if other != 16:
            assert parse_profile(aligned)[other] == parse_profile(flipped)[other] == parse_profile(removed)[other]
    assert edited_profile(np.full(90, 0.5, dtype=np.float32), 16, 0.5) is None  # nothing left to show
    # All other means neutral (4/7 and 3/7): the released fallback would show the most extreme ones if d were
    # rendered neutral; removing d's label leaves nothing instead.
    neutral_rest = np.full(90, 0.5, dtype=np.float32)
    neutral_rest[[2, 5]] = [4 / 7, 3 / 7]
    assert edited_profile(neutral_rest, 16, 1.0) == d.positive and edited_profile(neutral_rest, 16, 0.5) is None


def test_cases_are_the_non_neutral_dimensions_of_the_targets(data):
    records = records_of(data)
    found = cases(records)
    expected = sum(sum(v != 0.5 for v in r.direction) for r in records)
    assert len(found) == expected == 4  # records 0 and 2: dimension 16; record 1: 16 and 3; record 3: none
    assert [(c.index, c.dimension, c.pole) for c in found] == [(0, 16, 0.0), (1, 3, 1.0), (1, 16, 1.0), (2, 16, 0.0)]
    case = found[0]  # pole 0: aligned shows the negative label, flipped the positive one
    assert dimension(16).negative in case.aligned and dimension(16).positive in case.flipped


def test_controllability_cli_reports_per_dimension_and_overall(tiny_model, data, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["analyze", "controllability", "--data", str(data), "--model", str(tiny_model),
                                 "--output", str(out), "--bootstrap", "20", "--no-progress"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "controllability.json").read_text())
    assert_png(out / "controllability.png")
    assert report["overall"]["cases"] == len(report["cases"]) == 4
    assert set(report["dimensions"]) == {"3", "16"}
    assert report["dimensions"]["16"]["cases"] == 3 and report["dimensions"]["16"]["positive"] == dimension(16).positive
    rows = report["cases"]
    moved = np.mean([r["m_flipped"] < r["m_aligned"] for r in rows])
    assert report["overall"]["moved"]["mean"] == pytest.approx(moved)
    assert report["overall"]["delta_flipped"]["mean"] == pytest.approx(np.mean([r["m_flipped"] - r["m_aligned"]
                                                                                for r in rows]))
    reversible = [r for r in rows if r["m_aligned"] > 0]
    assert report["overall"]["reversed"]["n"] == len(reversible)
    assert len({r["m_aligned"] for r in rows}) > 1  # the profile text reaches the model


def test_removing_the_only_label_shows_the_universal_prompt(evaluator, write_jsonl, tmp_path):
    """d's label alone in the profile: removing it tells the model nothing, the universal prompt under the same
    reward: exactly 0 under persona lift, the universal prompt's own margin against a reference."""
    from alignx.eval.settings import EvalSettings

    data = write_jsonl([make_record(i, pole=float(i % 2)) for i in range(2)])  # history and target: only d16
    lift = run_controllability(ControllabilityConfig(output=str(tmp_path), data=str(data), bootstrap=10), evaluator)
    assert [r["removed"] for r in lift["cases"]] == [None, None]
    assert [r["m_removed"] for r in lift["cases"]] == [0.0, 0.0]
    assert lift["overall"]["delta_removed"]["n"] == 2
    raw = run_controllability(ControllabilityConfig(output=str(tmp_path), data=str(data), bootstrap=10,
                                                    reference="raw"), evaluator)
    universal = evaluator.run(records_of(data), EvalSettings(persona="none", reference="raw")).examples
    assert [r["m_removed"] for r in raw["cases"]] == pytest.approx(
        [u["reward_chosen"] - u["reward_rejected"] for u in universal])
    assert raw["cases"][0]["m_removed"] != raw["cases"][0]["m_aligned"]


def test_controllability_margins_move_with_the_profile(evaluator, data, tmp_path):
    report = run_controllability(ControllabilityConfig(output=str(tmp_path), data=str(data), bootstrap=10), evaluator)
    assert all(r["m_aligned"] != r["m_flipped"] for r in report["cases"])
    assert report["settings"]["persona"] == "profile" and report["settings"]["prompt"] == "pba"


# ---------------------------------------------------------------- novel dimensions


def test_records_are_grouped_by_whether_their_target_touches_an_unseen_dimension(data):
    records = records_of(data)
    assert [group(r, (3,)) for r in records] == ["seen", "unseen", "seen", None]
    assert [group(r, (16,)) for r in records] == ["unseen", "unseen", "unseen", None]
    assert used_dimensions(records) == [3, 16]


def test_novel_reports_both_groups(evaluator, data, tmp_path):
    report = run_novel(NovelConfig(output=str(tmp_path), data=str(data), unseen="3", bootstrap=10), evaluator)
    assert report["groups"]["unseen"]["records"] == [1] and report["groups"]["seen"]["records"] == [0, 2]
    assert report["groups"]["seen"]["n"] == 2 and report["left_out"] == 1
    assert report["unseen"] == [{"index": 3, "positive": dimension(3).positive, "negative": dimension(3).negative}]


def test_unseen_set_comes_from_a_fraction_draw_or_the_trained_model(data, tmp_path):
    records = records_of(data)
    drawn = {unseen_dimensions(NovelConfig(output="o", unseen_fraction=0.5, seed=s), records)[0] for s in range(8)}
    assert drawn == {(3,), (16,)}  # one of the two used dimensions, the draw depending on the seed
    model = tmp_path / "model"
    model.mkdir()
    (model / "alignx_training.json").write_text(json.dumps({"config": {"exclude_dimensions": "3,17"}}))
    assert unseen_dimensions(NovelConfig(output="o", model=str(model)), records)[0] == (3, 17)
    (model / "alignx_training.json").write_text(json.dumps({"config": {"exclude_dimensions": None}}))
    with pytest.raises(OptionError, match="pass --unseen"):
        unseen_dimensions(NovelConfig(output="o", model=str(model)), records)


def test_novel_cli_writes_report_and_plot(tiny_model, data, tmp_path):
    out = tmp_path / "out"
    label = dimension(3).negative
    result = runner.invoke(app, ["analyze", "novel", "--data", str(data), "--model", str(tiny_model),
                                 "--output", str(out), "--unseen", label, "--no-progress", "--bootstrap", "20"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "novel.json").read_text())
    assert_png(out / "novel.png")
    assert [d["index"] for d in report["unseen"]] == [3] and report["settings"]["persona"] == "all"
    assert {name: body["n"] for name, body in report["groups"].items()} == {"unseen": 1, "seen": 2}


# ---------------------------------------------------------------- train --exclude-dimensions


def test_exclude_dimensions_drops_the_examples_whose_target_touches_them(data):
    from alignx.training.data import _generate

    def rows(exclude):
        return [(r["index"], r["target"], r["excluded"])
                for r in _generate(str(data), None, "ica", 0, True, True, exclude=exclude)]

    everything = rows(None)
    assert len(everything) == 4 * 4 and not any(excluded for *_, excluded in everything)
    # Dimension 3: record 1's own target (3 positive) and every record's first PAIR item (3 negative), learned
    # as history target 1.
    assert {(i, t) for i, t, excluded in rows("3") if excluded} == {(1, 0), (0, 1), (1, 1), (2, 1), (3, 1)}
    assert {(i, t) for i, t, excluded in rows("16") if excluded} == {(0, 0), (1, 0), (2, 0)}


def test_build_dataset_drops_excluded_examples_and_refuses_an_empty_set(tiny_model, data, write_jsonl, tmp_path,
                                                                          capsys):
    from transformers import AutoTokenizer

    from alignx.training import TrainConfig, build_dataset

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    config = TrainConfig(output=str(tmp_path / "o"), data=str(data), exclude_dimensions="3")
    dataset = build_dataset(config, tokenizer, cache_dir=tmp_path / "cache")
    assert len(dataset) == 16 - 5 and "excluded" not in dataset.column_names
    assert (1, 0) not in set(zip(dataset["index"], dataset["target"], strict=True))
    assert "--exclude-dimensions 3: dropped 5 of 16 training examples" in capsys.readouterr().err
    everything_on_16 = write_jsonl([make_record(i) for i in range(2)], name="d16.jsonl")
    config = TrainConfig(output=str(tmp_path / "o"), data=str(everything_on_16), exclude_dimensions="16")
    with pytest.raises(UserError, match="nothing is left to train on"):
        build_dataset(config, tokenizer, cache_dir=tmp_path / "cache")


def test_exclude_dimensions_option_is_validated_and_kept_canonical():
    from alignx.training.config import TrainConfig, resume_mismatches

    config = TrainConfig(output="o", exclude_dimensions=f"17, {dimension(3).positive}")
    assert config.exclude_dimensions == "3,17"
    assert resume_mismatches(config.to_dict(), TrainConfig(output="o", exclude_dimensions="3,17")) == []
    assert resume_mismatches(config.to_dict(), TrainConfig(output="o", exclude_dimensions="3"))
    comma_label = next(d for d in dimensions() if ", " in d.positive)  # labels may hold the separator
    assert parse_dimensions(f"{comma_label.positive}, 3") == tuple(sorted({3, comma_label.index}))
    with pytest.raises(OptionError, match="--exclude-dimensions: dimension index 90 is out of range"):
        TrainConfig(output="o", exclude_dimensions="3,90")


# ---------------------------------------------------------------- errors and imports


@pytest.mark.parametrize("args, message", [
    (["train", "-o", "x", "--exclude-dimensions", "3,nope"], "--exclude-dimensions: 'nope' is neither"),
    (["analyze", "history-size", "-o", "x", "--draws", "0"], "--draws must be at least 1"),
    (["analyze", "history-size", "-o", "x", "--persona", "demo"], "unknown --persona 'demo'; choose one of history, "
                                                                    "profile"),
    (["analyze", "controllability", "-o", "x", "--reference", "raw", "--reward", "zero-shot"], "--reward zero-shot"),
    (["analyze", "novel", "-o", "x", "--unseen", "99"], "--unseen: dimension index 99 is out of range"),
    (["analyze", "novel", "-o", "x", "--unseen", "3", "--unseen-fraction", "0.2"], "--unseen names the dimensions"),
    (["analyze", "novel", "-o", "x", "--unseen-fraction", "1.5"], "--unseen-fraction must be in (0, 1), got 1.5"),
    (["analyze", "novel", "-o", "x", "--persona", "none"], "--persona none shows the model nothing"),
])
def test_bad_options_are_one_line_errors(args, message, tmp_path):
    result = runner.invoke(app, [a if a != "x" else str(tmp_path / "x") for a in args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert not (tmp_path / "x").exists()


def test_missing_matplotlib_names_the_extra(monkeypatch):
    from alignx.analyze.common import require_matplotlib

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    with pytest.raises(UserError, match=r"pip install 'alignx\[analyze\]'"):
        require_matplotlib()


@pytest.mark.slow  # a subprocess
def test_analyze_help_imports_neither_torch_nor_matplotlib():
    code = ("import sys; from typer.testing import CliRunner; from alignx.cli import app; "
            "r = CliRunner().invoke(app, ['analyze', 'history-size', '--help']); assert r.exit_code == 0, r.output; "
            "print(sorted(m for m in ('torch', 'matplotlib', 'transformers') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"
