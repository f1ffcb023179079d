"""alignx.generation.steering: decoding-time steering with the user's evidence. Weight 0, identical evidence
contexts and a full plausibility constraint give the universal greedy text, greedy steering is deterministic, the three contexts share one forward
pass per step, and `alignx generate --steer` reads only the shown evidence under --hold-out."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from alignx.errors import OptionError
from alignx.eval.zero_shot import examples_messages
from alignx.generate.config import GenerateConfig
from alignx.generation.base import Settings
from alignx.generation.steering import Steered
from alignx.prompts import universal_messages
from tests.conftest import make_record

POST = "How should I plan a weekend trip?"


def steered(post: str = POST, chosen: str = "Pick one city. Pack light.",
            rejected: str = "There are many considerations to weigh before any trip at all.") -> Steered:
    return Steered(universal_messages(post), examples_messages(post, [chosen]), examples_messages(post, [rejected]))


@pytest.fixture
def generator(tiny_model):
    from alignx import models
    from alignx.generation.local import LocalGenerator

    return LocalGenerator(models.load(str(tiny_model), device="cpu", dtype="fp32"), name="tiny", progress=False)


def texts(generator, requests, settings) -> list[str]:
    got = dict(generator.generate(requests, settings))
    return [got[i].text for i in range(len(requests))]


def requests() -> list[Steered]:
    return [steered(), steered("Which laptop should I buy?", "Any with 16 GB.", "It depends on many things...")]


def universal_texts(generator, settings) -> list[str]:
    return texts(generator, [r.messages for r in requests()], settings)


def test_weight_zero_is_the_universal_greedy_text(generator):
    from alignx.generation.local import finish, generate_kwargs
    from alignx.generation.steering import steered_decode

    settings = Settings(max_new_tokens=12)
    universal = universal_texts(generator, settings)
    assert texts(generator, requests(), settings) == universal  # steering off: the main prompt alone
    rows = [tuple(generator._encode(m) for m in (r.messages, r.toward, r.away)) for r in requests()]
    new = steered_decode(generator.loaded, rows, 0.0, generate_kwargs(generator.loaded, settings))
    assert [finish(generator.loaded, n, settings, 0).text for n in new] == universal  # the loop itself, w = 0


def test_identical_evidence_contexts_give_the_universal_text(generator):
    settings = Settings(max_new_tokens=12)
    same = [Steered(r.messages, r.toward, r.toward) for r in requests()]
    assert texts(generator, same, Settings(max_new_tokens=12, steer=4.0)) == universal_texts(generator, settings)


def test_full_plausibility_keeps_the_universal_greedy_choice(generator):
    """α = 1 leaves only the universal context's most likely token, or the end, whatever the weight."""
    steered_texts = texts(generator, requests(), Settings(max_new_tokens=12, steer=8.0, steer_plausibility=1.0))
    universal = universal_texts(generator, Settings(max_new_tokens=12))
    assert all(u.startswith(s) for s, u in zip(steered_texts, universal, strict=True))


def test_steering_changes_the_text_and_is_deterministic(generator):
    greedy = Settings(max_new_tokens=12, steer=8.0)
    first = texts(generator, requests(), greedy)
    assert texts(generator, requests(), greedy) == first
    assert first != universal_texts(generator, Settings(max_new_tokens=12))
    sampled = Settings(max_new_tokens=12, temperature=0.9, top_k=10, top_p=0.95, seed=3, steer=2.0)
    assert texts(generator, requests(), sampled) == texts(generator, requests(), sampled)


def test_the_evidence_contexts_share_one_forward_pass_per_step(generator):
    model = generator.loaded.model
    calls = []
    forward = model.forward

    def counting(*args, **kwargs):
        calls.append(kwargs["input_ids"].shape[0])
        return forward(*args, **kwargs)

    model.forward = counting
    try:
        got = dict(generator.generate(requests(), Settings(max_new_tokens=10, steer=2.0)))
    finally:
        del model.forward
    assert len(calls) == max(g.tokens for g in got.values())  # one pass per generated token, prompt included
    assert set(calls) == {3 * len(requests())}  # every pass holds all three contexts of every row


# ---------------------------------------------------------------- alignx generate --steer


def test_steer_needs_local_pair_evidence_and_no_best_of(tmp_path):
    out = str(tmp_path / "o.jsonl")
    for bad, match in [({"persona": "ugc"}, "--persona pair or all"), ({"persona": "none"}, "--persona pair or all"),
                       ({"persona": "pair", "upstream": "http://127.0.0.1:1/v1", "upstream_model": "m"}, "local"),
                       ({"persona": "pair", "best_of": 2}, "--best-of"),
                       ({"persona": "pair", "steer": 0.0, "plausibility": 0.1}, "needs --steer"),
                       ({"persona": "pair", "steer": 0.0, "steer_length": 1.0}, "needs --steer")]:
        with pytest.raises(OptionError, match=match):
            GenerateConfig(output=out, **{"steer": 1.0, **bad})
    off = GenerateConfig(output=out, persona="pair", steer=0).generation_settings()
    assert not {"steer", "plausibility", "steer_length"} & set(off)  # off: the hashes of earlier files hold
    assert GenerateConfig(output=out, persona="pair", steer=2.0).generation_settings()["steer"] == 2.0
    assert GenerateConfig(output=out, persona="pair", steer=2.0, plausibility=0).plausibility == 0
    assert GenerateConfig(output=out, persona="pair", steer=2.0, steer_length=0).generation_settings().keys() \
        == off.keys() | {"steer", "plausibility"}


def test_an_untrained_local_model_steers_by_default(tmp_path):
    from alignx.generation.steering import DEFAULT_LENGTH_WEIGHT, DEFAULT_PLAUSIBILITY, DEFAULT_WEIGHT
    from alignx.models import TRAINING_CONFIG

    out = str(tmp_path / "o.jsonl")
    trained = tmp_path / "trained"
    trained.mkdir()
    (trained / TRAINING_CONFIG).write_text("{}")
    for persona in ("pair", "all"):
        config = GenerateConfig(output=out, persona=persona)
        assert (config.steer, config.plausibility, config.steer_length) == (DEFAULT_WEIGHT, DEFAULT_PLAUSIBILITY,
                                                                            DEFAULT_LENGTH_WEIGHT)
    for other in ({"persona": "ugc"}, {"persona": "none"}, {"model": str(trained)}, {"best_of": 2},
                  {"upstream": "http://127.0.0.1:1/v1", "upstream_model": "m"}):
        assert GenerateConfig(output=out, **other).steer == 0, other


def test_the_end_of_the_answer_is_never_implausible():
    """The plausibility floor masks tokens the universal context finds unlikely, but never a stop token."""
    import torch

    from alignx.generation.steering import steered_scores

    main = torch.log_softmax(torch.tensor([[4.0, 3.9, 0.0, -1.0]]), dim=-1)  # token 3 (the stop) is unlikely
    toward = torch.log_softmax(torch.tensor([[0.0, 0.0, 0.0, 5.0]]), dim=-1)  # the chosen examples end here
    away = torch.log_softmax(torch.tensor([[0.0, 0.0, 0.0, 0.0]]), dim=-1)
    masked = steered_scores(main, toward, away, 4.0, plausibility=0.5)
    assert torch.isinf(masked[0, 2:]).all() and masked[0, :2].isfinite().all()
    exempt = steered_scores(main, toward, away, 4.0, plausibility=0.5, stop=torch.tensor([3]))
    assert torch.isinf(exempt[0, 2]) and int(exempt.argmax()) == 3  # the end wins once it may be chosen


def test_the_length_lean_counts_choices_that_took_the_clearly_shorter_or_longer_text():
    from alignx.generation.steering import length_lean
    from alignx.records import Choice

    short, long_, similar = "Patch kit. Five minutes.", "A patch kit works, but first " + "check the tyre " * 4, \
        "Patch kit. Takes five minutes."
    assert length_lean([Choice("p", short, long_), Choice("q", short, long_)]) == 1.0
    assert length_lean([Choice("p", long_, short)]) == -1.0
    assert length_lean([Choice("p", short, long_), Choice("q", long_, short)]) == 0.0
    assert length_lean([Choice("p", short, similar), Choice("q", short, long_)]) == 0.5  # similar lengths: no vote
    assert length_lean([]) == 0.0


def test_the_length_lean_moves_the_end_of_a_steered_answer(generator):
    """A stop bias for a user who took the shorter texts ends the answer at once; one for a user who took the
    longer ones keeps it from ending; the bias scales the lean, so a lean of 0 leaves the text as it was."""
    import torch

    from alignx.generation.steering import steered_scores

    main = torch.log_softmax(torch.tensor([[2.0, 1.0, 0.0]]), dim=-1)
    biased = steered_scores(main, main, main, 4.0, stop=torch.tensor([2]), stop_bias=torch.tensor([3.0]))
    assert torch.allclose(biased[0, 2] - biased[0, 0], main[0, 2] - main[0, 0] + 3.0)
    assert torch.allclose(biased[0, 1] - biased[0, 0], main[0, 1] - main[0, 0])  # the other tokens keep their odds

    settings = Settings(max_new_tokens=8, steer=4.0, steer_plausibility=0.1, steer_length=100.0)
    plain = texts(generator, [steered()], replace(settings, steer_length=0.0))
    [concise] = dict(generator.generate([replace(steered(), lean=1.0)], settings)).values()
    [detailed] = dict(generator.generate([replace(steered(), lean=-1.0)], settings)).values()
    [neutral] = dict(generator.generate([replace(steered(), lean=0.0)], settings)).values()
    assert (concise.tokens, concise.finish_reason) == (1, "stop")
    assert (detailed.tokens, detailed.finish_reason) == (8, "length")
    assert [neutral.text] == plain
    streamed = list(generator.stream(replace(steered(), lean=1.0), settings))
    assert streamed[-1].finish_reason == "stop" and "".join(d.text for d in streamed) == concise.text


def test_generate_steer_reads_only_the_shown_choices(tmp_path, tiny_model):
    from alignx.generate.command import run_generate
    from alignx.held_out import split_evidence
    from alignx.records import parse_record

    record = make_record(0)
    record["Pair-wise Comparative Feedback"] = [
        {**record["Pair-wise Comparative Feedback"][0], "chosen": f"Chosen text {i}.", "rejected": f"Rejected text {i}."}
        for i in range(4)]
    data = tmp_path / "data.jsonl"
    data.write_text(json.dumps(record) + "\n")
    out = tmp_path / "out.jsonl"
    run_generate(GenerateConfig(data=str(data), model=str(tiny_model), output=str(out), persona="pair", hold_out=True,
                                steer=2.0, max_new_tokens=4, progress=False))
    [row] = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["messages"] == universal_messages(record["prompt"])  # the answer reads the question only
    split = split_evidence(parse_record(record, "data", 1))
    toward = row["steering"]["toward"][1]["content"]
    assert all(f"Chosen text {i}." in toward for i in split.shown)
    assert not any(f"Chosen text {i}." in toward for i in split.held)
    assert all(f"Rejected text {i}." in row["steering"]["away"][1]["content"] for i in split.shown)


def test_a_steered_answer_that_writes_back_the_evidence_copies():
    from alignx.judge.copy_rate import row_copies

    request = steered(chosen="Pick one city, book the train early, and pack a single light bag.")
    row = {"prompt": POST, "response": "Sure: pick one city, book the train early, and pack a single light bag.",
           "messages": request.messages}
    assert row_copies(row) is False  # the universal prompt alone does not hold it
    assert row_copies({**row, "steering": request.to_dict()}) is True


def test_a_stream_decodes_every_request_as_generate_does(generator):
    """Steered and plain requests, steering on and off: the streamed text is the generated one."""
    for settings in (Settings(max_new_tokens=8), Settings(max_new_tokens=8, steer=4.0, steer_plausibility=0.1)):
        for request in (requests()[0], requests()[0].messages):
            [(_, generated)] = generator.generate([request], settings)
            streamed = "".join(d.text for d in generator.stream(request, settings))
            assert streamed == generated.text, (settings, type(request))
