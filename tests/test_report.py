"""alignx report: spec errors that name file, table and key; a dry run that loads nothing; cells written as they
finish and reused on a rerun; the Table-3 table with its exact McNemar test against the baseline row."""

import json
from pathlib import Path

import pytest
from conftest import make_record
from typer.testing import CliRunner

from alignx.cli import app
from alignx.eval.evaluator import Evaluator, load_scored
from alignx.eval.stats import mcnemar
from alignx.report import ReportConfig, load_spec, run_report
from alignx.report.spec import SpecError
from alignx.report.table import paired

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def write_spec(tmp_path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def spec_text(model: str, data: str, *, extra_row: str = "", bootstrap: int = 50, beta: float = 0.1,
              model2: str | None = None) -> str:
    return f"""
[report]
title = "tiny"
baseline = "lift"
bootstrap = {bootstrap}
beta = {beta}
dtype = "fp32"
batch_size = 4

[[models]]
name = "lift"
model = "{model}"
reference = "none"

[[models]]
name = "zero shot/row"
model = "{model2 or model}"
reward = "zero-shot"
{extra_row}

[[benchmarks]]
name = "small"
data = "{data}"
personas = ["pair", "ugc"]
"""


def example(i, correct, chosen="a"):
    return {"index": i, "chosen": chosen, "rejected": "b", "correct": correct}


def test_paired_test_counts_discordant_pairs_and_refuses_different_examples():
    row = {"examples": [example(i, True) for i in range(12)]}
    base = {"examples": [example(i, i >= 10) for i in range(10)] + [example(10, True), example(11, True)]}
    test = paired(row, base)
    assert (test["better"], test["worse"], test["significant"], test["mark"]) == (10, 0, True, "†")
    assert paired(row, {"examples": base["examples"][:11]})["comparable"] is False
    other = {"examples": [example(0, True, chosen="other")] + base["examples"][1:]}
    assert paired(row, other) == {"comparable": False, "reason": "example 0 differs from the baseline's"}


# ---------------------------------------------------------------- the spec

@pytest.mark.parametrize("change, message", [
    (lambda t: t.replace('reward = "zero-shot"', 'reward = "zero-shot"\nrefrence = "raw"'),
     "spec.toml: models[2].refrence: unknown key; did you mean 'reference'?"),
    (lambda t: t.replace('reward = "zero-shot"', 'reward = "zero-shot"\nreference = 3'),
     "spec.toml: models[2].reference: must be a string, got 3"),
    (lambda t: t.replace("[[benchmarks]]", "[[benchmark]]"),
     "spec.toml: benchmark: unknown table; did you mean 'benchmarks'?"),
    (lambda t: t.replace('baseline = "lift"', 'baseline = "lifts"'),
     "spec.toml: report.baseline: no row named 'lifts'; did you mean 'lift'?"),
    (lambda t: t.replace('["pair", "ugc"]', '["pairs"]'),
     "spec.toml: benchmarks[1].personas: unknown persona 'pairs'; did you mean 'pair'?"),
    (lambda t: t.replace('reward = "zero-shot"', 'reward = "zero_shot"'),
     "spec.toml: models[2].reward: unknown reward 'zero_shot'; did you mean 'zero-shot'?"),
    (lambda t: t.replace('dtype = "fp32"', 'dtype = "fp8"'), "spec.toml: report.dtype: 'fp8' is unknown"),
    (lambda t: t.replace('data = "x.jsonl"', 'data = "p-soups"'),
     "spec.toml: benchmarks[1].personas: benchmark p-soups has no ugc persona"),
    (lambda t: t.replace('personas = ["pair", "ugc"]', 'personas = ["pair", "profile"]').replace(
        'reference = "none"', 'reference = "none"\nprompt = "ica"'),
     "spec.toml: models[1] (lift) on benchmarks[1] (small), persona profile: --persona profile is read through"),
    (lambda t: t.replace('name = "zero shot/row"', 'name = "lift"'), "spec.toml: models[2].name: 'lift' is used twice"),
    (lambda t: t.replace('name = "lift"', "name = 1"), "spec.toml: models[1].name: must be a string"),
    (lambda t: t + "\n[[models]]\nmodel = 'm'\n", "spec.toml: models[3].name: missing (required)"),
    (lambda t: t + "\n[oops", "spec.toml: not valid TOML"),
])
def test_spec_errors_name_the_file_the_table_and_the_key(tmp_path, change, message):
    path = write_spec(tmp_path, change(spec_text("m", "x.jsonl")))
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value).startswith(str(path) + message.removeprefix("spec.toml")), caught.value
    assert "\n" not in str(caught.value)
    result = CliRunner().invoke(app, ["report", "--spec", str(path), "--dry-run"])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert result.output.startswith(f"error: {path}{message.removeprefix('spec.toml')}")


def test_spec_defaults_and_cells(tmp_path):
    spec = load_spec(write_spec(tmp_path, spec_text("m", "x.jsonl").replace('baseline = "lift"\n', "").replace('name = "small"\n', "").replace(
        'reward = "zero-shot"', 'reward = "zero-shot"\npersonas = ["ugc"]')))
    assert spec.baseline == "lift" and spec.rows[0].reward == "dpo" and spec.columns[0].name == "x.jsonl"
    assert [(c.row.name, c.persona, c.settings.prompt) for c in spec.cells()] == [
        ("lift", "pair", "ica"), ("lift", "ugc", "ica"), ("zero shot/row", "ugc", "ica")]
    assert spec.cells()[2].file == "zero-shot-row__x.jsonl__ugc.json"


def test_output_is_required_unless_dry_run(tmp_path):
    result = CliRunner().invoke(app, ["report", "--spec", str(write_spec(tmp_path, spec_text("m", "x.jsonl")))])
    assert result.exit_code == 2 and "--output is required" in result.output


# ---------------------------------------------------------------- dry run

def test_dry_run_loads_nothing_and_lists_cells_and_models(tmp_path, monkeypatch):
    import alignx.eval.evaluator
    from alignx import registry

    def refuse(*args, **kwargs):
        raise AssertionError("a dry run loaded something")

    monkeypatch.setattr(alignx.eval.evaluator, "load_scored", refuse)
    monkeypatch.setattr(registry, "load", refuse)
    path = write_spec(tmp_path, spec_text("./no/such/model", "/no/such/data.jsonl",
                                          extra_row='[[models]]\nname = "ref"\nmodel = "./no/such/model"\n'
                                                    'reference = "./no/such/reference"\npersonas = ["pair"]'))
    out = tmp_path / "out"
    (out / "cells").mkdir(parents=True)
    cell = load_spec(path).cells()[0]
    (out / "cells" / cell.file).write_text(json.dumps({"settings": {**cell.expected("fp32"), "bootstrap": 50, "seed": 0},
                                                               "examples": []}))
    result = CliRunner().invoke(app, ["report", "--spec", str(path), "--dry-run", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "5 cells" in result.output and "cells: 4 to score, 1 done" in result.output
    assert "lift · small (/no/such/data.jsonl, split default, all records) · pair · prompt ica · dpo vs none  [done]" \
        in result.output
    assert "./no/such/reference: reference of ref" in result.output
    assert "./no/such/model: policy of lift; policy of zero shot/row; policy of ref" in result.output
    assert not (out / "table.json").exists()


def test_shipped_specs_plan_offline():
    for name in ("report-demo.toml", "report-table3.toml"):
        result = CliRunner().invoke(app, ["report", "--spec", str(EXAMPLES / name), "--dry-run"])
        assert result.exit_code == 0, result.output
    table3 = load_spec(EXAMPLES / "report-table3.toml")
    assert len(table3.cells()) == 22 and table3.dtype == "bf16"


# ---------------------------------------------------------------- running, resuming

class CountingEvaluator(Evaluator):
    runs: list[str] = []

    def run(self, records, settings, **kwargs):
        CountingEvaluator.runs.append(f"{settings.reward}/{settings.persona}")
        return super().run(records, settings, **kwargs)


def test_run_writes_cells_and_table_and_a_rerun_scores_only_what_is_missing(tiny_model, tmp_path, write_jsonl):
    data = write_jsonl([make_record(i, pole=float(i % 2)) for i in range(6)])
    other = f"{tiny_model}/"  # the same weights under another model spec: the second row's own model
    path = write_spec(tmp_path, spec_text(str(tiny_model), str(data), model2=other))
    out = tmp_path / "out"
    first = CliRunner().invoke(app, ["report", "--spec", str(path), "--output", str(out), "--no-progress"])
    assert first.exit_code == 0, first.output
    assert "cells: 4 scored, 0 reused" in first.output
    files = sorted(p.name for p in (out / "cells").iterdir())
    assert files == [f"{row}__small__{p}.json" for row in ("lift", "zero-shot-row") for p in ("pair", "ugc")]
    cell = json.loads((out / "cells" / files[0]).read_text())
    assert cell["n"] == 6 and cell["settings"]["model"] == str(tiny_model) and len(cell["examples"]) == 6

    table = json.loads((out / "table.json").read_text())
    assert [(c["benchmark"], c["persona"]) for c in table["columns"]] == [("small", "pair"), ("small", "ugc")]
    assert [r["name"] for r in table["rows"]] == ["lift", "zero shot/row"] and table["baseline"] == "lift"
    lift, zero = table["rows"]
    assert lift["cells"][0]["vs_baseline"] is None and lift["cells"][0]["n"] == 6
    assert lift["cells"][0]["accuracy"] == round(100 * cell["accuracy"], 2)
    test = zero["cells"][0]["vs_baseline"]
    assert test["comparable"] and test["p"] == mcnemar(test["better"], test["worse"])
    markdown = (out / "table.md").read_text()
    assert "| model | small · pair (n=6) | small · ugc (n=6) |" in markdown and "McNemar" in markdown
    assert markdown.count("| zero shot/row |") == 2 and "paired t-test" in markdown

    before = {p.name: p.stat().st_mtime_ns for p in (out / "cells").iterdir()}
    (out / "cells" / files[3]).unlink()  # zero-shot / ugc
    loads = []

    def load_model(name):
        loads.append(name)
        return load_scored(name, progress=False, dtype="fp32")

    CountingEvaluator.runs = []
    config = ReportConfig(spec=str(path), output=str(out), progress=False)
    again = run_report(config, evaluator_cls=CountingEvaluator, load_model=load_model)
    assert CountingEvaluator.runs == ["zero-shot/ugc"] and loads == [other]  # the baseline row is not loaded
    after = {p.name: p.stat().st_mtime_ns for p in (out / "cells").iterdir()}
    assert {k: after[k] for k in files[:3]} == {k: before[k] for k in files[:3]}
    assert again["rows"][0]["cells"] == table["rows"][0]["cells"]

    CountingEvaluator.runs, loads[:] = [], []  # everything done: no model is loaded, nothing scored
    result = CliRunner().invoke(app, ["report", "--spec", str(path), "--output", str(out)])
    assert "cells: 0 scored, 4 reused" in result.output
    run_report(config, evaluator_cls=CountingEvaluator, load_model=load_model)
    assert CountingEvaluator.runs == [] and loads == []

    # a new bootstrap only recomputes the intervals; a new β re-scores, with a note
    path.write_text(spec_text(str(tiny_model), str(data), model2=other, bootstrap=80))
    run_report(config, evaluator_cls=CountingEvaluator, load_model=load_model)
    assert CountingEvaluator.runs == [] and loads == []
    recomputed = json.loads((out / "cells" / files[3]).read_text())
    assert recomputed["settings"]["bootstrap"] == 80 and recomputed["settings"]["model"] == other
    path.write_text(spec_text(str(tiny_model), str(data), model2=other, beta=0.2, bootstrap=80))
    result = CliRunner().invoke(app, ["report", "--spec", str(path), "--output", str(out), "--no-progress"])
    assert "note: lift__small__pair.json: stale (beta was 0.1, now 0.2): to score again" in result.output
    assert "cells: 4 scored, 0 reused" in result.output


def test_reference_base_on_a_model_that_is_no_adapter_fails_before_scoring(tiny_model, tmp_path, write_jsonl):
    data = write_jsonl([make_record(0)])
    path = write_spec(tmp_path, spec_text(str(tiny_model), str(data)).replace(
        'reward = "zero-shot"', 'reference = "base"'))
    result = CliRunner().invoke(app, ["report", "--spec", str(path), "--output", str(tmp_path / "out")])
    assert result.exit_code == 2 and "models[2].reference: base is the base model of an adapter" in result.output
    assert not (tmp_path / "out" / "cells").exists()
