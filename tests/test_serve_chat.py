"""Personalized chat: the OpenAI-compatible endpoint with the embedded model (one short real generation,
plain and streamed), and the upstream path (the official client, plain and streamed) against a small
OpenAI-compatible server run on 127.0.0.1."""

import json

import pytest
from conftest import ADMIN, auth, new_user, serve_in_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.testclient import TestClient

from alignx.errors import UserError
from alignx.personas import PersonaView
from alignx.prompts import ica_evaluation_messages, pba_messages, universal_messages
from alignx.records import Choice, Comment
from alignx.serve import ServeConfig, create_app
from alignx.serve.chat import ChatModel
from alignx.space import render_direction
from tests.fake_openai import FakeServer

D16 = [0.5] * 16 + [1.0] + [0.5] * 73


def fake_openai_server(seen: list[dict]) -> FastAPI:
    """Answers like an OpenAI server: echoes the last message's first line; `model: broken` fails."""
    fake = FastAPI()

    @fake.post("/v1/chat/completions")
    async def completions(request: Request):
        body = await request.json()
        seen.append(body)
        if body["model"] == "broken":  # retried by the client, after a short backoff
            return JSONResponse({"error": {"message": "model is on fire"}}, 500, headers={"retry-after-ms": "10"})
        answer = f"echo {body['messages'][-1]['content'].splitlines()[0]}"
        if not body.get("stream"):
            return {"id": "x", "object": "chat.completion", "model": body["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": answer},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}}

        def events():
            for i, word in enumerate(answer.split(" ")):
                delta = {"content": word if i == 0 else " " + word}
                yield f"data: {json.dumps({'choices': [{'index': 0, 'delta': delta, 'finish_reason': None}]})}\n\n"
            yield f"data: {json.dumps({'choices': [{'index': 0, 'delta': {}, 'finish_reason': 'stop'}]})}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return fake


@pytest.fixture(scope="module")
def upstream():
    seen: list[dict] = []
    with serve_in_thread(fake_openai_server(seen)) as base:
        yield f"{base}/v1", seen


@pytest.fixture
def chat_client(make_client, upstream):
    """make(mode): a service whose chat goes to the fake upstream."""
    url, seen = upstream

    def make(mode: str = "ica") -> TestClient:
        client = make_client(chat_model=ChatModel.upstream(url, model="up-model"), mode=mode, upstream=url)
        seen.clear()
        return client

    return make


def user_with_history(client: TestClient, name: str) -> tuple[str, dict[str, str]]:
    user, key = new_user(client, name)
    client.post(f"/v1/users/{user}/content", json={"prompt": f"{name}'s post", "comment": f"{name} says hi",
                                                   "direction": D16}, headers=key)
    client.post(f"/v1/users/{user}/feedback", json={"prompt": "Tea?", "chosen": f"{name}: green",
                                                    "rejected": "any"}, headers=key)
    client.post(f"/v1/users/{user}/demographic", json={"text": f"{name} is a chef."}, headers=key)
    return user, key


def ask(text: str, **extra) -> dict:
    return {"model": "default", "messages": [{"role": "user", "content": text}], **extra}


def view_of(name: str) -> PersonaView:
    return PersonaView(ugc=(Comment(f"{name}'s post", f"{name} says hi"),),
                       pairs=(Choice("Tea?", f"{name}: green", "any"),), demographic=f"{name} is a chef.")


def test_upstream_gets_the_ica_prompt_and_the_reply_is_openai_shaped(chat_client, upstream):
    _, seen = upstream
    client = chat_client("ica")
    _, key = user_with_history(client, "ann")
    response = client.post("/v1/chat/completions", json=ask("Dinner?", stop=["\n\n"], presence_penalty=0.5),
                           headers=key)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "chat.completion" and body["model"] == "up-model"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "echo ***Task***"}
    assert body["usage"] == {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}
    sent = seen[-1]
    assert sent["messages"] == ica_evaluation_messages("Dinner?", view_of("ann"))
    assert sent["model"] == "up-model" and sent["stop"] == ["\n\n"] and sent["presence_penalty"] == 0.5
    assert sent["max_tokens"] == 128 and sent["stream"] is False

    universal = client.post("/v1/chat/completions", json=ask("Dinner?", personalize=False), headers=key).json()
    assert seen[-1]["messages"] == universal_messages("Dinner?") and universal["alignx"]["mode"] == "universal"


def test_pba_mode_sends_the_profile(chat_client, upstream):
    _, seen = upstream
    client = chat_client("pba")
    _, key = user_with_history(client, "ann")
    client.post("/v1/chat/completions", json=ask("Dinner?"), headers=key)
    assert seen[-1]["messages"] == pba_messages("Dinner?", render_direction(D16))


def test_chat_reads_only_the_callers_memory(chat_client, upstream):
    _, seen = upstream
    client = chat_client("ica")
    ann, _ = user_with_history(client, "ann")
    _, bob_key = user_with_history(client, "bob")
    client.post("/v1/chat/completions", json=ask("Dinner?", user=ann), headers=bob_key)  # `user` is free text
    assert seen[-1]["messages"] == ica_evaluation_messages("Dinner?", view_of("bob"))
    refused = client.post("/v1/chat/completions", json=ask("Dinner?"), headers=auth(ADMIN))
    assert refused.status_code == 422 and refused.json()["detail"].startswith("body.user")
    client.post("/v1/chat/completions", json=ask("Dinner?", user=ann), headers=auth(ADMIN))
    assert seen[-1]["messages"] == ica_evaluation_messages("Dinner?", view_of("ann"))
    assert client.post("/v1/chat/completions", json=ask("Dinner?")).status_code == 401


def test_upstream_stream_is_relayed_as_sse_ending_in_done(chat_client):
    client = chat_client("ica")
    _, key = user_with_history(client, "ann")
    with client.stream("POST", "/v1/chat/completions", json=ask("Dinner?", stream=True), headers=key) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "echo ***Task***"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)


def test_upstream_failure_is_a_502_naming_the_upstream(chat_client, upstream):
    url, seen = upstream
    client = chat_client("ica")
    _, key = user_with_history(client, "ann")
    response = client.post("/v1/chat/completions", json={**ask("Dinner?"), "model": "broken"}, headers=key)
    assert response.status_code == 502
    assert response.json()["detail"] == f"--upstream {url}: server error 500 (3 tries): model is on fire"
    assert [body["model"] for body in seen] == ["broken"] * 3  # the client's own retries
    bad = client.post("/v1/chat/completions", json={"model": "default", "messages": []}, headers=key)
    assert bad.status_code == 422 and bad.json()["detail"].startswith("body.messages")
    last_assistant = {"model": "default", "messages": [{"role": "assistant", "content": "hi"}]}
    assert "last message must have role 'user'" in client.post("/v1/chat/completions", json=last_assistant,
                                                              headers=key).json()["detail"]


def test_upstream_stream_failure_is_an_error_event_before_done(chat_client, upstream):
    url, _ = upstream
    client = chat_client("ica")
    _, key = user_with_history(client, "ann")
    streamed = {**ask("Dinner?", stream=True), "model": "broken"}
    with client.stream("POST", "/v1/chat/completions", json=streamed, headers=key) as r:
        assert r.status_code == 200  # the status line goes out before the upstream is asked
        lines = [line for line in r.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    error = json.loads(lines[-2].removeprefix("data: "))["error"]
    assert error == {"message": f"--upstream {url}: server error 500 (3 tries): model is on fire",
                     "type": "backend_error"}


def test_upstream_that_lacks_the_model_is_one_line_at_startup():
    with FakeServer() as server, pytest.raises(UserError, match=r"--upstream .* offers no model 'up-model'"):
        ChatModel.upstream(server.url, model="up-model")


@pytest.fixture(scope="module")
def embedded():
    return ChatModel.local("default")


def test_embedded_model_answers_plain_and_streamed(tmp_path, embedded):
    config = ServeConfig(db=f"sqlite:///{tmp_path / 'memory.db'}", admin_token=ADMIN, max_tokens=6, steer=0)
    with TestClient(create_app(config, chat=embedded)) as client:
        user, key = user_with_history(client, "ann")
        assert client.post("/v1/chat/completions", json={**ask("Hi"), "model": "gpt-4"}, headers=key).status_code == 404
        plain = client.post("/v1/chat/completions", json=ask("Name a fruit."), headers=key).json()
        choice = plain["choices"][0]
        assert plain["model"] == "SmolLM2-135M-Instruct"
        assert plain["alignx"] == {"user_id": user, "mode": "ica", "copies": plain["alignx"]["copies"]}
        assert choice["message"]["content"].strip() and choice["finish_reason"] in ("stop", "length")
        assert 1 <= plain["usage"]["completion_tokens"] <= 6 and plain["usage"]["prompt_tokens"] > 50
        with client.stream("POST", "/v1/chat/completions", json=ask("Name a fruit.", stream=True), headers=key) as r:
            lines = [line for line in r.iter_lines() if line]
        assert lines[-1] == "data: [DONE]"
        chunks = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
        streamed = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
        assert streamed == choice["message"]["content"]  # greedy both times: the same answer
        assert chunks[-1]["choices"][0]["finish_reason"] == choice["finish_reason"]
        assert client.get("/v1/models", headers=key).json()["data"][1]["id"] == "SmolLM2-135M-Instruct"


def test_best_of_answers_with_the_candidate_the_reward_ranks_first(tmp_path, tiny_model):
    chat = ChatModel.local(str(tiny_model), device="cpu")
    config = ServeConfig(db=f"sqlite:///{tmp_path / 'memory.db'}", admin_token=ADMIN, max_tokens=5, best_of=4)
    with TestClient(create_app(config, chat=chat)) as client:
        _, key = user_with_history(client, "ann")
        plain = client.post("/v1/chat/completions", json=ask("Name a fruit."), headers=key).json()
        best = plain["alignx"]["best_of"]
        assert best["n"] == 4 and len(best["rewards"]) == 4 and best["chosen_from"] in ("persona", "universal")
        assert len(best["copies"]) == 4 and all(isinstance(c, bool) for c in best["copies"])
        assert plain["choices"][0]["finish_reason"] in ("stop", "length")
        with client.stream("POST", "/v1/chat/completions", json=ask("Name a fruit.", stream=True), headers=key) as r:
            lines = [line for line in r.iter_lines() if line]
        assert lines[-1] == "data: [DONE]" and json.loads(lines[1].removeprefix("data: "))["alignx"]["best_of"]
        universal = client.post("/v1/chat/completions", json=ask("Name a fruit.", personalize=False), headers=key)
        assert "best_of" not in universal.json()["alignx"]  # the universal answer is one plain generation


def test_best_of_needs_the_local_model(tmp_path):
    from alignx.errors import OptionError

    with pytest.raises(OptionError, match="--best-of scores candidates with the local model"):
        ServeConfig(db=f"sqlite:///{tmp_path / 'm.db'}", upstream="http://127.0.0.1:9/v1", best_of=2)


def test_steering_is_on_by_default_for_an_untrained_local_model_only(tmp_path):
    from alignx.errors import OptionError
    from alignx.generation.steering import DEFAULT_WEIGHT
    from alignx.models import ADAPTER_CONFIG

    db = f"sqlite:///{tmp_path / 'memory.db'}"
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / ADAPTER_CONFIG).write_text("{}")
    plain = tmp_path / "plain"
    plain.mkdir()
    assert ServeConfig(db=db).steer == DEFAULT_WEIGHT and ServeConfig(db=db).best_of == 1
    assert ServeConfig(db=db, model=str(plain)).steer == DEFAULT_WEIGHT
    assert ServeConfig(db=db, model=str(adapter)).steer == 0
    assert ServeConfig(db=db, model="some-org/released-checkpoint").steer == 0
    assert ServeConfig(db=db, chat=False).steer == 0
    assert ServeConfig(db=db, upstream="http://127.0.0.1:9/v1").steer == 0
    assert ServeConfig(db=db, best_of=2).steer == 0  # asking for best-of turns the default off
    with pytest.raises(OptionError, match="--steer scores every token"):
        ServeConfig(db=db, upstream="http://127.0.0.1:9/v1", steer=2.0)
    with pytest.raises(OptionError, match="do not combine"):
        ServeConfig(db=db, steer=2.0, best_of=2)


def test_a_steered_answer_is_the_generators_steered_text_plain_and_streamed(tmp_path, tiny_model):
    """The service steers by the user's last feedback choices exactly as `LocalGenerator` steers a `Steered`
    request; the stream carries the same greedy text; the universal answer is not steered."""
    from alignx.eval.zero_shot import pair_examples
    from alignx.generation.base import Settings
    from alignx.generation.steering import DEFAULT_LENGTH_WEIGHT, DEFAULT_PLAUSIBILITY, Steered
    from alignx.serve.memory import history_view

    chat = ChatModel.local(str(tiny_model), device="cpu")
    config = ServeConfig(db=f"sqlite:///{tmp_path / 'memory.db'}", admin_token=ADMIN, max_tokens=8, steer=4.0)
    with TestClient(create_app(config, chat=chat)) as client:
        user, key = user_with_history(client, "ann")
        plain = client.post("/v1/chat/completions", json=ask("Name a fruit."), headers=key).json()
        # "ann: green" over "any": the longer text taken, a lean of -1
        assert plain["alignx"]["steer"] == {"weight": 4.0, "choices": 1, "length_lean": -1.0}
        assert plain["alignx"]["copies"] is False
        events = client.app.state.store.events(user)
        pairs = history_view(events, config.history_items).pairs
        request = Steered(universal_messages("Name a fruit."), *pair_examples("Name a fruit.", pairs), lean=-1.0)
        [(_, expected)] = chat.generator.generate([request], Settings(
            8, steer=4.0, steer_plausibility=DEFAULT_PLAUSIBILITY, steer_length=DEFAULT_LENGTH_WEIGHT))
        assert plain["choices"][0]["message"]["content"] == expected.text
        with client.stream("POST", "/v1/chat/completions", json=ask("Name a fruit.", stream=True), headers=key) as r:
            lines = [line for line in r.iter_lines() if line]
        chunks = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
        assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == expected.text
        assert len([c for c in chunks if c["choices"][0]["delta"].get("content")]) >= 2  # streamed, not in one piece
        universal = client.post("/v1/chat/completions", json=ask("Name a fruit.", personalize=False), headers=key)
        assert "steer" not in universal.json()["alignx"]
