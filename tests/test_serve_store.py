"""The memory store against SQLite and a real PostgreSQL on loopback: rows, deletion, hashed keys,
and 16 clients x 25 concurrent feedback posts over HTTP storing exactly 400, also after a restart."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from conftest import ADMIN, make_direction, serve_in_thread
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from alignx.serve import ServeConfig, create_app
from alignx.serve.memory import EventKind, build_profile
from alignx.serve.store import IdempotencyConflict, MemoryStore

CLIENTS, POSTS = 16, 25


def rows(url: str, table: str, user_id: str) -> int:
    column = "id" if table == "alignx_users" else "user_id"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(f"SELECT count(*) FROM {table} WHERE {column} = :u"), {"u": user_id}).scalar()
    finally:
        engine.dispose()


@pytest.fixture
def store(db_url):
    memory = MemoryStore(db_url)
    yield memory
    memory.close()


def test_events_are_appended_in_order_with_utc_timestamps(store):
    user, _ = store.create_user("ann")
    first = store.append(user.id, EventKind.FEEDBACK, {"prompt": "p", "chosen": "a", "rejected": "b"},
                         make_direction(d16=1))
    second = store.append(user.id, EventKind.FEEDBACK, {"prompt": "p", "chosen": "b", "rejected": "a"},
                          make_direction(d16=0))
    store.append(user.id, EventKind.DEMOGRAPHIC, {"text": "a nurse"})
    events = store.events(user.id)
    assert [e.id for e in events] == sorted(e.id for e in events) and events[0].id == first.id
    assert all(e.created_at.tzinfo is not None for e in events)
    assert events[0].created_at <= events[1].created_at <= events[2].created_at
    # Contradicting feedback keeps both events and moves the mean to neutral.
    assert store.count(user.id, EventKind.FEEDBACK) == 2 and second.direction[16] == 0
    assert build_profile(events).inferred[16] == pytest.approx(0.5)
    assert [e.kind for e in store.events(user.id, after=first.id)] == [EventKind.FEEDBACK, EventKind.DEMOGRAPHIC]


def test_the_store_finds_pending_events_and_stores_one_derived_event_each(store):
    """What a restart hands the annotator, and the one derived event per raw event (SQLite and PostgreSQL)."""
    ann, _ = store.create_user("ann")
    raw = store.append(ann.id, EventKind.CONTENT, {"prompt": "p", "comment": "a joke"})
    store.append(ann.id, EventKind.FEEDBACK, {"prompt": "p", "chosen": "a", "rejected": "b"}, make_direction(d3=1))
    store.append(ann.id, EventKind.DEMOGRAPHIC, {"text": "t"})
    store.append(ann.id, EventKind.EDIT, {"set": {"3": 1}})
    assert [e.id for e in store.pending_inference()] == [raw.id] and raw.needs_inference
    derived = store.append_inferred(raw, "test:keywords", make_direction(d73=1), (0.8,) * 90)
    assert derived.kind is EventKind.INFERRED and derived.data == {"explains": raw.id, "annotator": "test:keywords",
                                                                   "confidence": [0.8] * 90}
    assert store.append_inferred(raw, "other", make_direction(d73=0)) is None  # one derived event per raw event
    assert store.pending_inference() == [] and store.count(ann.id, EventKind.INFERRED) == 1
    later = store.append(ann.id, EventKind.FEEDBACK, {"prompt": "p", "chosen": "a", "rejected": "b"})
    assert [e.id for e in store.pending_inference()] == [later.id]
    store.delete_user(ann.id)
    assert store.pending_inference() == [] and store.append_inferred(later, "test:keywords", make_direction()) is None


def test_the_database_keeps_one_explanation_per_event_and_one_claim_per_pending_event(store, db_url):
    """Two replicas on one database (two stores here): their claims on pending work never overlap while live, an
    expired claim is taken over, and of two explanations of one event the database keeps the first."""
    ann, _ = store.create_user("ann")
    raw = [store.append(ann.id, EventKind.CONTENT, {"prompt": f"p{i}", "comment": "c"}) for i in range(4)]
    other = MemoryStore(db_url)
    try:
        mine = store.claim(raw[:3], "replica-a", 60)
        theirs = other.claim(raw, "replica-b", 60)
        assert [e.id for e in mine] == [e.id for e in raw[:3]] and [e.id for e in theirs] == [raw[3].id]
        assert store.pending_inference() == [] and other.claim(raw[:3], "replica-b", 60) == []
        assert store.claim(raw[:1], "replica-a", 60) == raw[:1]  # a worker renews its own claim
        assert other.claim(raw[:1], "replica-b", -1) == []
        store.claim(raw[1:2], "replica-a", -1)  # replica-a's claim on raw[1] ran out: replica-b may take it
        assert other.claim(raw[1:2], "replica-b", 60) == raw[1:2]

        assert store.append_inferred(raw[0], "a", make_direction(d73=1)) is not None
        assert other.append_inferred(raw[0], "b", make_direction(d73=0)) is None
        engine = create_engine(db_url)
        with engine.connect() as conn:
            with pytest.raises(IntegrityError):  # the constraint itself, not a check before the insert
                conn.execute(text("INSERT INTO alignx_events (user_id, kind, created_at, data, explains) "
                                  "VALUES (:u, 'inferred', CURRENT_TIMESTAMP, '{}', :e)"), {"u": ann.id, "e": raw[0].id})
        with engine.connect() as conn:
            claims = conn.execute(text("SELECT event_id FROM alignx_inference_claims ORDER BY event_id")).scalars()
            assert list(claims) == [e.id for e in raw[1:]]  # storing the explanation dropped its claim
        engine.dispose()
        assert store.claim(raw[:1], "replica-c", 60) == []  # explained: nothing to claim
    finally:
        other.close()


def test_an_idempotency_key_stores_one_event_even_when_posts_race(store):
    ann, _ = store.create_user("ann")
    bob, _ = store.create_user("bob")
    body = {"prompt": "p", "chosen": "a", "rejected": "b"}
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: store.append_once(ann.id, EventKind.FEEDBACK, body, idempotency_key="k1"),
                                range(16)))
    assert sum(created for _, created in results) == 1 and len({event.id for event, _ in results}) == 1
    assert store.count(ann.id) == 1
    assert store.append_once(bob.id, EventKind.FEEDBACK, body, idempotency_key="k1")[1]  # keys are per user
    with pytest.raises(IdempotencyConflict, match="Idempotency-Key 'k1' was used for another request"):
        store.append_once(ann.id, EventKind.FEEDBACK, {**body, "chosen": "c"}, idempotency_key="k1")
    assert store.append_once(ann.id, EventKind.FEEDBACK, body)[1] and store.count(ann.id) == 2  # no key: stored


def test_keys_are_stored_hashed_and_delete_removes_every_row(store, db_url):
    ann, ann_key = store.create_user("ann")
    bob, bob_key = store.create_user("bob")
    for i in range(3):
        store.append(ann.id, EventKind.CONTENT, {"prompt": f"p{i}", "comment": "c"}, make_direction(d3=1))
    store.append(bob.id, EventKind.CONTENT, {"prompt": "q", "comment": "c"})
    assert store.user_for_key(ann_key).id == ann.id and store.user_for_key(bob_key).id == bob.id
    engine = create_engine(db_url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT key_hash FROM alignx_users")).scalars().all()
    engine.dispose()
    assert ann_key not in stored and bob_key not in stored and len(stored) == 2

    assert store.delete_user(ann.id) == 4  # 3 events + the user row
    assert rows(db_url, "alignx_events", ann.id) == 0 and rows(db_url, "alignx_users", ann.id) == 0
    assert store.get_user(ann.id) is None and store.user_for_key(ann_key) is None
    assert store.delete_user(ann.id) == 0
    assert rows(db_url, "alignx_events", bob.id) == 1  # nobody else's rows go


async def _storm(base: str, user_id: str, key: str) -> list[int]:
    """CLIENTS clients, each with its own connection pool, each firing POSTS posts at once."""
    headers = {"Authorization": f"Bearer {key}"}

    async def client(c: int) -> list[int]:
        limits = httpx.Limits(max_connections=POSTS)
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60, limits=limits) as http:
            async def post(i: int) -> int:
                body = {"prompt": f"client {c} post {i}", "chosen": "short", "rejected": "long",
                        "direction": make_direction(d16=1 if (c + i) % 2 else 0)}
                response = await http.post(f"/v1/users/{user_id}/feedback", json=body)
                assert response.status_code == 201, response.text
                return response.json()["event"]["id"]

            return await asyncio.gather(*(post(i) for i in range(POSTS)))

    return [i for ids in await asyncio.gather(*(client(c) for c in range(CLIENTS))) for i in ids]


def _stored_prompts(base: str, user_id: str) -> list[str]:
    prompts, after = [], 0
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN}"}) as http:
        while after is not None:
            page = http.get(f"/v1/users/{user_id}/events", params={"after": after, "limit": 150}).json()
            prompts += [e["prompt"] for e in page["events"]]
            after = page["next_after"]
    return prompts


@pytest.mark.slow  # uvicorn
def test_concurrent_feedback_stores_exactly_400_and_survives_restart(db_url):
    config = ServeConfig(db=db_url, admin_token=ADMIN)
    expected = sorted(f"client {c} post {i}" for c in range(CLIENTS) for i in range(POSTS))
    with serve_in_thread(create_app(config)) as base:
        created = httpx.post(f"{base}/v1/users", json={"name": "load"}, headers={"Authorization": f"Bearer {ADMIN}"})
        user = created.json()
        ids = asyncio.run(_storm(base, user["user_id"], user["api_key"]))
        assert len(ids) == len(set(ids)) == CLIENTS * POSTS
        profile = httpx.get(f"{base}/v1/users/{user['user_id']}/profile",
                            headers={"Authorization": f"Bearer {user['api_key']}"}).json()
        assert profile["feedback_count"] == 400 and profile["evidence_count"] == 400
        assert profile["inferred"][16] == pytest.approx(0.5)  # 200 votes each way
        assert sorted(_stored_prompts(base, user["user_id"])) == expected
    # A new server process on the same database sees the same 400 rows, no more, no less.
    with serve_in_thread(create_app(ServeConfig(db=db_url, admin_token=ADMIN))) as base:
        assert sorted(_stored_prompts(base, user["user_id"])) == expected
