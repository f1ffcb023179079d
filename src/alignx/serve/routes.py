"""The service and memory routes: the page, health, the space, users, memory events and the profile.

Route functions take the config, store and caller as dependencies (`alignx.serve.deps`, `.auth`);
`add_routes` at the end is the table of paths, in the order the OpenAPI document lists them.
"""

from __future__ import annotations

import itertools
import json
import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response, status
from fastapi.responses import HTMLResponse, StreamingResponse

from alignx.serve.auth import Admin, Caller, UserId
from alignx.serve.config import ServeConfig
from alignx.serve.deps import Chat, Config, Inference, Store
from alignx.serve.inference import InferenceWorker
from alignx.serve.memory import Event, EventKind, build_profile, check_edit, guarded_negatives
from alignx.serve.schemas import ContentIn, DemographicIn, FeedbackIn, NewUser, ProfileEdit
from alignx.serve.store import IDEMPOTENCY_KEY_MAX, MemoryStore, UnknownUser
from alignx.space import groups

MAX_EVENTS_PAGE = 1000


# ---------------------------------------------------------------- service


def page() -> str:
    return resources.files("alignx.serve").joinpath("static", "index.html").read_text(encoding="utf-8")


def healthz(config: Config, store: Store, chat: Chat, inference: Inference) -> dict[str, Any]:
    store.ping()
    model = chat.name if chat is not None else None
    annotator = inference.spec if inference is not None else None
    return {"status": "ok", "database": store.backend, "chat": model, "mode": config.mode, "annotator": annotator,
            "process": os.getpid()}


def space(config: Config) -> dict[str, Any]:
    """The 90 dimensions by group (what the page draws) and the operator's guarded dimensions."""
    return {
        "groups": [{"name": name, "dimensions": [{"index": d.index, "positive": d.positive,
                                                  "negative": d.negative} for d in dims]}
                   for name, dims in groups().items()],
        "guarded": list(config.guarded),
    }


# ---------------------------------------------------------------- users


def create_user(body: NewUser, _: Admin, store: Store) -> dict[str, str]:
    user, key = store.create_user(body.name)
    return {"user_id": user.id, "name": user.name, "api_key": key}


def me(caller: Caller, store: Store) -> dict[str, Any]:
    if caller.is_admin:
        return {"admin": True}
    user = store.get_user(caller.user_id)
    if user is None:
        raise UnknownUser(caller.user_id)
    return {"admin": False, "user_id": user.id, "name": user.name}


def get_user(user_id: UserId, store: Store) -> dict[str, Any]:
    user = store.get_user(user_id)
    if user is None:
        raise UnknownUser(user_id)
    return {"user_id": user.id, "name": user.name, "created_at": user.created_at.isoformat()}


def delete_user(user_id: UserId, store: Store) -> dict[str, Any]:
    """Right to be forgotten: every row of the user goes; the key stops working."""
    return {"user_id": user_id, "deleted_rows": store.delete_user(user_id)}


# ---------------------------------------------------------------- memory


IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=IDEMPOTENCY_KEY_MAX,
    description="A key of the client's choosing for this post: a retry with the same key and body stores nothing "
                "and answers 200 with the first answer's event (header Idempotent-Replayed: true); the same key "
                "with another body answers 422.")]


def _append(store: MemoryStore, user_id: str, kind: EventKind, data: dict[str, Any], direction, key: str | None,
            response: Response) -> Event:
    """Store the post (once per idempotency key); a replay answers 200 instead of 201 and says so."""
    event, created = store.append_once(user_id, kind, data, direction, idempotency_key=key)
    if not created:
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
    return event


def _stored(event: Event, config: ServeConfig, inference: InferenceWorker | None) -> dict[str, Any]:
    """The answer to a feedback or content post; a direction-less event is queued for the annotator (the
    answer does not wait for it: `inferring` says a derived event will follow)."""
    inferring = inference is not None and inference.submit(event)
    return {"event": event.to_json(), "guarded": guarded_negatives(event.direction, config.guarded),
            "inferring": inferring}


def add_feedback(user_id: UserId, body: FeedbackIn, config: Config, store: Store, inference: Inference,
                 response: Response, idempotency_key: IdempotencyKey = None) -> dict[str, Any]:
    data = {"prompt": body.prompt, "chosen": body.chosen, "rejected": body.rejected}
    event = _append(store, user_id, EventKind.FEEDBACK, data, body.direction, idempotency_key, response)
    return _stored(event, config, inference)


def add_content(user_id: UserId, body: ContentIn, config: Config, store: Store, inference: Inference,
                response: Response, idempotency_key: IdempotencyKey = None) -> dict[str, Any]:
    data = {"prompt": body.prompt, "comment": body.comment}
    event = _append(store, user_id, EventKind.CONTENT, data, body.direction, idempotency_key, response)
    return _stored(event, config, inference)


def add_demographic(user_id: UserId, body: DemographicIn, store: Store, response: Response,
                    idempotency_key: IdempotencyKey = None) -> dict[str, Any]:
    event = _append(store, user_id, EventKind.DEMOGRAPHIC, {"text": body.text}, None, idempotency_key, response)
    return {"event": event.to_json()}


def _profile_json(user_id: str, config: ServeConfig, store: MemoryStore) -> dict[str, Any]:
    profile = build_profile(store.events(user_id), guarded=config.guarded, half_life_days=config.half_life_days)
    return {"user_id": user_id, **profile.to_json(), "guarded": list(config.guarded),
            "half_life_days": config.half_life_days}


def get_profile(user_id: UserId, config: Config, store: Store) -> dict[str, Any]:
    return _profile_json(user_id, config, store)


def edit_profile(user_id: UserId, body: ProfileEdit, config: Config, store: Store) -> dict[str, Any]:
    """Explicit overrides (stored as an edit event) that win over the inferred means."""
    check_edit(body.values(), config.guarded)
    store.append(user_id, EventKind.EDIT, {"set": body.set})
    return _profile_json(user_id, config, store)


def list_events(
    user_id: UserId,
    store: Store,
    kind: EventKind | None = None,
    after: Annotated[int, Query(ge=0, description="only events with a larger id (paging)")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS_PAGE)] = 100,
) -> dict[str, Any]:
    events = store.events(user_id, kind=kind, after=after, limit=limit)
    return {"events": [e.to_json() for e in events],
            "next_after": events[-1].id if len(events) == limit else None}


def _records(events: list[Event]) -> list[tuple[str, dict[str, Any]]]:
    """(split, record) for each AlignX record `alignx build --db URL --user ID` makes of these events (the build's
    default options)."""
    from alignx.dataset.builder import BuildOptions, build_dataset
    from alignx.dataset.events import check_events
    from alignx.dataset.store_events import events_table

    table = check_events(events_table(events), "the memory")
    if table.num_rows == 0:
        return []
    out = []
    with tempfile.TemporaryDirectory(prefix="alignx-export-") as folder:
        build_dataset(table, Path(folder), BuildOptions(user=events[0].user_id))
        for split in ("train", "test"):
            path = Path(folder) / f"{split}.jsonl"
            if path.exists():
                with path.open(encoding="utf-8") as lines:
                    out.extend((split, json.loads(line)) for line in lines)
    return out


def export_user(user_id: UserId, store: Store) -> StreamingResponse:
    """Right of access: the user's own data as NDJSON, one object per line: `{"user": ...}`, then
    `{"event": ...}` for every event in the order stored (as GET .../events gives them), then `{"split": ...,
    "record": ...}` for each AlignX record `alignx build --db URL --user ID` makes of them."""
    user = get_user(user_id, store)
    events = store.events(user_id)  # one read, so the events and the records built from them agree
    records = _records(events)

    objects = itertools.chain([{"user": user}], ({"event": e.to_json()} for e in events),
                              ({"split": split, "record": record} for split, record in records))
    return StreamingResponse((json.dumps(o, ensure_ascii=False) + "\n" for o in objects),
                             media_type="application/x-ndjson",
                             headers={"Content-Disposition": f'attachment; filename="alignx-{user_id}.ndjson"'})


def add_routes(router: APIRouter) -> None:
    """Put these routes on `router`, the app's own (see create_app)."""
    router.get("/", response_class=HTMLResponse, include_in_schema=False)(page)
    router.get("/healthz")(healthz)
    router.get("/v1/space")(space)
    router.post("/v1/users", status_code=status.HTTP_201_CREATED)(create_user)
    router.get("/v1/me")(me)
    router.get("/v1/users/{user_id}")(get_user)
    router.delete("/v1/users/{user_id}")(delete_user)
    router.get("/v1/users/{user_id}/export", response_class=StreamingResponse)(export_user)
    router.post("/v1/users/{user_id}/feedback", status_code=status.HTTP_201_CREATED)(add_feedback)
    router.post("/v1/users/{user_id}/content", status_code=status.HTTP_201_CREATED)(add_content)
    router.post("/v1/users/{user_id}/demographic", status_code=status.HTTP_201_CREATED)(add_demographic)
    router.get("/v1/users/{user_id}/profile")(get_profile)
    router.put("/v1/users/{user_id}/profile")(edit_profile)
    router.get("/v1/users/{user_id}/events")(list_events)
