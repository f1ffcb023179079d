"""The learned local inferencer: training data (dedupe, mirrors, split), the folder, reading, metrics, commands."""

import json

import pytest
from conftest import make_direction, make_record
from typer.testing import CliRunner

from alignx.annotate.base import AnnotatorError, annotate_all, item_key
from alignx.annotate.check import agreement
from alignx.annotate.learn import examples_of, mirrored, split_examples
from alignx.annotate.local import LocalInferencer, swap
from alignx.annotate.metrics import macro_f1, pole_scores
from alignx.answer_cache import AnswerCache
from alignx.cli import app
from alignx.records import Choice, Comment, Record

torch = pytest.importorskip("torch")
runner = CliRunner()
def distinct_record(i):
    """make_record(i) on alternating poles, with history texts of its own (equal texts would share one answer)."""
    row = make_record(i, pole=float(i % 2))
    for item in row["User-Generated Content"] + row["Pair-wise Comparative Feedback"]:
        item["prompt"] += f" ({i})"
    return row


def test_examples_are_distinct_mirrored_and_split_by_texts():
    record = Record.from_dict(make_record(0))
    twice = [record, Record.from_dict(make_record(0, pole=0.0))]  # same texts, the other pole: a conflict
    examples, conflicts = examples_of(twice, mirror_pairs=True)
    assert conflicts == 4  # its own choice, two comments and one choice: each repeated with the other pole
    choices = [e for e in examples if isinstance(e.item, Choice)]
    assert len(choices) == 4  # two choices and their mirrors
    by_key = {item_key(e.item): e for e in examples}
    for e in choices:
        twin = by_key[item_key(swap(e.item))]
        assert twin.direction == mirrored(e.direction) and twin.group == e.group
        assert e.item.direction is None  # items carry no label; the example does
    assert len(examples_of(twice, mirror_pairs=False)[0]) == 4
    train, held = split_examples(examples, 0.5, seed=3)
    assert {e.group for e in train}.isdisjoint({e.group for e in held})
    assert len(train) + len(held) == len(examples)


def test_pole_scores_count_failures_as_misses():
    truth = [make_direction(d1=1.0), make_direction(d1=1.0), make_direction(d1=0.0), make_direction()]
    predicted = [make_direction(d1=1.0), None, make_direction(d1=1.0), make_direction(d2=0.0)]
    scores = {(s.index, s.value): s for s in pole_scores(truth, predicted)}
    positive = scores[(1, 1.0)]
    assert (positive.precision, positive.recall, positive.support) == (0.5, 0.5, 2)
    assert scores[(1, 0.0)].f1 == 0.0 and scores[(2, 0.0)].precision == 0.0 and scores[(2, 0.0)].support == 0
    assert macro_f1(list(scores.values())) == pytest.approx((0.5 + 0.0) / 2)  # only poles the truth uses


def test_inferencer_folder_answers_every_dimension(tiny_inferencer):
    inferencer = LocalInferencer.load(tiny_inferencer, device="cpu")
    manifest = json.loads((tiny_inferencer / "inferencer.json").read_text())
    assert inferencer.identity.startswith(f"local:{manifest['weights']}")
    items = [Comment("A post", "A comment"), Choice("A post", "short", "a much longer answer")]
    annotations = annotate_all(inferencer, items)
    for a in annotations:
        assert len(a.direction) == 90 and set(a.direction) <= {0.0, 0.5, 1.0}
        assert all(1 / 3 - 1e-6 <= c <= 1.0 for c in a.confidence)
    metrics = json.loads((tiny_inferencer / "metrics.json").read_text())
    assert metrics["train_items"] > 0 and metrics["config"]["model"]


def test_a_choice_reads_the_same_whichever_response_comes_first(tiny_inferencer):
    """Trained with mirrored pairs, the inferencer averages both readings: swapping the responses exchanges
    the poles exactly."""
    inferencer = LocalInferencer.load(tiny_inferencer, device="cpu")
    pair = Choice("Which is better?", "The first answer, short.", "The second answer, much longer and slower.")
    forward, backward = inferencer.probabilities([pair, swap(pair)])
    assert torch.allclose(forward, backward.flip(-1), atol=1e-5)


def test_training_learns_a_signal_it_was_not_shown(humour_inferencer):
    """From a random tiny model: jokes versus formal comments, judged on held-out comments."""
    held = json.loads((humour_inferencer / "metrics.json").read_text())["held_out"]
    humour = [p for p in held["poles"] if p["index"] == 73 and p["support"]]
    assert len(humour) == 2 and all(p["f1"] >= 0.8 for p in humour), held  # all-neutral scores 0, a coin 0.5


def test_eval_reports_agreement_and_identical_profiles(tiny_inferencer, tmp_path):
    """With the true answers in the cache, every pole and every profile agree; with nothing, the inferencer
    decides and the report still covers every item."""
    records = [Record.from_dict(distinct_record(i)) for i in range(4)]
    inferencer = LocalInferencer.load(tiny_inferencer, device="cpu")
    with AnswerCache(tmp_path / "truth.sqlite") as cache:
        for record in records:
            for item, direction in [(Choice(record.prompt, record.chosen, record.rejected), record.direction),
                                    *((c, c.direction) for c in record.ugc), *((p, p.direction) for p in record.pairs)]:
                cache.put(inferencer.identity, item_key(item), {"direction": list(direction)})
        report = agreement(records, inferencer, cache, progress=False)
    assert report["macro_f1"] == 1.0 and report["profiles"] == {"compared": 4, "identical": 4, "share": 1.0}
    assert report["items"] == 16 and report["annotated"] == 0


def test_commands_reject_bad_input_in_one_line(tmp_path, write_jsonl, tiny_inferencer):
    unlabelled = make_record(0)
    del unlabelled["Preference Direction"]
    for item in unlabelled["User-Generated Content"] + unlabelled["Pair-wise Comparative Feedback"]:
        del item["Preference Direction"]
    cases = [
        (["annotate", "train", "--data", str(write_jsonl([unlabelled])), "--output", str(tmp_path / "o")],
         "no item carries a 'Preference Direction'"),
        (["annotate", "train", "--data", "demo", "--output", str(tiny_inferencer)], "exists"),
        (["annotate", "eval", "--annotator", f"local:{tmp_path}"], "not an inferencer folder"),
    ]
    for args, expected in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert expected in result.output and len(result.output.strip().splitlines()) == 1, result.output
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "inferencer.json").write_text("{not json")
    with pytest.raises(AnnotatorError, match="not valid JSON"):
        LocalInferencer.load(broken)
