"""Held-out evidence: the deterministic split of a user's evidence, what `alignx generate --hold-out` shows the
model, and what it records in the generation file's meta."""

import json

import pytest
from conftest import make_record
from fake_openai import MODEL, FakeServer, answer

from alignx.errors import OptionError
from alignx.generate.config import GenerateConfig
from alignx.held_out import held_out_view, shown_record, split_evidence
from alignx.records import Record


def choices(n: int, tag: str = "") -> list[dict]:
    return [{"prompt": f"Other post {k}{tag}?", "chosen": f"Chosen answer number {k}{tag}, short.",
             "rejected": f"Rejected answer number {k}{tag}, which goes on and on."} for k in range(n)]


def record_with(n_pairs: int, i: int = 0, **fields) -> Record:
    return Record.from_dict({**make_record(i), "Pair-wise Comparative Feedback": choices(n_pairs), **fields})


def test_pair_choices_alternate_and_every_one_is_shown_or_held_out_once():
    for i in range(8):
        split = split_evidence(record_with(5, i))
        assert sorted(split.shown + split.held) == [0, 1, 2, 3, 4] and not set(split.shown) & set(split.held)
        assert {split.held[0], split.shown[0]} == {0, 1}
        assert list(split.held) == list(range(split.held[0], 5, 2))
    firsts = {split_evidence(record_with(4, i)).held[0] for i in range(16)}
    assert firsts == {0, 1}  # the record draws which comes first


def test_the_split_reads_nothing_of_the_evidence_it_splits():
    record = record_with(4, 3)
    other = Record.from_dict({**make_record(3), "Pair-wise Comparative Feedback": choices(4, tag=" (edited)")})
    assert split_evidence(record) == split_evidence(other)
    assert split_evidence(record) == split_evidence(record)


def test_a_lone_choice_is_held_out_and_without_choices_the_stated_preference_is():
    assert split_evidence(record_with(1)).held == (0,) and shown_record(record_with(1)).pairs == ()
    stated = record_with(0, **{"Stated Preference": "Keep it short."})
    assert shown_record(stated).stated is None and held_out_view(stated).stated == "Keep it short."
    assert held_out_view(record_with(0)).is_empty


def test_what_is_shown_and_what_is_held_out_are_the_record_s_choices_split():
    record = record_with(4, 1)
    split = split_evidence(record)
    assert shown_record(record).pairs == tuple(record.pairs[i] for i in split.shown)
    assert held_out_view(record).pairs == tuple(record.pairs[i] for i in split.held)
    assert shown_record(record).ugc == record.ugc and shown_record(record).demographic == record.demographic


def test_hold_out_needs_a_persona(tmp_path):
    with pytest.raises(OptionError, match="--hold-out"):
        GenerateConfig(output=str(tmp_path / "o.jsonl"), persona="none", hold_out=True)


@pytest.mark.slow  # a fake server
def test_generate_hold_out_shows_the_model_only_the_shown_choices_and_records_the_split(tmp_path):
    from alignx.generate.command import run_generate
    from alignx.generate.files import read_generations

    data = tmp_path / "data.jsonl"
    rows = [{**make_record(i), "Pair-wise Comparative Feedback": choices(4, tag=f" r{i}")} for i in range(3)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with FakeServer() as server:
        server.default = answer("ok")
        config = GenerateConfig(data=str(data), persona="pair", output=str(tmp_path / "out.jsonl"), hold_out=True,
                                upstream=server.url, upstream_model=MODEL, workers=1, progress=False)
        run_generate(config)
    meta, written = read_generations(config.output)
    assert meta["settings"]["hold_out"] == "pair-alternate"
    for row in written:
        record = Record.from_dict(rows[row["record"]])
        split = split_evidence(record)
        assert meta["held_out"][row["key"]] == split.to_dict()
        prompt = row["messages"][-1]["content"]
        assert all(record.pairs[i].chosen in prompt for i in split.shown)
        assert not any(record.pairs[i].chosen in prompt for i in split.held)
    assert [r["messages"] for r in written] == [r["messages"] for r in server.requests]
