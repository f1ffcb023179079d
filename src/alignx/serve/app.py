"""The FastAPI application: users, memory events, profile, OpenAI-compatible chat, and the page.

`create_app(config, backend=...)` wires a MemoryStore (opened now, so a bad --db fails at once)
and a chat backend (an instance, or a factory called at startup so the model loads before the
first request). Error bodies are `{"detail": "<one line>"}` (a 413 from FastAPI's body limit may be plain text).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse

from alignx.errors import UserError
from alignx.serve.auth import Admin, Caller, UserId, open_user
from alignx.serve.chat import BackendError, ChatBackend, Completion, GenParams, personalize
from alignx.serve.config import ServeConfig
from alignx.serve.memory import EventKind, GuardError, build_profile, check_edit, guarded_negatives, history_view
from alignx.serve.schemas import ChatRequest, ContentIn, DemographicIn, FeedbackIn, NewUser, ProfileEdit
from alignx.serve.store import MemoryStore, UnknownUser
from alignx.space import dimension, groups

MAX_EVENTS_PAGE = 1000


def _field_error(exc: RequestValidationError) -> str:
    """The first validation problem as one line: `body.direction: must have 90 values, got 3`."""
    first = exc.errors()[0]
    if first.get("type") == "json_invalid":
        return f"body: not valid JSON ({first.get('ctx', {}).get('error', 'parse error')} at {first['loc'][-1]})"
    where = ".".join(str(part) for part in first.get("loc", ())) or "body"
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {message}"


def create_app(
    config: ServeConfig,
    *,
    backend: ChatBackend | Callable[[], ChatBackend] | None = None,
    store: MemoryStore | None = None,
) -> FastAPI:
    store = store or MemoryStore(config.db)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if callable(backend) and not hasattr(backend, "complete"):
            app.state.backend = backend()  # load the model before the first request is accepted
        yield
        if app.state.backend is not None:
            app.state.backend.close()
        store.close()

    # max_body_size: FastAPI answers 413 past the limit, with or without a Content-Length header.
    app = FastAPI(title="alignx serve", version="1", lifespan=lifespan, docs_url="/docs", redoc_url=None,
                  max_body_size=config.max_body_bytes)
    app.state.config = config
    app.state.store = store
    app.state.backend = backend if hasattr(backend, "complete") else None

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        return JSONResponse({"detail": _field_error(exc), "errors": jsonable_encoder(exc.errors())}, 422)

    @app.exception_handler(GuardError)
    async def _guard(request: Request, exc: GuardError):
        return JSONResponse({"detail": str(exc), "dimension": exc.index}, 422)

    @app.exception_handler(UserError)
    async def _user_error(request: Request, exc: UserError):  # anything else is a bug: 500 and a logged traceback
        return JSONResponse({"detail": str(exc)}, 422)

    @app.exception_handler(UnknownUser)
    async def _gone(request: Request, exc: UnknownUser):
        return JSONResponse({"detail": str(exc)}, 404)

    @app.exception_handler(BackendError)
    async def _backend(request: Request, exc: BackendError):
        return JSONResponse({"detail": str(exc)}, 502)

    # ---------------------------------------------------------------- service

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> str:
        return resources.files("alignx.serve").joinpath("static", "index.html").read_text(encoding="utf-8")

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        store.ping()
        chat = app.state.backend.name if app.state.backend is not None else None
        return {"status": "ok", "database": store.backend, "chat": chat, "mode": config.mode}

    @app.get("/v1/space")
    def space() -> dict[str, Any]:
        """The 90 dimensions by group (what the page draws) and the operator's guarded dimensions."""
        return {
            "groups": [{"name": name, "dimensions": [{"index": d.index, "positive": d.positive,
                                                      "negative": d.negative} for d in dims]}
                       for name, dims in groups().items()],
            "guarded": list(config.guarded),
        }

    # ---------------------------------------------------------------- users

    @app.post("/v1/users", status_code=status.HTTP_201_CREATED)
    def create_user(body: NewUser, _: Admin) -> dict[str, str]:
        user, key = store.create_user(body.name)
        return {"user_id": user.id, "name": user.name, "api_key": key}

    @app.get("/v1/me")
    def me(caller: Caller) -> dict[str, Any]:
        if caller.is_admin:
            return {"admin": True}
        user = store.get_user(caller.user_id)
        if user is None:
            raise UnknownUser(caller.user_id)
        return {"admin": False, "user_id": user.id, "name": user.name}

    @app.get("/v1/users/{user_id}")
    def get_user(user_id: UserId) -> dict[str, Any]:
        user = store.get_user(user_id)
        if user is None:
            raise UnknownUser(user_id)
        return {"user_id": user.id, "name": user.name, "created_at": user.created_at.isoformat()}

    @app.delete("/v1/users/{user_id}")
    def delete_user(user_id: UserId) -> dict[str, Any]:
        """Right to be forgotten: every row of the user goes; the key stops working."""
        return {"user_id": user_id, "deleted_rows": store.delete_user(user_id)}

    # ---------------------------------------------------------------- memory

    @app.post("/v1/users/{user_id}/feedback", status_code=status.HTTP_201_CREATED)
    def add_feedback(user_id: UserId, body: FeedbackIn) -> dict[str, Any]:
        data = {"prompt": body.prompt, "chosen": body.chosen, "rejected": body.rejected}
        event = store.append(user_id, EventKind.FEEDBACK, data, body.direction)
        return {"event": event.to_json(), "guarded": guarded_negatives(body.direction, config.guarded)}

    @app.post("/v1/users/{user_id}/content", status_code=status.HTTP_201_CREATED)
    def add_content(user_id: UserId, body: ContentIn) -> dict[str, Any]:
        event = store.append(user_id, EventKind.CONTENT, {"prompt": body.prompt, "comment": body.comment},
                             body.direction)
        return {"event": event.to_json(), "guarded": guarded_negatives(body.direction, config.guarded)}

    @app.post("/v1/users/{user_id}/demographic", status_code=status.HTTP_201_CREATED)
    def add_demographic(user_id: UserId, body: DemographicIn) -> dict[str, Any]:
        return {"event": store.append(user_id, EventKind.DEMOGRAPHIC, {"text": body.text}).to_json()}

    def profile_json(user_id: str) -> dict[str, Any]:
        profile = build_profile(store.events(user_id), guarded=config.guarded, half_life_days=config.half_life_days)
        return {"user_id": user_id, **profile.to_json(), "guarded": list(config.guarded),
                "half_life_days": config.half_life_days}

    @app.get("/v1/users/{user_id}/profile")
    def get_profile(user_id: UserId) -> dict[str, Any]:
        return profile_json(user_id)

    @app.put("/v1/users/{user_id}/profile")
    def edit_profile(user_id: UserId, body: ProfileEdit) -> dict[str, Any]:
        """Explicit overrides (stored as an edit event) that win over the inferred means."""
        check_edit(body.values(), config.guarded)
        store.append(user_id, EventKind.EDIT, {"set": body.set})
        return profile_json(user_id)

    @app.get("/v1/users/{user_id}/events")
    def list_events(
        user_id: UserId,
        kind: EventKind | None = None,
        after: Annotated[int, Query(ge=0, description="only events with a larger id (paging)")] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_EVENTS_PAGE)] = 100,
    ) -> dict[str, Any]:
        events = store.events(user_id, kind=kind, after=after, limit=limit)
        return {"events": [e.to_json() for e in events],
                "next_after": events[-1].id if len(events) == limit else None}

    # ---------------------------------------------------------------- chat

    @app.get("/v1/models")
    def models(_: Caller) -> dict[str, Any]:
        name = app.state.backend.name if app.state.backend is not None else None
        return {"object": "list", "data": [{"id": n, "object": "model", "owned_by": "alignx"}
                                           for n in dict.fromkeys(("default", name)) if n]}

    @app.post("/v1/chat/completions")
    def chat(body: ChatRequest, caller: Caller):
        chat_backend: ChatBackend | None = app.state.backend
        if chat_backend is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "this server has no chat backend")
        if not chat_backend.accepts(body.model):
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"model {body.model!r} is not served here; use 'default' or {chat_backend.name!r}")
        if caller.is_admin and not body.user:
            raise HTTPException(422, "body.user: with the admin token, name the user whose memory to use")
        user_id = open_user(caller, caller.user_id or body.user, store)
        max_tokens = body.max_tokens or body.max_completion_tokens or config.max_tokens
        if max_tokens > config.max_tokens_limit:
            raise HTTPException(422, f"body.max_tokens: at most {config.max_tokens_limit} on this server")

        events = store.events(user_id)
        profile = build_profile(events, guarded=config.guarded, half_life_days=config.half_life_days)
        stated = ", ".join(dimension(i).positive if v > 0.5 else dimension(i).negative
                           for i, v in sorted(profile.overrides.items()) if v != 0.5)
        messages = personalize([m.plain() for m in body.messages], mode=config.mode,
                               view=history_view(events, config.history_items), profile=profile.text,
                               stated=stated, universal=not body.personalize)
        extra = body.model_dump(exclude={"messages", "stream", "max_tokens", "max_completion_tokens", "temperature",
                                         "top_p", "user", "personalize", "n"})
        params = GenParams(max_tokens, body.temperature, body.top_p, extra)
        meta = {"user_id": user_id, "mode": "universal" if not body.personalize else config.mode}
        ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if body.stream:
            return StreamingResponse(_sse(chat_backend, messages, params, ident, created, meta),
                                     media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        done: Completion = chat_backend.complete(messages, params)
        usage = None
        if done.prompt_tokens is not None and done.completion_tokens is not None:
            usage = {"prompt_tokens": done.prompt_tokens, "completion_tokens": done.completion_tokens,
                     "total_tokens": done.prompt_tokens + done.completion_tokens}
        return {
            "id": ident, "object": "chat.completion", "created": created, "model": chat_backend.name,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": done.text},
                         "finish_reason": done.finish_reason}],
            "usage": usage, "alignx": meta,
        }

    return app


def _sse(backend: ChatBackend, messages, params: GenParams, ident: str, created: int,
         meta: dict[str, Any]) -> Iterator[str]:
    """OpenAI's streaming format: a role chunk, content chunks, a finish chunk, then `data: [DONE]`."""

    def chunk(delta: dict[str, str], finish: str | None = None) -> str:
        body = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": backend.name,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], "alignx": meta}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    try:
        for delta in backend.stream(messages, params):
            if delta.text:
                yield chunk({"content": delta.text})
            if delta.finish_reason:
                yield chunk({}, delta.finish_reason)
    except BackendError as e:  # the status line is already sent; report in-band as OpenAI servers do
        yield f"data: {json.dumps({'error': {'message': str(e), 'type': 'backend_error'}})}\n\n"
    yield "data: [DONE]\n\n"
