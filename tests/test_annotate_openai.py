"""The openai backend through the official client against a scripted OpenAI-compatible server on 127.0.0.1."""

import threading

import pytest
from conftest import free_port, make_direction
from fake_openai import GOOD, MODEL, FakeServer, answer, error

from alignx.annotate.base import AnnotatorError, annotate_all
from alignx.annotate.chat_prompt import AnswerError, parse_answer
from alignx.annotate.spec import AnnotatorSettings, load_annotator
from alignx.records import Choice, Comment

SPEC = f"openai:{MODEL}"
KEY_ENV = "ALIGNX_TEST_OPENAI_KEY"
COMMENT = Comment("Best way to learn Spanish?", "Daily flashcards, every single day.")
PAIR = Choice("How to fix a flat tire?", "Patch kit, five minutes.", "First, the history of tires...")


@pytest.fixture
def server():
    with FakeServer() as s:
        yield s


@pytest.fixture
def connect(monkeypatch):
    """connect(url, **AnnotatorSettings overrides) -> a loaded openai annotator, closed after the test."""
    monkeypatch.delenv(KEY_ENV, raising=False)
    opened = []

    def make(url, **overrides):
        settings = dict(annotator=SPEC, annotator_url=url, annotator_key_env=KEY_ENV, annotator_retries=2,
                        annotator_timeout=60.0, annotator_workers=2)  # bounds a hang only
        annotator = load_annotator(AnnotatorSettings(**{**settings, **overrides}))
        opened.append(annotator)
        return annotator

    yield make
    for annotator in opened:
        annotator.close()


def only(annotator, item=COMMENT):
    [annotation] = annotate_all(annotator, [item])
    return annotation


def test_well_formed_answers_give_exact_directions_and_tokens(server, connect, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "secret")
    server.script.extend([answer(GOOD), answer(f"Here you are:\n```json\n{GOOD}\n```\nHope it helps.")])
    annotator = connect(server.url, annotator_workers=1)
    first, second = annotate_all(annotator, [COMMENT, PAIR])
    expected = tuple(make_direction(d3=1.0, d17=0.0))
    assert first.direction == expected and second.direction == expected
    assert first.error is None and first.confidence is None and first.tokens == 15
    assert server.keys == ["Bearer secret"] * 2
    assert server.requests[0]["model"] == MODEL
    assert server.requests[0]["response_format"]["type"] == "json_schema"
    system, user = server.requests[0]["messages"]
    assert "\n7 | Likes a certain food | Dislikes a certain food\n" in system["content"]
    assert COMMENT.comment in user["content"]
    pair_user = server.requests[1]["messages"][1]["content"]
    assert PAIR.chosen in pair_user and PAIR.rejected in pair_user and "chosen" in pair_user
    assert annotator.identity.startswith(f"openai:{MODEL}@{server.url}#prompt-")


def test_an_empty_list_is_an_all_neutral_answer(server, connect):
    server.default = answer('{"dimensions": []}')
    assert only(connect(server.url)).direction == (0.5,) * 90


def test_malformed_json_every_time_fails_with_the_reason_after_retries(server, connect):
    server.default = answer("I think the person is young.")
    annotator = connect(server.url, annotator_retries=2)
    annotation = only(annotator)
    assert annotation.direction is None and "JSON" in annotation.error and "asked 3 times" in annotation.error
    assert len(server.requests) == 3 and annotation.tokens == 45
    correction = server.requests[-1]["messages"]
    assert [m["role"] for m in correction] == ["system", "user", "assistant", "user"]
    assert "could not be read" in correction[-1]["content"]
    assert annotator.stats == {"requests": 3, "re-asked": 2, "failed": 1, "tokens": 45}


def test_malformed_once_then_good_succeeds_with_both_answers_tokens(server, connect):
    server.script.append(answer('{"dimensions": [{"index": 3, "pole": "positive"}'))
    annotation = only(connect(server.url))
    assert annotation.direction == tuple(make_direction(d3=1.0, d17=0.0))
    assert len(server.requests) == 2 and annotation.tokens == 30


def test_an_unknown_dimension_fails_naming_it(server, connect):
    server.default = answer('{"dimensions": [{"index": "Likes xyz", "pole": "positive"}]}')
    annotation = only(connect(server.url, annotator_retries=1))
    assert annotation.direction is None and "unknown dimension 'Likes xyz'" in annotation.error
    assert len(server.requests) == 2


def test_429_then_success_is_retried_by_the_client(server, connect):
    server.script.append(error(429, "slow down"))
    annotation = only(connect(server.url))
    assert annotation.direction == tuple(make_direction(d3=1.0, d17=0.0)) and annotation.tokens == 15
    assert len(server.requests) == 2


def test_5xx_every_time_fails_that_item_only(server, connect):
    server.script.extend([error(500, "boom"), error(500, "boom")])
    annotator = connect(server.url, annotator_retries=1, annotator_workers=1)
    failed, good = annotate_all(annotator, [COMMENT, PAIR])
    assert failed.direction is None and "server error 500 (2 tries)" in failed.error
    assert good.direction is not None and len(server.requests) == 3


def test_a_timeout_fails_the_item_naming_the_timeout(server, connect):
    # The server holds every answer until the test lets it go: only the client's own timeout can end the call.
    release = threading.Event()
    server.default = answer(GOOD, hold=release)
    try:
        annotation = only(connect(server.url, annotator_timeout=0.3, annotator_retries=1))
    finally:
        release.set()
    assert annotation.direction is None and "timed out after 0.3 s (2 tries)" in annotation.error
    assert len(server.requests) == 2


def test_a_refused_response_format_falls_back_to_the_prompt_once(server, connect):
    server.script.append(error(400, "response_format json_schema is not supported"))
    annotator = connect(server.url)
    assert only(annotator).direction is not None
    assert only(annotator, PAIR).direction is not None
    assert "response_format" in server.requests[0]
    assert all("response_format" not in r for r in server.requests[1:]) and len(server.requests) == 3


def test_other_400s_fail_the_item(server, connect):
    server.script.append(error(400, "context length exceeded"))
    annotation = only(connect(server.url))
    assert annotation.direction is None and "refused the request (400)" in annotation.error
    assert "context length exceeded" in annotation.error and len(server.requests) == 1


def test_a_refused_key_ends_the_run_naming_the_env_variable(server, connect):
    server.default = error(401, "invalid api key")
    with pytest.raises(AnnotatorError, match=rf"{SPEC}: .*refused the key from \${KEY_ENV} \(401\)"):
        annotate_all(connect(server.url), [COMMENT])


@pytest.mark.slow  # a fake server
def test_a_model_unknown_to_a_server_without_a_model_list_ends_the_run(connect):
    with FakeServer(models=None) as s:
        s.default = error(404, f"The model {MODEL} does not exist.")
        with pytest.raises(AnnotatorError, match=rf"{SPEC}: .* answered 404 .*does not exist.*no model '{MODEL}'"):
            annotate_all(connect(s.url), [COMMENT, PAIR])


def test_workers_overlap_requests_up_to_their_number(server, connect):
    # The first three requests are answered only once all three are in flight at the same time.
    together = threading.Barrier(3)
    server.respond = lambda body: answer(GOOD, hold=together) if len(server.requests) <= 3 else None
    annotations = annotate_all(connect(server.url, annotator_workers=3), [COMMENT, PAIR] * 4)
    assert all(a.direction is not None for a in annotations)
    assert server.max_in_flight == 3 and len(server.requests) == 8
    assert sum(a.tokens for a in annotations) == 8 * 15


def test_annotations_stream_as_they_arrive(server, connect):
    # The first item's answer is held until the caller has received the second item's: an annotator that waited
    # for the whole batch (or kept input order) would get it only after the hold's limit, in the wrong order.
    received = threading.Event()
    server.respond = lambda body: answer(GOOD, hold=received) if COMMENT.comment in str(body["messages"]) else None
    order = []
    for index, _ in connect(server.url, annotator_workers=2).annotate([COMMENT, PAIR]):
        order.append(index)
        received.set()
    assert order == [1, 0]


def test_describe_writes_a_short_text_from_the_items(server, connect):
    server.default = answer("  A young language learner who likes brevity.\n")
    text = connect(server.url).describe([COMMENT, PAIR])
    assert text == "A young language learner who likes brevity."
    request = server.requests[-1]
    assert "response_format" not in request
    user = request["messages"][-1]["content"]
    assert "**This person has commented on some posts:**" in user and PAIR.rejected in user


def test_describe_failure_is_an_annotator_error(server, connect):
    server.default = error(500, "boom")
    with pytest.raises(AnnotatorError, match=rf"{SPEC}: describe: server error 500"):
        connect(server.url, annotator_retries=0).describe([COMMENT])


@pytest.mark.slow  # connects to a closed port on 127.0.0.1 (about a second)
def test_an_unreachable_server_names_the_spec(connect):
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(AnnotatorError, match=rf"^{SPEC}: {url}: cannot reach it \("):
        connect(url, annotator_retries=0)


@pytest.mark.slow  # a fake server
def test_a_model_the_server_does_not_offer_lists_the_offered_ones(connect):
    with FakeServer(models=("model-b", "model-a")) as s, pytest.raises(
            AnnotatorError, match=rf"{SPEC}: .* offers no model '{MODEL}'; it offers: model-a, model-b$"):
        connect(s.url)


@pytest.mark.slow  # a fake server
def test_a_server_without_a_model_list_is_accepted(connect):
    with FakeServer(models=None) as s:
        assert only(connect(s.url)).direction is not None


def test_a_missing_key_for_the_openai_api_names_the_env_variable(connect):
    with pytest.raises(AnnotatorError, match=rf"{SPEC}: no API key: set the environment variable {KEY_ENV}"):
        connect(None)


@pytest.mark.parametrize("text, expected", [
    ('{"dimensions": [{"index": "3", "pole": "Positive"}]}', {3: 1.0}),
    ('{"dimensions": [{"index": "Older"}]}', {0: 0.0}),
    ('{"dimensions": [{"index": 0, "pole": "Young"}, {"index": 5, "pole": "neutral"}]}', {0: 1.0}),
    ('{"dimensions": [{"index": 7, "pole": "negative"}, {"index": 7, "pole": "negative"}]}', {7: 0.0}),
    ('[{"index": 7, "pole": "positive"}]', {7: 1.0}),
])
def test_answers_are_read_robustly(text, expected):
    assert {i: v for i, v in enumerate(parse_answer(text)) if v != 0.5} == expected


@pytest.mark.parametrize("text, reason", [
    ("", "not JSON"),
    ('{"dimensions": [{"index": 90, "pole": "positive"}]}', "unknown dimension 90"),
    ('{"dimensions": [{"index": 1, "pole": "positive"}, {"index": 1, "pole": "negative"}]}',
     "dimension 1 is named both positive and negative"),
    ('{"dimensions": [{"index": 1, "pole": "sideways"}]}', "pole 'sideways' of dimension 1"),
    ('{"dimensions": [{"index": "Young", "pole": "negative"}]}', "names the label 'Young' but the pole"),
    ('{"dimensions": [{"index": 4}]}', 'has no "pole"'),
    ('{"answer": 4}', "not the asked JSON"),
])
def test_unreadable_answers_say_why(text, reason):
    with pytest.raises(AnswerError, match=reason):
        parse_answer(text)
