"""`alignx serve --annotator`: feedback and content posted without a direction are stored as sent and explained
by derived `inferred` events, written in the background by a deterministic stand-in annotator (the real backends
are tested with the annotate package); the profile's per-dimension mean, support and source; edits still win;
failures store nothing; a restart resumes; deletion removes the derived rows; the page marks inferred values."""

import logging
import threading
import time
from datetime import datetime, timezone

import pytest
from conftest import ADMIN, make_direction, new_user
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from alignx.annotate.base import Annotation, AnnotatorError
from alignx.cli import app as cli
from alignx.records import Comment
from alignx.serve.memory import Event, EventKind, build_profile
from alignx.space import dimension

HUMOR, CONCISE = 73, 16
SPEC = "test:keywords"
GATE_LIMIT = 60.0  # seconds; bounds a hang only


def words(item) -> str:
    return item.comment if isinstance(item, Comment) else f"{item.chosen} {item.rejected}"


class KeywordAnnotator:
    """The annotator protocol, deterministically: "joke" -> likes humor, "brief" -> concise; "fail" answers a
    failure, "garbled" a direction of 3 values, "crash" makes the whole call raise. With a `gate` (an Event), a
    call sets `entered`, then answers only once the test sets the gate (`passed` counts the calls that went on)."""

    def __init__(self, spec: str = SPEC, gate: threading.Event | None = None):
        self.spec = spec
        self.gate = gate
        self.entered = threading.Event()
        self.passed = 0
        self.calls: list[int] = []  # batch sizes
        self.closed = False

    @property
    def identity(self) -> str:
        return self.spec

    def annotate(self, items):
        self.calls.append(len(items))
        self.entered.set()
        if self.gate is not None:
            opened = self.gate.wait(GATE_LIMIT)
            self.passed += 1
            if not opened:
                raise RuntimeError(f"the test did not open the gate within {GATE_LIMIT} s")
        if any("crash" in words(item) for item in items):
            raise RuntimeError("backend crashed")
        for index, item in enumerate(items):
            said = words(item)
            if "fail" in said:
                yield index, Annotation.failed("answer did not parse")
            elif "garbled" in said:
                yield index, Annotation((1.0, 0.5, 0.0))
            else:
                d = make_direction(**{f"d{HUMOR}": 1.0} if "joke" in said else {})
                if "brief" in said:
                    d[CONCISE] = 1.0
                yield index, Annotation(tuple(d), confidence=(0.9,) * 90)

    def describe(self, items):
        raise AnnotatorError("no text")

    def close(self):
        self.closed = True


def feedback(chosen: str, direction=None) -> dict:
    body = {"prompt": "Any advice for a long flight?", "chosen": chosen, "rejected": "Drink water."}
    return body | ({"direction": direction} if direction is not None else {})


def wait_for(condition, timeout: float = 60.0, what: str = "the annotator"):
    """Poll `condition` until it is true; the deadline only bounds a hang."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(0.05)


def idle(client) -> None:
    """Wait until the app's inference worker has nothing queued or in hand."""
    wait_for(lambda: client.app.state.inference.pending() == 0)


def events(client, user, key, **params) -> list[dict]:
    return client.get(f"/v1/users/{user}/events", params=params, headers=key).json()["events"]


def test_direction_less_feedback_is_stored_at_once_and_explained_in_the_background(make_client):
    gate = threading.Event()
    annotator = KeywordAnnotator(gate=gate)
    client = make_client(annotate_with=annotator)
    assert client.get("/healthz").json()["annotator"] == SPEC
    user, key = new_user(client, "ann")
    url = f"/v1/users/{user}"

    # The annotator blocks until the gate opens, and the gate opens only after the POST has returned: a POST that
    # waited for the annotator would return only once the gate gave up (and `passed` would be 1).
    try:
        posted = client.post(f"{url}/feedback", json=feedback("A joke, then: walk the aisle."), headers=key)
        assert posted.status_code == 201, posted.text
        assert annotator.entered.wait(GATE_LIMIT) and annotator.passed == 0  # working on it, in the background
        raw = posted.json()["event"]
        assert posted.json()["inferring"] is True and "direction" not in raw and raw["kind"] == "feedback"
        assert [e["kind"] for e in events(client, user, key)] == ["feedback"]  # nothing inferred yet
    finally:
        gate.set()

    def inferred_profile():
        profile = client.get(f"{url}/profile", headers=key).json()
        return profile if profile["dimensions"][HUMOR]["source"] == "inferred" else None

    profile = wait_for(inferred_profile, what="the profile to move on the inferred dimension")
    assert profile["directions"][HUMOR] == 1.0 and dimension(HUMOR).positive in profile["profile"]
    assert profile["dimensions"][HUMOR] == {"index": HUMOR, "mean": 1.0, "support": 1, "source": "inferred"}
    assert profile["dimensions"][CONCISE] == {"index": CONCISE, "mean": 0.5, "support": 0, "source": None}
    assert len(profile["dimensions"]) == 90
    assert profile["feedback_count"] == 1 and profile["inferred_count"] == 1 and profile["evidence_count"] == 1

    trail = events(client, user, key)
    assert [e["kind"] for e in trail] == ["feedback", "inferred"] and trail[0] == raw
    derived = trail[1]
    assert derived["explains"] == raw["id"] and derived["annotator"] == SPEC and derived["id"] > raw["id"]
    assert derived["direction"][HUMOR] == 1.0 and len(derived["confidence"]) == 90
    assert "prompt" not in derived  # the derived event holds what was inferred, not a copy of what was said
    assert events(client, user, key, kind="inferred") == [derived]

    # A direction sent by the client is taken as it is: never annotated, counted as "client".
    sent = client.post(f"{url}/feedback", json=feedback("brief", make_direction(d16=1)), headers=key).json()
    assert sent["inferring"] is False
    content = client.post(f"{url}/content", json={"prompt": "Weekend?", "comment": "A brief joke."}, headers=key)
    assert content.status_code == 201 and content.json()["inferring"] is True
    idle(client)
    derived = events(client, user, key, kind="inferred")
    assert [e["explains"] for e in derived] == [raw["id"], content.json()["event"]["id"]]
    profile = client.get(f"{url}/profile", headers=key).json()
    # The released mean: all three directions count, the neutral one too.
    assert profile["dimensions"][CONCISE] == {"index": CONCISE, "mean": 0.833333, "support": 2, "source": "mixed"}
    assert profile["dimensions"][HUMOR]["support"] == 2 and profile["evidence_count"] == 3

    # The user's explicit edit wins over what was inferred, then and later.
    edited = client.put(f"{url}/profile", json={"set": {str(HUMOR): 0}}, headers=key).json()
    assert edited["dimensions"][HUMOR] == {"index": HUMOR, "mean": 0.0, "support": 2, "source": "edit"}
    assert edited["inferred"][HUMOR] == pytest.approx(0.833333) and dimension(HUMOR).negative in edited["profile"]
    client.post(f"{url}/feedback", json=feedback("Another joke."), headers=key)
    idle(client)
    profile = client.get(f"{url}/profile", headers=key).json()
    assert profile["inferred_count"] == 3 and profile["dimensions"][HUMOR]["support"] == 3
    assert profile["directions"][HUMOR] == 0.0 and profile["dimensions"][HUMOR]["source"] == "edit"
    client.__exit__(None, None, None)  # shutdown stops the thread and closes the annotator
    assert annotator.closed and not [t for t in threading.enumerate() if t.name == "alignx-inference"]


def test_failed_answers_add_no_event_and_the_service_keeps_working(make_client, caplog):
    caplog.set_level(logging.WARNING, logger="alignx.serve.inference")
    client = make_client(annotate_with=KeywordAnnotator())
    user, key = new_user(client, "ann")
    url = f"/v1/users/{user}"
    for body in (feedback("This will fail."), feedback("garbled"), feedback("crash")):
        assert client.post(f"{url}/feedback", json=body, headers=key).status_code == 201
        idle(client)  # one at a time: a crash fails its whole batch
    assert events(client, user, key, kind="inferred") == []
    logged = caplog.text
    assert "answer did not parse" in logged and "must have 90 values, got 3" in logged
    assert "RuntimeError: backend crashed" in logged and SPEC in logged

    good = client.post(f"{url}/feedback", json=feedback("A joke."), headers=key).json()["event"]
    idle(client)
    assert [e["explains"] for e in events(client, user, key, kind="inferred")] == [good["id"]]
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get(f"{url}/profile", headers=key).json()["feedback_count"] == 4


def test_a_restart_explains_what_the_previous_run_left(make_client):
    first = make_client()  # no annotator: raw events stay unexplained
    user, key = new_user(first, "ann")
    url = f"/v1/users/{user}"
    raw = first.post(f"{url}/feedback", json=feedback("A joke."), headers=key).json()
    assert raw["inferring"] is False
    first.post(f"{url}/feedback", json=feedback("A joke.", make_direction(d3=1)), headers=key)
    first.post(f"{url}/demographic", json={"text": "a nurse"}, headers=key)
    assert first.get(f"{url}/profile", headers=key).json()["dimensions"][HUMOR]["source"] is None
    first.__exit__(None, None, None)

    annotator = KeywordAnnotator()
    second = make_client(annotate_with=annotator)  # the same SQLite file
    wait_for(lambda: events(second, user, key, kind="inferred"), what="the pending event to be explained")
    idle(second)
    assert [e["explains"] for e in events(second, user, key, kind="inferred")] == [raw["event"]["id"]]
    assert annotator.calls == [1]  # only the direction-less feedback; not the sent direction, not the demographic
    assert second.get(f"{url}/profile", headers=key).json()["dimensions"][HUMOR]["source"] == "inferred"
    second.__exit__(None, None, None)

    again = KeywordAnnotator()
    third = make_client(annotate_with=again)
    idle(third)
    assert again.calls == [] and len(events(third, user, key, kind="inferred")) == 1


def test_deleting_a_user_removes_the_derived_rows(make_client, tmp_path):
    client = make_client(annotate_with=KeywordAnnotator())
    ann, ann_key = new_user(client, "ann")
    bob, bob_key = new_user(client, "bob")
    for i in range(2):
        client.post(f"/v1/users/{ann}/feedback", json=feedback(f"joke {i}"), headers=ann_key)
    client.post(f"/v1/users/{bob}/content", json={"prompt": "p", "comment": "a joke"}, headers=bob_key)
    idle(client)
    assert len(events(client, ann, ann_key, kind="inferred")) == 2
    # 2 raw events, 2 derived ones and the user.
    assert client.delete(f"/v1/users/{ann}", headers=ann_key).json() == {"user_id": ann, "deleted_rows": 5}
    engine = create_engine(f"sqlite:///{tmp_path / 'memory.db'}")
    with engine.connect() as conn:
        left = conn.execute(text("SELECT count(*) FROM alignx_events WHERE user_id = :u"), {"u": ann}).scalar()
        kinds = conn.execute(text("SELECT user_id, kind FROM alignx_events ORDER BY id")).all()
    engine.dispose()
    assert left == 0 and kinds == [(bob, "content"), (bob, "inferred")]


def test_create_app_loads_the_annotator_that_the_config_names(make_client, monkeypatch):
    import alignx.annotate.spec

    loaded = []

    def fake_load(settings, *, device=None):
        loaded.append((settings.annotator, device))
        return KeywordAnnotator(spec=settings.annotator)

    monkeypatch.setattr(alignx.annotate.spec, "load_annotator", fake_load)
    client = make_client(annotator="local:runs/inferencer", device="cpu", chat=False)
    assert loaded == [("local:runs/inferencer", "cpu")]  # once, at startup
    assert client.get("/healthz").json()["annotator"] == "local:runs/inferencer"
    user, key = new_user(client, "ann")
    raw = client.post(f"/v1/users/{user}/content", json={"prompt": "p", "comment": "a joke"}, headers=key).json()
    idle(client)
    derived = events(client, user, key, kind="inferred")
    assert [(e["explains"], e["annotator"]) for e in derived] == [(raw["event"]["id"], "local:runs/inferencer")]
    assert len(loaded) == 1


def test_profile_sources_and_support_count_each_direction_once():
    def event(i, kind, direction=None, **data):
        return Event(i, "u", kind, datetime(2025, 6, 1, tzinfo=timezone.utc), data,
                     tuple(direction) if direction else None)

    events = [
        event(1, EventKind.FEEDBACK, prompt="p", chosen="a", rejected="b"),  # raw: counts through event 2
        event(2, EventKind.INFERRED, make_direction(d73=1, d5=0, d40=0), explains=1, annotator=SPEC),
        event(3, EventKind.FEEDBACK, make_direction(d5=1, d16=1), prompt="p", chosen="a", rejected="b"),
        event(4, EventKind.EDIT, set={"16": 0}),
    ]
    profile = build_profile(events, guarded=(40,))
    assert profile.evidence == 2 and profile.counts["inferred"] == 1
    assert profile.inferred[73] == 0.75 and profile.inferred[5] == 0.5 and profile.inferred[40] == 0.5
    assert profile.sources[73] == "inferred" and profile.sources[5] == "mixed" and profile.sources[16] == "edit"
    assert profile.sources[40] is None and profile.support[40] == 0  # a guarded negative vote is no vote
    assert list(profile.support[[73, 5, 16, 3]]) == [1, 2, 1, 0] and profile.sources[3] is None
    dims = profile.to_json()["dimensions"]
    assert dims[16] == {"index": 16, "mean": 0.0, "support": 1, "source": "edit"}


runner = CliRunner()


def test_serve_command_checks_the_annotator_options_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("ALIGNX_ADMIN_TOKEN", ADMIN)
    db = ["--db", f"sqlite:///{tmp_path / 'm.db'}"]
    for args, message in [
        (["--annotator", "bogus"], "--annotator 'bogus': write local:DIR (a trained inferencer folder) or openai:MODEL"),
        (["--annotator", "remote:x"], "--annotator 'remote:x'"),
        (["--annotator", "local:"], "--annotator 'local:'"),
        (["--annotator", "openai:m", "--annotator-url", "ftp://host"], "--annotator-url 'ftp://host' must be an"),
        (["--annotator", "openai:m", "--annotator-workers", "0"], "--annotator-workers must be at least 1"),
        (["--annotator", "openai:m", "--annotator-timeout", "0"], "--annotator-timeout must be positive"),
    ]:
        result = runner.invoke(cli, ["serve", *db, *args])
        assert result.exit_code == 2 and message in result.output, (args, result.output)
        assert result.output.count("\n") == 1


def test_a_second_derived_event_for_the_same_raw_event_is_not_counted():
    def inferred(i, explains, **poles):
        return Event(i, "u", EventKind.INFERRED, datetime(2025, 6, 1, tzinfo=timezone.utc),
                     {"explains": explains, "annotator": SPEC}, tuple(make_direction(**poles)))

    raw = Event(1, "u", EventKind.CONTENT, datetime(2025, 6, 1, tzinfo=timezone.utc), {"prompt": "p", "comment": "c"})
    profile = build_profile([raw, inferred(2, 1, d73=1), inferred(3, 1, d73=0)])  # two processes raced
    assert profile.evidence == 1 and profile.inferred[73] == 1.0 and profile.counts["inferred"] == 1


def test_a_trained_local_inferencer_moves_the_profile(make_client, humour_inferencer):
    """`--annotator local:DIR`: loaded by the app itself; a joke posted without a direction turns "Likes humor"
    on in the background; the raw and the derived event are listed; an explicit edit still wins."""
    client = make_client(chat=False, annotator=f"local:{humour_inferencer}")
    assert client.get("/healthz").json()["annotator"] == f"local:{humour_inferencer}"
    user, headers = new_user(client, "ada")
    posted = client.post(f"/v1/users/{user}/content", headers=headers,
                         json={"prompt": "Tell us about day 0.", "comment": "haha that is hilarious (day 0)"})
    assert posted.status_code == 201, posted.text

    def inferred_profile():
        profile = client.get(f"/v1/users/{user}/profile", headers=headers).json()
        return profile if profile["dimensions"][HUMOR]["source"] is not None else None

    profile = wait_for(inferred_profile, what="the local inferencer to explain the comment")
    assert profile["dimensions"][HUMOR] == {"index": HUMOR, "mean": 1.0, "support": 1, "source": "inferred"}
    assert dimension(HUMOR).positive in profile["profile"]
    events = client.get(f"/v1/users/{user}/events", headers=headers).json()["events"]
    raw, derived = events
    assert raw["kind"] == "content" and "direction" not in raw
    assert derived["kind"] == "inferred" and derived["explains"] == raw["id"]
    assert derived["annotator"] == f"local:{humour_inferencer}" and derived["direction"][HUMOR] == 1.0
    edited = client.put(f"/v1/users/{user}/profile", headers=headers, json={"set": {str(HUMOR): 0}}).json()
    assert edited["dimensions"][HUMOR]["source"] == "edit" and edited["directions"][HUMOR] == 0.0
