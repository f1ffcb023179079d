import copy
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import make_record

from alignx import registry
from alignx.errors import InputNotFound, OptionError
from alignx.records import RecordError, iter_records, load_records, validate, write_records
from alignx.sources import TRAIN_SPLIT, resolve_input


def test_jsonl_round_trip_keeps_released_field_names(tmp_path, write_jsonl):
    rows = [make_record(i) for i in range(3)]
    rows[1]["ground_truth_persona"] = "kept"
    records = load_records(write_jsonl(rows))
    assert [r.prompt for r in records] == [r["prompt"] for r in rows]
    assert records[0].ugc[1].comment == "In moderation, no." and records[0].pairs[0].direction[16] == 1.0
    assert records[1].extra == {"ground_truth_persona": "kept"}
    out = tmp_path / "out.jsonl"
    assert write_records(records, out) == 3
    assert [json.loads(line) for line in out.read_text().splitlines()] == rows


def test_json_array_streams_in_small_chunks(tmp_path, monkeypatch):
    rows = [make_record(i) for i in range(5)]
    rows[2]["Preference Direction"] = [0, 1] + [0.5] * 88  # integers at chunk edges must not be cut
    path = tmp_path / "data.json"
    path.write_text(json.dumps(rows, indent=2))
    from alignx import sources as module

    original = module._iter_json_array
    monkeypatch.setattr(module, "_iter_json_array", lambda p: original(p, chunk_size=7))
    got = load_records(path)
    assert [r.to_dict() for r in got] == [make_record(i) if i != 2 else rows[2] | {"Preference Direction":
                                          [0.0, 1.0] + [0.5] * 88} for i in range(5)]


def test_parquet_and_written_parquet(tmp_path):
    rows = [make_record(i) for i in range(4)]
    path = tmp_path / "data.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    assert [r.prompt for r in iter_records(path)] == [r["prompt"] for r in rows]
    out = tmp_path / "copy.parquet"
    write_records(load_records(path), out)
    assert load_records(out) == load_records(path)


def test_benchmark_style_records_without_persona_parts(write_jsonl):
    row = {"prompt": "p", "chosen": "a", "rejected": "b", "profile": "Likes humor",
           "Pair-wise Comparative Feedback": [{"prompt": "q", "chosen": "c", "rejected": "d"}]}
    (record,) = load_records(write_jsonl([row]))
    assert record.direction is None and record.ugc == () and record.demographic is None
    assert record.pairs[0].direction is None and record.profile == "Likes humor"


def test_hub_code_path_on_local_folder_laid_out_like_the_hub(tmp_path):
    # The hub repos hold parquet shards under data/; datasets.load_dataset reads a folder the same way.
    folder = tmp_path / "AlignX-test" / "data"
    folder.mkdir(parents=True)
    rows = [make_record(i) for i in range(3)]
    pq.write_table(pa.Table.from_pylist(rows), folder / "test-00000-of-00001.parquet")
    records = load_records(tmp_path / "AlignX-test", split="test")
    assert [r.prompt for r in records] == [r["prompt"] for r in rows]
    assert records[0].ugc[0].direction == tuple(rows[0]["User-Generated Content"][0]["Preference Direction"])


def test_demo_data_is_packaged():
    train, test = registry.load("demo", "train"), registry.load("demo", "test")
    assert train and test  # their sizes and the split design: tests/test_demo_data.py
    for r in train + test:
        assert r.ugc and r.pairs and r.demographic and r.direction is not None
        assert all(item.direction is not None for item in r.ugc + r.pairs)
    assert not {r.prompt for r in train} & {r.prompt for r in test}
    with pytest.raises(OptionError, match="no split 'validation'; its splits: test, train"):
        registry.load("demo", "validation")


def test_one_rule_for_the_default_split(tmp_path, write_jsonl):
    """Several splits: the command's default (test for evaluation, train for training), else an error;
    one split: read whole, whatever its name."""
    folder = tmp_path / "built"
    folder.mkdir()
    for split, n in (("train", 3), ("test", 2)):
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(make_record(i)) + "\n" for i in range(n)))
    assert len(load_records(folder)) == 2
    assert len(load_records(folder, default_split=TRAIN_SPLIT)) == 3
    assert len(load_records(folder, "train")) == 3
    (folder / "test.jsonl").rename(folder / "dev.jsonl")
    with pytest.raises(OptionError, match="has splits dev, train; pass --split"):
        load_records(folder)
    (folder / "train.jsonl").unlink()
    assert len(load_records(folder, default_split=TRAIN_SPLIT)) == 2  # the only split, 'dev'
    assert resolve_input(folder).key.endswith(f"dev.jsonl:{(folder / 'dev.jsonl').stat().st_size}:"
                                              f"{(folder / 'dev.jsonl').stat().st_mtime_ns}")


def _mutate(path_expr, value):
    def apply(row):
        target = row
        *parents, last = path_expr
        for key in parents:
            target = target[key]
        if value is KeyError:
            del target[last]
        else:
            target[last] = value
        return row

    return apply


UGC, PAIR, DIR = "User-Generated Content", "Pair-wise Comparative Feedback", "Preference Direction"
BAD = [
    ("direction-length", _mutate([DIR], [0.5] * 89), f"field '{DIR}': must have 90 values, got 89"),
    ("direction-value", _mutate([DIR], [0.5] * 89 + [0.3]), f"field '{DIR}': value 0.3 at position 89 is not one of 0, 0.5, 1"),
    ("item-direction", _mutate([PAIR, 0, DIR], [2] * 90), f"field '{PAIR}' item 1 '{DIR}': value 2"),
    ("missing-chosen", _mutate(["chosen"], KeyError), "field chosen: missing"),
    ("empty-rejected", _mutate(["rejected"], "  "), "field rejected: is empty"),
    ("ugc-missing-comment", _mutate([UGC, 1, "comment"], KeyError), f"field '{UGC}' item 2 'comment': missing"),
    ("pair-missing-rejected", _mutate([PAIR, 0, "rejected"], KeyError), f"field '{PAIR}' item 1 'rejected': missing"),
    ("non-text-prompt", _mutate(["prompt"], 5), "field prompt: must be text, got int"),
    ("non-text-demo", _mutate(["Demographic Information"], ["a"]), "field 'Demographic Information': must be text"),
    ("history-not-list", _mutate([UGC], "oops"), f"field '{UGC}': must be a list, got str"),
]


@pytest.mark.parametrize("name, mutate, message", BAD, ids=[b[0] for b in BAD])
def test_each_error_names_file_record_and_field(write_jsonl, name, mutate, message):
    rows = [make_record(0), mutate(copy.deepcopy(make_record(1))), make_record(2)]
    path = write_jsonl(rows)
    with pytest.raises(RecordError) as info:
        load_records(path)
    assert str(info.value).startswith(f"{path}: record 2: {message}")
    assert info.value.number == 2 and "\n" not in str(info.value)


def test_broken_json_line_and_non_object(write_jsonl):
    path = write_jsonl([make_record(0), '{"prompt": "x",', "[1, 2]"])
    errors = [(n, str(e)) for n, e in validate(path) if e]
    assert errors[0][0] == 2 and "record 2: field (record): invalid JSON on line 2" in errors[0][1]
    assert errors[1][0] == 3 and "must be a JSON object, got list" in errors[1][1]


def test_broken_json_array(tmp_path):
    path = tmp_path / "data.json"
    path.write_text(json.dumps([make_record(0)]) [:-1] + ', {"prompt": ')
    results = list(validate(path))
    assert results[0] == (1, None)
    assert results[1][0] == 2 and "invalid JSON" in str(results[1][1])


def test_unknown_suffix_and_missing_file(tmp_path):
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(ValueError, match="unknown file type '.csv'"):
        load_records(tmp_path / "x.csv")
    with pytest.raises(InputNotFound, match="no such file"):
        load_records(tmp_path / "missing.jsonl")


def test_failed_write_keeps_existing_file(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text("precious\n")

    def rows():
        yield make_record(0)
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_records(rows(), out)
    assert out.read_text() == "precious\n" and len(list(tmp_path.iterdir())) == 1
