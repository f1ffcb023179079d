"""The HTTP API on a SQLite file: auth and isolation, validation, profile from feedback and edits,
the universal-values guard, deletion, the page, and the `alignx serve` command's errors."""

import json
import os

import pytest
from conftest import ADMIN, auth, make_direction, new_user
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from alignx.cli import app as cli
from alignx.space import dimension


@pytest.fixture
def client(make_client):
    return make_client()


def feedback(i: int = 0, **poles: float) -> dict:
    return {"prompt": f"question {i}", "chosen": "brief", "rejected": "rambling", "direction": make_direction(**poles)}


# A valid body for every user route, so that a refusal can only come from authorization.
USER_ROUTES = {
    ("GET", "/v1/users/{user_id}"): None,
    ("DELETE", "/v1/users/{user_id}"): None,
    ("POST", "/v1/users/{user_id}/feedback"): feedback(),
    ("POST", "/v1/users/{user_id}/content"): {"prompt": "p", "comment": "c"},
    ("POST", "/v1/users/{user_id}/demographic"): {"text": "a nurse"},
    ("GET", "/v1/users/{user_id}/profile"): None,
    ("PUT", "/v1/users/{user_id}/profile"): {"set": {"16": 1}},
    ("GET", "/v1/users/{user_id}/events"): None,
    ("GET", "/v1/users/{user_id}/export"): None,
}


def test_every_user_endpoint_refuses_another_users_key(client):
    ann, ann_key = new_user(client, "ann")
    bob, bob_key = new_user(client, "bob")
    client.post(f"/v1/users/{ann}/feedback", json=feedback(d16=1), headers=ann_key)
    routes = {(m, r.path) for r in client.app.routes if "{user_id}" in getattr(r, "path", "") for m in r.methods}
    assert routes == set(USER_ROUTES), "a new user route needs a case here"
    for (method, path), body in USER_ROUTES.items():
        url = path.format(user_id=ann)
        assert client.request(method, url, json=body, headers=bob_key).status_code == 404, (method, path)
        assert client.request(method, url, json=body).status_code == 401, (method, path)
        assert client.request(method, url, json=body, headers=auth("axk-forged")).status_code == 401
    # Nothing of ann's changed, and her own key and the admin token still open her.
    assert client.get(f"/v1/users/{ann}/profile", headers=ann_key).json()["feedback_count"] == 1
    assert client.get(f"/v1/users/{ann}/events", headers=auth(ADMIN)).status_code == 200
    assert client.get(f"/v1/users/{bob}/events", headers=ann_key).status_code == 404
    assert client.get("/v1/me", headers=bob_key).json() == {"admin": False, "user_id": bob, "name": "bob"}


def test_user_creation_needs_the_admin_token(client):
    _, key = new_user(client, "ann")
    assert client.post("/v1/users", json={"name": "eve"}).status_code == 401
    assert client.post("/v1/users", json={"name": "eve"}, headers=key).status_code == 403
    assert client.post("/v1/users", json={"name": "eve"}, headers=auth(ADMIN + "x")).status_code == 401


@pytest.mark.parametrize(("body", "field"), [
    ({"prompt": "p", "chosen": "a", "rejected": "b", "direction": [1, 0]}, "body.direction: must have 90 values"),
    ({"prompt": "p", "chosen": "a", "rejected": "b", "direction": [2] * 90}, "body.direction: value 2 at position 0"),
    ({"prompt": "p", "chosen": "a", "rejected": "b", "direction": [True] * 90}, "body.direction: value True"),
    ({"prompt": "p", "chosen": "a"}, "body.rejected: Field required"),
    ({"prompt": "", "chosen": "a", "rejected": "b"}, "body.prompt: String should have at least 1 character"),
    ({"prompt": "p", "chosen": "a", "rejected": "b", "directoin": []}, "body.directoin: Extra inputs"),
])
def test_malformed_feedback_gets_422_naming_the_field(client, body, field):
    user, key = new_user(client, "ann")
    response = client.post(f"/v1/users/{user}/feedback", json=body, headers=key)
    assert response.status_code == 422 and response.json()["detail"].startswith(field), response.json()


def test_bad_json_bad_edits_and_oversized_bodies_are_refused(make_client):
    client = make_client(max_body_bytes=4096)
    user, key = new_user(client, "ann")
    url = f"/v1/users/{user}"
    as_json = {**key, "content-type": "application/json"}
    response = client.post(f"{url}/feedback", content=b'{"prompt": ', headers=as_json)
    assert response.status_code == 422 and response.json()["detail"].startswith("body: not valid JSON")
    assert "key '90' is not a dimension index" in client.put(f"{url}/profile", json={"set": {"90": 1}},
                                                             headers=key).json()["detail"]
    assert "value 0.7 is not one of" in client.put(f"{url}/profile", json={"set": {"3": 0.7}},
                                                   headers=key).json()["detail"]
    big = client.post(f"{url}/content", json={"prompt": "p", "comment": "x" * 5000}, headers=key)
    assert big.status_code == 413
    chunked = client.post(f"{url}/content", content=iter([b'{"prompt": "p", "comment": "', b"x" * 5000, b'"}']),
                          headers=as_json)
    assert chunked.status_code == 413  # no Content-Length: counted while reading
    assert client.get(f"{url}/profile", headers=key).json()["content_count"] == 0


def test_profile_follows_feedback_directions_and_edits(client):
    user, key = new_user(client, "ann")
    url = f"/v1/users/{user}/profile"
    assert client.get(url, headers=key).json()["profile"] == ""  # nothing known yet
    for i in range(3):
        client.post(f"/v1/users/{user}/feedback", json=feedback(i, d16=1, d3=1), headers=key)
    for i in range(3, 5):  # contradicting feedback moves the mean; nothing is deleted
        client.post(f"/v1/users/{user}/feedback", json=feedback(i, d16=0, d3=1), headers=key)
    client.post(f"/v1/users/{user}/content", json={"prompt": "p", "comment": "c"}, headers=key)  # no direction
    profile = client.get(url, headers=key).json()
    assert profile["feedback_count"] == 5 and profile["content_count"] == 1 and profile["evidence_count"] == 5
    # 3/5 in float32 is 0.6000000238 >= 0.6: positive, exactly as the released profile code renders it.
    assert profile["directions"][16] == pytest.approx(0.6) and dimension(16).positive in profile["profile"]
    assert profile["directions"][3] == 1.0 and dimension(3).positive in profile["profile"]
    assert len(client.get(f"/v1/users/{user}/events", headers=key).json()["events"]) == 6

    edited = client.put(url, json={"set": {"16": 0, "3": 0.5}}, headers=key).json()
    assert edited["overrides"] == {"3": 0.5, "16": 0.0}
    assert edited["directions"][16] == 0.0 and edited["inferred"][16] == pytest.approx(0.6)
    assert dimension(16).negative in edited["profile"] and dimension(3).positive not in edited["profile"]
    assert client.get(url, headers=key).json()["directions"] == edited["directions"]
    cleared = client.put(url, json={"set": {"16": None}}, headers=key).json()
    assert cleared["overrides"] == {"3": 0.5} and cleared["directions"][16] == pytest.approx(0.6)
    assert [e["kind"] for e in client.get(f"/v1/users/{user}/events", params={"kind": "edit"},
                                          headers=key).json()["events"]] == ["edit", "edit"]


def test_guard_refuses_turning_universal_values_negative(client):
    user, key = new_user(client, "ann")
    url = f"/v1/users/{user}/profile"
    refused = client.put(url, json={"set": {"40": 0}}, headers=key)
    assert refused.status_code == 422 and refused.json()["dimension"] == 40
    assert refused.json()["detail"].startswith("dimension 40 (Concerned about harmlessness) is a guarded")
    assert client.put(url, json={"set": {"12": 1, "43": 0}}, headers=key).json()["dimension"] == 43
    assert client.get(url, headers=key).json()["overrides"] == {}  # the refused edit stored nothing
    assert client.put(url, json={"set": {"40": 1}}, headers=key).status_code == 200
    # Feedback voting against a guarded value is stored verbatim but read as neutral there.
    stored = client.post(f"/v1/users/{user}/feedback", json=feedback(d40=0, d42=0, d16=1), headers=key)
    assert stored.status_code == 201 and stored.json()["guarded"] == [40, 42]
    assert stored.json()["event"]["direction"][40] == 0
    profile = client.get(url, headers=key).json()
    assert profile["inferred"][40] == 0.5 and profile["inferred"][42] == 0.5 and profile["inferred"][16] == 1.0
    assert dimension(42).negative not in profile["profile"]


def test_operator_can_change_the_guard(make_client):
    client = make_client(guard="none")
    user, key = new_user(client, "ann")
    assert client.put(f"/v1/users/{user}/profile", json={"set": {"40": 0}}, headers=key).status_code == 200
    client.post(f"/v1/users/{user}/feedback", json=feedback(d42=0), headers=key)
    assert client.get(f"/v1/users/{user}/profile", headers=key).json()["inferred"][42] == 0.0


def test_delete_removes_every_row_of_the_user(client, tmp_path):
    ann, ann_key = new_user(client, "ann")
    bob, bob_key = new_user(client, "bob")
    for i in range(3):
        client.post(f"/v1/users/{ann}/feedback", json=feedback(i, d16=1), headers=ann_key)
    client.post(f"/v1/users/{ann}/demographic", json={"text": "a nurse"}, headers=ann_key)
    client.put(f"/v1/users/{ann}/profile", json={"set": {"5": 1}}, headers=ann_key)
    client.post(f"/v1/users/{bob}/content", json={"prompt": "p", "comment": "c"}, headers=bob_key)
    assert client.delete(f"/v1/users/{ann}", headers=ann_key).json() == {"user_id": ann, "deleted_rows": 6}
    for path in ("", "/profile", "/events"):
        assert client.get(f"/v1/users/{ann}{path}", headers=auth(ADMIN)).status_code == 404
    assert client.get(f"/v1/users/{ann}/profile", headers=ann_key).status_code == 401  # the key is gone too
    assert client.post(f"/v1/users/{ann}/feedback", json=feedback(), headers=auth(ADMIN)).status_code == 404
    engine = create_engine(f"sqlite:///{tmp_path / 'memory.db'}")
    with engine.connect() as conn:
        left = conn.execute(text("SELECT count(*) FROM alignx_events WHERE user_id = :u"), {"u": ann}).scalar()
        users = conn.execute(text("SELECT id FROM alignx_users")).scalars().all()
    engine.dispose()
    assert left == 0 and users == [bob]
    assert client.get(f"/v1/users/{bob}/profile", headers=bob_key).json()["content_count"] == 1


def test_events_page_through_the_audit_trail(client):
    user, key = new_user(client, "ann")
    for i in range(5):
        client.post(f"/v1/users/{user}/feedback", json=feedback(i), headers=key)
    first = client.get(f"/v1/users/{user}/events", params={"limit": 2}, headers=key).json()
    assert [e["prompt"] for e in first["events"]] == ["question 0", "question 1"]
    rest = client.get(f"/v1/users/{user}/events", params={"after": first["next_after"]}, headers=key).json()
    assert [e["prompt"] for e in rest["events"]] == ["question 2", "question 3", "question 4"]
    assert rest["next_after"] is None and all(e["created_at"].endswith("+00:00") for e in rest["events"])
    assert client.get(f"/v1/users/{user}/events", params={"limit": 0}, headers=key).status_code == 422


def test_health_space_page_and_no_chat_backend(client):
    _, key = new_user(client, "ann")
    assert client.get("/healthz").json() == {"status": "ok", "database": "sqlite", "chat": None, "mode": "ica",
                                            "annotator": None, "process": os.getpid()}
    space = client.get("/v1/space").json()
    assert sum(len(g["dimensions"]) for g in space["groups"]) == 90 and space["guarded"] == [40, 42, 43]
    page = client.get("/")
    assert page.status_code == 200 and 'id="chat-input"' in page.text and "text/html" in page.headers["content-type"]
    chat = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]}, headers=key)
    assert chat.status_code == 503


def test_a_retried_post_with_its_idempotency_key_is_stored_once(client):
    ann, ann_key = new_user(client, "ann")
    bob, bob_key = new_user(client, "bob")
    for route, body in [("feedback", feedback(1, d16=1)), ("content", {"prompt": "p", "comment": "c"}),
                        ("demographic", {"text": "a nurse"})]:
        key = {**ann_key, "Idempotency-Key": f"retry-{route}"}
        first = client.post(f"/v1/users/{ann}/{route}", json=body, headers=key)
        again = client.post(f"/v1/users/{ann}/{route}", json=body, headers=key)
        assert (first.status_code, again.status_code) == (201, 200), again.text
        assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers
        other = client.post(f"/v1/users/{ann}/{route}", json={k: v + "!" if isinstance(v, str) else v
                                                             for k, v in body.items()}, headers=key)
        assert other.status_code == 422
        assert other.json()["detail"].startswith(f"Idempotency-Key 'retry-{route}' was used for another request")
    assert client.get(f"/v1/users/{ann}/profile", headers=ann_key).json()["feedback_count"] == 1
    assert len(client.get(f"/v1/users/{ann}/events", headers=ann_key).json()["events"]) == 3
    # Keys are the user's own: bob's post with ann's key string is his first.
    assert client.post(f"/v1/users/{bob}/feedback", json=feedback(1), headers={**bob_key, "Idempotency-Key":
                                                                                "retry-feedback"}).status_code == 201
    too_long = client.post(f"/v1/users/{ann}/feedback", json=feedback(2), headers={**ann_key,
                                                                                    "Idempotency-Key": "k" * 256})
    assert too_long.status_code == 422 and too_long.json()["detail"].startswith("header.Idempotency-Key")


def export(client, user: str, headers: dict) -> list[dict]:
    response = client.get(f"/v1/users/{user}/export", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


def test_the_export_gives_a_user_their_events_and_records_and_nobody_else_theirs(client, tmp_path):
    ann, ann_key = new_user(client, "ann")
    bob, bob_key = new_user(client, "bob")
    sent = [("feedback", feedback(i, d16=i % 2)) for i in range(3)]
    sent += [("content", {"prompt": "weekend?", "comment": "hiking, ünïcode"}), ("demographic", {"text": "a nurse"})]
    for route, body in sent:
        assert client.post(f"/v1/users/{ann}/{route}", json=body, headers=ann_key).status_code == 201
    client.put(f"/v1/users/{ann}/profile", json={"set": {"5": 1}}, headers=ann_key)
    client.post(f"/v1/users/{bob}/feedback", json=feedback(9), headers=bob_key)

    lines = export(client, ann, ann_key)
    assert lines[0] == {"user": {"user_id": ann, "name": "ann", "created_at": lines[0]["user"]["created_at"]}}
    events = [line["event"] for line in lines if "event" in line]
    assert events == client.get(f"/v1/users/{ann}/events", headers=ann_key).json()["events"]
    assert [(e["kind"], {k: e[k] for k in body}) for e, (_, body) in zip(events[:-1], sent, strict=True)] == [
        (route, body) for route, body in sent]  # what ann sent, in order, then her edit
    assert len(events) == len(sent) + 1 and events[-1]["kind"] == "edit"

    built = tmp_path / "built"
    result = runner.invoke(cli, ["build", "--db", f"sqlite:///{tmp_path / 'memory.db'}", "--user", ann,
                                 "--output", str(built), "--no-progress"])
    assert result.exit_code == 0, result.output
    expected = [(split, json.loads(line)) for split in ("train", "test") if (built / f"{split}.jsonl").exists()
                for line in (built / f"{split}.jsonl").read_text().splitlines()]
    records = [(line["split"], line["record"]) for line in lines if "record" in line]
    assert len(records) == 3 and records == expected  # one record per choice, as alignx build --user writes them
    assert len(lines) == 1 + len(events) + len(records)
    assert export(client, ann, auth(ADMIN)) == lines

    assert client.get(f"/v1/users/{ann}/export", headers=bob_key).status_code == 404
    assert client.get("/v1/users/nobody/export", headers=auth(ADMIN)).status_code == 404
    assert client.get(f"/v1/users/{ann}/export").status_code == 401
    assert [line for line in export(client, bob, bob_key) if "event" in line][0]["event"]["prompt"] == "question 9"


runner = CliRunner()


def test_serve_command_reports_bad_setup_in_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("ALIGNX_ADMIN_TOKEN", raising=False)
    missing = runner.invoke(cli, ["serve", "--db", f"sqlite:///{tmp_path / 'm.db'}"])
    assert missing.exit_code == 2 and "error: set ALIGNX_ADMIN_TOKEN" in missing.output
    monkeypatch.setenv("ALIGNX_ADMIN_TOKEN", ADMIN)
    for args, message in [
        (["--db", f"sqlite:///{tmp_path / 'no' / 'm.db'}"], "does not exist"),
        (["--db", "memory.db"], "is not a database URL"),
        (["--db", "sqlite://"], "in-memory SQLite"),
        (["--db", f"sqlite:///{tmp_path / 'm.db'}", "--mode", "xyz"], "unknown --mode 'xyz'; choose one of ica, pba"),
        (["--db", f"sqlite:///{tmp_path / 'm.db'}", "--dtype", "fp64"], "--dtype 'fp64' is unknown"),
        (["--db", f"sqlite:///{tmp_path / 'm.db'}", "--device", "gpu0"], "--device 'gpu0' is not a torch device"),
        (["--db", f"sqlite:///{tmp_path / 'm.db'}", "--device", "cuda"], "this machine has no CUDA device"),
        (["--db", f"sqlite:///{tmp_path / 'm.db'}", "--port", "70000"], "--port must be between 1 and 65535, got 70000"),
        (["--db", f"sqlite:///{tmp_path / 'm.db'}", "--guard", "40,abc"], "'abc' is not a dimension index"),
        (["--db", f"sqlite:///{tmp_path / 'm.db'}", "--guard", "95"], "dimension 95 is out of range"),
        (["--db", f"sqlite:///{tmp_path / 'm.db'}", "--no-chat", "--workers", "2"],
         "--workers 2: SQLite takes one writer at a time"),
        (["--db", "postgresql+psycopg://u@127.0.0.1:1/x", "--workers", "2"],
         "--workers 2: each worker would load its own copy of the local chat model"),
        (["--db", "mysql+pymysql://u@127.0.0.1/x", "--no-chat"], "the memory runs on SQLite or PostgreSQL, not mysql"),
        (["--db", f"sqlite:///{tmp_path / 'm.db'}", "--claim-seconds", "0"], "--claim-seconds must be positive"),
    ]:
        result = runner.invoke(cli, ["serve", *args])
        assert result.exit_code == 2 and message in result.output, (args, result.output)
        assert result.output.count("\n") == 1
