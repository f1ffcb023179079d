"""alignx.generate: the file contract and resume (a SIGKILL mid-write), batched generation identical to a
one-prompt loop under greedy decoding, the upstream backend through the official client against a
scripted server, best-of-N picking what the reward ranks first, and one-line errors."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from alignx.errors import OptionError, UserError
from alignx.generate.best_of import candidate_sources, pick_best
from alignx.generate.config import GenerateConfig
from alignx.generate.copying import SPAN, copied_span, copies_prompt, tokens
from alignx.generate.files import GenerationFileError, GenerationWriter, make_meta, read_generations, record_key
from alignx.records import Record
from tests.conftest import make_record
from tests.fake_openai import MODEL, FakeServer, answer, error

SRC = Path(__file__).resolve().parents[1] / "src"


def records_file(tmp_path, n=6) -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(make_record(i)) + "\n" for i in range(n)))
    return path


def config(tmp_path, model, **overrides) -> GenerateConfig:
    values = {"data": str(records_file(tmp_path)), "model": str(model), "output": str(tmp_path / "out.jsonl"),
              "max_new_tokens": 6, "batch_size": 4, "progress": False, **overrides}
    return GenerateConfig(**values)


def lines(path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


# ---------------------------------------------------------------- the file


def test_record_key_is_the_contract_hash():
    record = Record(prompt="p", chosen="c", rejected="r")
    expected = hashlib.sha256(b"p\x1fc\x1fr\x1f3").hexdigest()[:16]
    assert record_key(record, 3) == expected and record_key(record, 4) != expected


def test_writer_skips_rows_present_and_cuts_a_torn_last_line(tmp_path):
    out = tmp_path / "g.jsonl"
    meta = make_meta({"seed": 0}, "demo", None)
    row = {"key": "k", "record": 0, "sample": 0, "prompt": "p", "response": "r", "tokens": 1}
    with GenerationWriter(out, meta) as writer:
        assert writer.write(row) and not writer.write(row)
    with open(out, "a") as f:
        f.write('{"key": "k2", "record": 1, "sa')  # a kill in the middle of a line
    with GenerationWriter(out, meta) as writer:
        assert writer.done == {("k", 0)}
        assert writer.write({**row, "key": "k2", "record": 1})
    meta_read, rows = read_generations(out)
    assert meta_read == meta and [r["key"] for r in rows] == ["k", "k2"]


def test_read_generations_names_the_file_and_line(tmp_path):
    out = tmp_path / "g.jsonl"
    with pytest.raises(GenerationFileError, match="no settings sidecar"):
        read_generations(out)
    with GenerationWriter(out, make_meta({}, "demo", None)):
        pass
    out.write_text('{"key": "k", "record": 0, "sample": 0, "prompt": "p", "response": "r", "tokens": 1}\n{"key": 1}\n')
    with pytest.raises(GenerationFileError, match=r"g.jsonl: line 2: lacks record, sample"):
        read_generations(out)


# ---------------------------------------------------------------- local generation


def test_batched_greedy_generation_equals_a_one_prompt_loop(tiny_model):
    from alignx import models
    from alignx.generation.base import Settings
    from alignx.generation.local import LocalGenerator

    loaded = models.load(str(tiny_model), device="cpu", dtype="fp32")
    requests = [[{"role": "user", "content": f"Question {i}: " + "tell me more " * (i * 3 % 7)}]
                for i in range(7)]  # different lengths
    settings = Settings(max_new_tokens=12)
    batched = dict(LocalGenerator(loaded, name="tiny", batch_size=3, progress=False).generate(requests, settings))
    one_at_a_time = LocalGenerator(loaded, name="tiny", batch_size=1, progress=False)
    for i, request in enumerate(requests):
        [(_, alone)] = one_at_a_time.generate([request], settings)
        assert batched[i] == alone, i
    assert sorted(batched) == list(range(7))


@pytest.mark.parametrize("alone", [False, True], ids=["padded", "alone"])
def test_a_batch_prefilled_with_less_work_gives_the_same_texts_and_next_token_scores(tiny_model, monkeypatch, alone):
    """Best-of-N and --samples N repeat prompts: each distinct one is prefilled once and its cache expanded; on CPU,
    long prompts (all of them here, `alone`) are each prefilled without padding. The texts, sampled from the same
    seed, are those of the padded batch that reads every row, and the cache gives each row its own next-token
    scores."""
    import torch

    from alignx import models
    from alignx.generation import local
    from alignx.generation.base import Settings
    from alignx.generation.local import LocalGenerator

    monkeypatch.setattr(local, "PREFILL_ALONE_TOKENS", 1 if alone else 10**9)
    loaded = models.load(str(tiny_model), device="cpu", dtype="fp32")
    a, b, c = ([{"role": "user", "content": text}] for text in ("A short question?", "A longer question " * 5,
                                                                  "Another one, of a third length, here."))
    requests = [a, b, a, a, b, c]
    generator = LocalGenerator(loaded, name="tiny", batch_size=6, progress=False)
    prefills = []
    forward = loaded.model.forward
    monkeypatch.setattr(loaded.model, "forward", lambda *args, **kw: prefills.append(kw["input_ids"].shape)
                        or forward(*args, **kw))
    for settings in (Settings(max_new_tokens=10), Settings(max_new_tokens=10, temperature=0.9, top_k=10, seed=3)):
        prefills.clear()
        fewer = dict(generator.generate(requests, settings, ids=list("uvwxyz")))
        # The three distinct prompts, read once: together (padded), or one by one at their own lengths.
        reads = [shape[0] for shape in prefills[:3 if alone else 1]]
        assert reads == ([1, 1, 1] if alone else [3])
        if alone:
            assert sorted(shape[1] for shape in prefills[:3]) == sorted(len(generator._encode(r)) - 1 for r in (a, b, c))
        assert fewer[0].text == fewer[2].text == fewer[3].text or settings.sampling
        with monkeypatch.context() as m:
            m.setattr(LocalGenerator, "_prefill", lambda self, *args: None)
            every_row = dict(generator.generate(requests, settings, ids=list("uvwxyz")))
        assert fewer == every_row
    monkeypatch.setattr(loaded.model, "forward", forward)
    rows = [generator._encode(r) for r in requests]
    width = max(map(len, rows))
    ids = torch.tensor([[0] * (width - len(t)) + t for t in rows])
    mask = torch.tensor([[0] * (width - len(t)) + [1] * len(t) for t in rows])
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    with torch.inference_mode():
        cache = generator._prefill(rows, ids, mask, width)
        next_token = loaded.model(input_ids=ids[:, -1:], attention_mask=mask, position_ids=positions[:, -1:],
                                  cache=cache).logits[:, -1]
        whole = loaded.model(input_ids=ids, attention_mask=mask, position_ids=positions).logits[:, -1]
    assert torch.allclose(next_token, whole, atol=1e-5)  # each row's own


def test_local_stream_equals_the_batched_answer_and_a_model_without_eos_runs_to_the_limit(tiny_model):
    from alignx import models
    from alignx.generation.base import Settings
    from alignx.generation.local import LocalGenerator

    loaded = models.load(str(tiny_model), device="cpu", dtype="fp32")
    generator = LocalGenerator(loaded, name="tiny", progress=False)
    request, settings = [{"role": "user", "content": "Name a fruit."}], Settings(max_new_tokens=8)
    [(_, plain)] = generator.generate([request], settings)
    deltas = list(generator.stream(request, settings))
    assert "".join(d.text for d in deltas) == plain.text and deltas[-1].finish_reason == plain.finish_reason
    loaded.model.generation_config.eos_token_id = None
    loaded.tokenizer.eos_token_id = None
    [(_, endless)] = generator.generate([request], settings)
    assert (endless.tokens, endless.finish_reason) == (8, "length")
    assert list(generator.stream(request, settings))[-1].finish_reason == "length"


def test_resume_after_sigkill_mid_write_has_no_duplicates(tmp_path, tiny_model, capsys):
    """A real process killed (SIGKILL) while writing its 4th line; the rerun completes without duplicates."""
    cfg = config(tmp_path, tiny_model, batch_size=1, temperature=0.0)
    settings = tmp_path / "config.json"
    settings.write_text(json.dumps(cfg.__dict__))
    driver = textwrap.dedent(f"""
        import json, os, signal
        from alignx.generate import files
        from alignx.generate.command import run_generate
        from alignx.generate.config import GenerateConfig
        write = files.GenerationWriter.write
        def dying_write(self, row):
            if len(self.done) == 3:  # half a line reaches the disk, then the process dies
                self._file.write(b'{{"key": "' + row["key"].encode())
                self._file.flush()
                os.kill(os.getpid(), signal.SIGKILL)
            return write(self, row)
        files.GenerationWriter.write = dying_write
        run_generate(GenerateConfig(**json.loads(open({str(settings)!r}).read())))
    """)
    env = {**os.environ, "PYTHONPATH": f"{SRC}", "OMP_NUM_THREADS": "1"}
    killed = subprocess.run([sys.executable, "-c", driver], env=env, capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr[-2000:]
    text = Path(cfg.output).read_text()
    assert text.count("\n") == 3 and not text.endswith("\n")  # three rows and a torn fourth
    from alignx.generate.command import run_generate

    run_generate(cfg)
    assert "wrote 3 rows" in capsys.readouterr().out  # only the three not written before the kill
    rows = lines(cfg.output)
    assert len(rows) == 6 and len({(r["key"], r["sample"]) for r in rows}) == 6
    assert sorted(r["record"] for r in rows) == list(range(6))
    run_generate(cfg)  # a third run has nothing to do
    assert len(lines(cfg.output)) == 6


def test_other_settings_refuse_to_mix_unless_overwrite(tmp_path, tiny_model):
    from alignx.generate.command import run_generate

    run_generate(config(tmp_path, tiny_model, limit=2, samples=2))
    assert len(lines(tmp_path / "out.jsonl")) == 4
    with pytest.raises(GenerationFileError, match=r"other settings \(temperature 0.9 -> 0.5\); pass --overwrite"):
        run_generate(config(tmp_path, tiny_model, limit=2, samples=2, temperature=0.5))
    run_generate(config(tmp_path, tiny_model, limit=2, temperature=0.5, overwrite=True))
    meta, rows = read_generations(tmp_path / "out.jsonl")
    assert len(rows) == 2 and meta["settings"]["temperature"] == 0.5


def test_cli_errors_are_one_line(tmp_path):
    from typer.testing import CliRunner

    from alignx.cli import app

    result = CliRunner().invoke(app, ["generate", "--output", str(tmp_path / "o.jsonl"), "--upstream",
                                      "http://127.0.0.1:9/v1"])
    assert result.exit_code == 2
    assert "--upstream and --upstream-model go together" in result.output


@pytest.mark.parametrize(("overrides", "message"), [
    ({"persona": "none", "best_of": 4}, "needs a --persona, not none"),
    ({"best_of": 2, "temperature": 0.0, "candidates": "persona"}, "same candidate N times"),
    ({"candidates": "nope"}, "unknown --candidates 'nope'"),
    ({"upstream": "127.0.0.1:8000", "upstream_model": "m"}, "not an http"),
    ({"top_p": 0.0}, "--top-p"),
])
def test_config_errors_name_the_option(overrides, message):
    with pytest.raises(OptionError, match=message):
        GenerateConfig(output="o.jsonl", **overrides)


# ---------------------------------------------------------------- upstream


@pytest.mark.slow  # a fake server
def test_upstream_generation_through_the_openai_client(tmp_path):
    from alignx.generate.command import run_generate

    with FakeServer() as server:
        server.default = answer("A real answer.")
        server.script.extend([error(500, "boom")] * 2)  # the first request fails twice: --retries 1 gives up
        cfg = config(tmp_path, "unused", upstream=server.url, upstream_model=MODEL, workers=1, retries=1)
        with pytest.raises(UserError, match=r"1 of 6 rows failed \(first: .*server error 500 \(2 tries\): boom\)"):
            run_generate(cfg)
        assert len(lines(cfg.output)) == 5
        run_generate(replace(cfg, workers=3))  # the rerun asks for the missing row only
        rows = lines(cfg.output)
        assert len(rows) == 6 and len(server.requests) == 2 + 5 + 1
        assert {r["response"] for r in rows} == {"A real answer."} and all(r["tokens"] == 5 for r in rows)
        request = server.requests[-1]
        assert (request["model"], request["temperature"], request["top_p"], request["top_k"],
                request["max_tokens"]) == (MODEL, 0.9, 0.95, 10, 6)
        assert "***Historical Behavior and User Preferences***" in request["messages"][1]["content"]
        assert server.max_in_flight == 1
        # Three workers: the first two requests of the run are answered only once both are in flight together.
        together, before = threading.Barrier(2), len(server.requests)
        server.respond = lambda body: (answer("A real answer.", hold=together)
                                       if len(server.requests) <= before + 2 else None)
        run_generate(replace(cfg, workers=3, overwrite=True))
        assert len(lines(cfg.output)) == 6 and server.max_in_flight > 1
        assert len({r["seed"] for r in server.requests[-6:]}) == 6  # each row its own seed


@pytest.mark.slow  # a fake server
def test_upstream_without_the_model_is_one_line(tmp_path):
    from alignx.generate.command import run_generate
    from alignx.generation.upstream import UpstreamError

    with FakeServer() as server:
        with pytest.raises(UpstreamError, match=r"offers no model 'other'; it offers: test-model$"):
            run_generate(config(tmp_path, "unused", upstream=server.url, upstream_model="other"))


# ---------------------------------------------------------------- best-of-N


class LengthScorer:
    """Scores a response by minus its length: the shortest is the most likely."""

    tokens_processed = 0

    def score(self, requests, *, description="scoring"):
        return [tuple(-float(len(r)) for r in request.responses) for request in requests]


def test_pick_best_takes_what_the_reward_ranks_first():
    from alignx.eval.evaluator import ScoredModel
    from alignx.eval.terms import Role, Term

    scorer = ScoredModel("fake", lambda messages: messages[-1]["content"], LengthScorer())
    terms = [Term(1.0, Role.POLICY, [{"role": "user", "content": "p"}], "persona")]
    pick = pick_best(["a long answer", "short", "medium one"], terms, scorer)
    assert pick.index == 1 and pick.rewards == [-13.0, -5.0, -10.0]
    flipped = pick_best(["a long answer", "short"], [Term(-1.0, Role.POLICY, terms[0].messages, "x")], scorer)
    assert flipped.index == 0
    copying = ["my chosen text", "a longer real answer"]
    assert pick_best(copying, terms, scorer).index == 0
    assert pick_best(copying, terms, scorer, copies=[True, False]).index == 1
    assert pick_best(copying, terms, scorer, copies=[True, True]).index == 0  # all copy: the reward decides


def test_best_of_rows_hold_the_top_ranked_candidate(tmp_path, tiny_model):
    """Candidates from an upstream (scripted: persona-prompt candidates copy the user's history), ranked by the
    tiny model: a copying candidate is never written while one that does not copy is there."""
    from alignx.generate.command import run_generate

    history = make_record(0)["Pair-wise Comparative Feedback"][0]["rejected"]  # in the ICA prompt, not the post
    with FakeServer() as server:
        texts = [f"Well: {history} and so on, said the history.", "Book early and pack light.",
                 f"***History and User Preferences*** {history}", "Go somewhere close."]
        server.script.extend(answer(t) for t in texts * 2)
        cfg = config(tmp_path, tiny_model, limit=2, upstream=server.url, upstream_model=MODEL, workers=1,
                     best_of=4, reward="zero-shot", candidates="both")
        run_generate(cfg)
    rows = lines(cfg.output)
    assert len(rows) == 2 and len(server.requests) == 8
    sources = candidate_sources(4, "both")
    for n, row in enumerate(rows):
        assert len(row["rewards"]) == 4 and row["sources"] == sources
        assert row["copies"] == [True, False, True, False]  # the scripted texts, in order (one worker)
        best = max(range(4), key=lambda i: (not row["copies"][i], row["rewards"][i], -i))
        assert row["chosen_from"] == sources[best]
        assert not copies_prompt(row["response"], row["messages"], row["prompt"])
        assert row["messages"] == server.requests[4 * n + best]["messages"]  # the prompt the written answer came from


MESSAGES = [{"role": "system", "content": "Generate a task-specific response based on the history."},
            {"role": "user", "content": "***History*** *Chosen:* Patch kit, five minutes, then ride home slowly. "
                                        "***Task*** **Post:** How do I fix a flat tire on my road bike today?"}]
POST = "How do I fix a flat tire on my road bike today?"


def test_an_answer_that_repeats_eight_tokens_of_the_history_copies():
    assert copied_span("Sure. Patch kit, five minutes, then ride home slowly.", MESSAGES, POST) == \
        "patch kit , five minutes , then ride"
    assert copies_prompt("***History*** *Chosen:* patch kit", MESSAGES, POST)  # the scaffold counts as well
    assert not copies_prompt("Patch kit, five minutes, then go.", MESSAGES, POST)  # 7 tokens of it: no span of 8


def test_repeating_the_post_is_not_copying():
    assert not copies_prompt(f"You asked: {POST} Use a patch kit.", MESSAGES, POST)
    assert not copies_prompt("Have a garage check the brake pads before the trip.", MESSAGES, POST)


def test_tokens_are_case_folded_words_and_single_punctuation_marks():
    assert tokens("Patch KIT, five-minutes!") == ["patch", "kit", ",", "five", "-", "minutes", "!"]
    assert SPAN == 8


@pytest.mark.slow  # a fake server
@pytest.mark.parametrize(("persona", "section", "system"), [
    ("profile", "***User Preferences***", "based on user preferences"),
    ("none", "***Response:***", "Generate a task-specific response.\n"),
])
def test_pba_and_universal_prompts_reach_the_model(tmp_path, persona, section, system):
    from alignx.generate.command import run_generate

    with FakeServer() as server:
        server.default = answer("ok")
        cfg = config(tmp_path, "unused", persona=persona, limit=1, upstream=server.url, upstream_model=MODEL)
        run_generate(cfg)
    [request] = server.requests
    assert section in request["messages"][1]["content"] and system in request["messages"][0]["content"]
    assert "Historical Behavior" not in request["messages"][1]["content"]
    assert read_generations(cfg.output)[0]["settings"]["prompt"] == ("pba" if persona == "profile" else None)


def test_a_record_without_the_persona_stops_the_run_before_anything_is_generated(tmp_path):
    from alignx.generate.command import run_generate
    from alignx.personas import PersonaError

    rows = [make_record(0), {"prompt": "p", "chosen": "c", "rejected": "r"}]
    data = tmp_path / "mixed.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(PersonaError, match=r"mixed.jsonl: record 2: persona 'pair' is absent"):
        run_generate(GenerateConfig(data=str(data), persona="pair", output=str(tmp_path / "o.jsonl"),
                                    upstream="http://127.0.0.1:9/v1", upstream_model="m"))
    assert not (tmp_path / "o.jsonl").exists()
