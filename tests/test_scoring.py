"""scoring.py: the shared-prefix scorer agrees with the plain loop; the encoding convention; adapters off."""

from __future__ import annotations

import copy
import math

import pytest

torch = pytest.importorskip("torch")

from alignx.eval.scoring import (  # noqa: E402
    LoopScorer,
    PrefixSharingScorer,
    ScorerConfig,
    ScoreRequest,
    encode,
)
from alignx.models import LoadedModel, ResolvedModel, load  # noqa: E402
from alignx.prompts import render, universal_messages  # noqa: E402

QUIET = {"progress": False}


@pytest.fixture(scope="module")
def embedded() -> LoadedModel:
    return load("default")


@pytest.fixture(scope="module")
def requests(embedded) -> list[ScoreRequest]:
    """Prompts of different lengths, in no length order, with responses of different lengths."""
    posts = ["Best pizza topping?", "How do I keep basil alive on a windowsill " * 4, "Tea or coffee in the morning?"]
    responses = [
        ("Pineapple, fight me.", "Mushrooms and a little chili oil on a thin crust.", ""),
        ("Water it less.", "Sun, drainage, and pinch off the flowers so it keeps growing leaves."),
        ("Tea.", "Coffee, black, before anyone talks to me.", "Both.", "Neither: water first."),
    ]
    return [ScoreRequest(render(embedded.tokenizer, universal_messages(p)), r)
            for p, r in zip(posts, responses, strict=True)]


def max_delta(a: list[tuple[float, ...]], b: list[tuple[float, ...]]) -> float:
    assert [len(x) for x in a] == [len(x) for x in b]
    return max(abs(x - y) for ra, rb in zip(a, b, strict=True) for x, y in zip(ra, rb, strict=True))


@pytest.fixture(scope="module")
def loop_scores(embedded, requests) -> list[tuple[float, ...]]:
    scorer = LoopScorer(embedded, ScorerConfig(**QUIET))
    scores = scorer.score(requests)
    lengths = [sum(map(len, encode(embedded.tokenizer, r.prompt, y, 10_000))) for r in requests for y in r.responses]
    assert scorer.tokens_processed == sum(lengths)  # one full sequence per response
    return scores


@pytest.mark.parametrize(("batch_size", "prompts_per_pass"), [(2, 1), (5, 1), (5, 5)])
def test_prefix_sharing_equals_loop_on_embedded_model(embedded, requests, loop_scores, batch_size, prompts_per_pass):
    # batch 2: the 3- and 4-response requests go alone and their responses are split over passes;
    # batch 5: two requests share a group, their caches are right-padded to one width (CPU: filled one by
    # one; prompts_per_pass=5, as on a GPU: in one padded prompt pass).
    scorer = PrefixSharingScorer(embedded, ScorerConfig(batch_size=batch_size, **QUIET))
    scorer.prompts_per_pass = prompts_per_pass
    scores = scorer.score(requests)
    assert max_delta(scores, loop_scores) < 1e-3
    assert all(math.isfinite(x) and x < 0 for row in scores for x in row)
    # Each prompt ran once (its last token opens each response pass), where the loop repeats it per response.
    encoded = [(encode(embedded.tokenizer, r.prompt, y, 10_000)) for r in requests for y in r.responses]
    prompts = [len(encode(embedded.tokenizer, r.prompt, "", 10_000)[0]) for r in requests]
    real = scorer.tokens_processed - scorer.padding_tokens
    assert real == sum(p - 1 for p in prompts) + sum(len(y) for _, y in encoded)
    assert scorer.seconds > 0 and scorer.flops > 0


def test_results_follow_the_order_of_requests(embedded, requests, loop_scores):
    reordered = [requests[2], requests[0], requests[1]]
    scores = PrefixSharingScorer(embedded, ScorerConfig(batch_size=8, **QUIET)).score(reordered)
    assert max_delta(scores, [loop_scores[2], loop_scores[0], loop_scores[1]]) < 1e-3
    # Chosen and rejected differ, so a swap inside a request would show.
    assert abs(loop_scores[1][0] - loop_scores[1][1]) > 1


def test_empty_input_and_request_without_responses(embedded, requests):
    scorer = PrefixSharingScorer(embedded, ScorerConfig(**QUIET))
    assert scorer.score([]) == []
    scores = scorer.score([ScoreRequest(requests[0].prompt, ()), requests[1]])
    assert scores[0] == () and len(scores[1]) == 2


def test_encode_follows_the_released_convention(embedded):
    tok = embedded.tokenizer
    bos, eos = tok.bos_token_id, tok.eos_token_id
    rendered = render(tok, universal_messages("hello"))
    assert rendered.startswith(tok.bos_token)
    prompt, response = encode(tok, rendered, "Sure thing.", 10_000)
    # The chat template already starts with BOS: nothing is added; the response ends with EOS.
    assert prompt == tok(rendered, add_special_tokens=False)["input_ids"]
    assert prompt[0] == bos and prompt[1] != bos
    assert response == tok("Sure thing.", add_special_tokens=False)["input_ids"] + [eos]
    # A prompt without BOS gets one in front.
    plain = encode(tok, "just text", "", 10_000)
    assert plain == ([bos] + tok("just text", add_special_tokens=False)["input_ids"], [eos])
    # Cut from the left, then BOS: the last 5 tokens of the body survive.
    body = tok(rendered, add_special_tokens=False)["input_ids"][1:]
    assert encode(tok, rendered, "x", 5)[0] == [bos] + body[-5:]


def test_encode_without_bos_token(embedded):
    tok = copy.deepcopy(embedded.tokenizer)
    tok.bos_token = None
    assert tok.bos_token_id is None
    ids = tok("some words here", add_special_tokens=False)["input_ids"]
    assert encode(tok, "some words here", "", 2)[0] == ids[-2:]
    with pytest.raises(ValueError, match="no tokens"):
        encode(tok, "", "x", 10)


def tiny_llama(vocab_size: int):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)
    return LlamaForCausalLM(config).eval()


def test_one_token_prompts_share_a_padded_batch_with_long_ones(embedded):
    # Without BOS a one-token prompt leaves an all-padding row in the prompt pass: it must not poison the rest.
    tok = copy.deepcopy(embedded.tokenizer)
    tok.bos_token = None
    loaded = LoadedModel(ResolvedModel("tiny", "tiny"), tiny_llama(len(tok)), tok, torch.device("cpu"), torch.float32)
    reqs = [ScoreRequest("a", ("b c", "d")), ScoreRequest("a longer prompt of several tokens", ("e", "f g h"))]
    assert len(encode(tok, "a", "", 100)[0]) == 1
    expected = LoopScorer(loaded, ScorerConfig(**QUIET)).score(reqs)
    for prompts_per_pass in (1, 2):  # the empty prompt alone (no pass) or as an all-padding row of a pass
        scorer = PrefixSharingScorer(loaded, ScorerConfig(batch_size=4, **QUIET))
        scorer.prompts_per_pass = prompts_per_pass
        assert max_delta(scorer.score(reqs), expected) < 1e-4


def test_sliding_window_models_fall_back_to_one_pass_per_sequence(embedded):
    from transformers import MistralConfig, MistralForCausalLM

    torch.manual_seed(0)
    config = MistralConfig(vocab_size=len(embedded.tokenizer), hidden_size=32, intermediate_size=64,
                           num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, sliding_window=8)
    loaded = LoadedModel(ResolvedModel("tiny-mistral", "tiny-mistral"), MistralForCausalLM(config).eval(),
                         embedded.tokenizer, torch.device("cpu"), torch.float32)
    reqs = [ScoreRequest("a prompt longer than the eight-token window, by a fair margin", ("yes", "no way"))]
    scorer = PrefixSharingScorer(loaded, ScorerConfig(**QUIET))
    assert not scorer.shares_prefix
    assert max_delta(scorer.score(reqs), LoopScorer(loaded, ScorerConfig(**QUIET)).score(reqs)) < 1e-5


def test_disable_adapter_scores_the_base_model(embedded):
    from peft import LoraConfig, get_peft_model

    tok = embedded.tokenizer
    base = tiny_llama(len(tok))
    reqs = [ScoreRequest(render(tok, universal_messages("Hi?")), ("Hello!", "Go away.")),
            ScoreRequest("plain prompt", ("yes",))]
    cpu = torch.device("cpu")
    base_scores = LoopScorer(LoadedModel(ResolvedModel("tiny", "tiny"), base, tok, cpu, torch.float32),
                             ScorerConfig(**QUIET)).score(reqs)
    # init_lora_weights=False: a non-zero adapter, so switching it off makes a difference.
    peft_model = get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    loaded = LoadedModel(ResolvedModel("tiny-lora", "tiny-lora", base="tiny"), peft_model.eval(), tok, cpu,
                         torch.float32)
    with_adapter = PrefixSharingScorer(loaded, ScorerConfig(**QUIET)).score(reqs)
    assert max_delta(with_adapter, base_scores) > 1e-2
    for cls in (PrefixSharingScorer, LoopScorer):
        assert max_delta(cls(loaded, ScorerConfig(**QUIET), disable_adapter=True).score(reqs), base_scores) < 1e-4
    # The adapter is back on afterwards.
    assert max_delta(PrefixSharingScorer(loaded, ScorerConfig(**QUIET)).score(reqs), with_adapter) < 1e-4


def test_disable_adapter_needs_a_peft_model(embedded):
    with pytest.raises(ValueError, match="disable_adapter=True needs a PEFT model"):
        PrefixSharingScorer(embedded, disable_adapter=True)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"batch_size": 0}, "--batch-size must be at least 1, got 0"),
    ({"batch_size": -3}, "--batch-size must be at least 1, got -3"),
    ({"batch_size": 2.5}, "--batch-size must be an integer, got 2.5"),
    ({"batch_size": True}, "--batch-size must be an integer, got True"),
    ({"max_prompt_tokens": 0}, "--max-prompt-tokens must be at least 1, got 0"),
    ({"max_prompt_tokens": "100"}, "--max-prompt-tokens must be an integer, got '100'"),
])
def test_bad_config_names_the_argument(kwargs, message):
    with pytest.raises(ValueError) as caught:
        ScorerConfig(**kwargs)
    assert str(caught.value) == message


def test_score_request_rejects_a_bare_string():
    with pytest.raises(ValueError, match="responses"):
        ScoreRequest("prompt", "chosen")
    assert ScoreRequest("p", ["a", "b"]).responses == ("a", "b")
