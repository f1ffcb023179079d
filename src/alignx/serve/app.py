"""The FastAPI application factory: the store, the chat model's and annotator's lifetimes, error bodies, routes.

`create_app(config, chat=..., annotator=...)` wires a MemoryStore (opened now, so a bad --db fails at once),
the chat model (`alignx serve` loads it with `load_chat` before uvicorn starts; None: no chat) and an
annotator (without `annotator=`, `config.annotator` names one and `load_annotator` loads it at startup).
The annotator runs in an `InferenceWorker` thread from startup to shutdown; both are closed at shutdown.
Error bodies are `{"detail": "<one line>"}` (a 413 from FastAPI's body limit may be plain text).
"""

from __future__ import annotations

import dataclasses
import json
import os
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from alignx.annotate.base import Annotator
from alignx.errors import UserError
from alignx.generation.base import GenerationError
from alignx.serve import chat_routes, routes
from alignx.serve.chat import ChatModel
from alignx.serve.config import ADMIN_TOKEN_ENV, ServeConfig
from alignx.serve.inference import InferenceWorker
from alignx.serve.memory import GuardError
from alignx.serve.store import MemoryStore, UnknownUser


def _field_error(exc: RequestValidationError) -> str:
    """The first validation problem as one line: `body.direction: must have 90 values, got 3`."""
    first = exc.errors()[0]
    if first.get("type") == "json_invalid":
        return f"body: not valid JSON ({first.get('ctx', {}).get('error', 'parse error')} at {first['loc'][-1]})"
    where = ".".join(str(part) for part in first.get("loc", ())) or "body"
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {message}"


async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse({"detail": _field_error(exc), "errors": jsonable_encoder(exc.errors())}, 422)


async def _guard(request: Request, exc: GuardError) -> JSONResponse:
    return JSONResponse({"detail": str(exc), "dimension": exc.index}, 422)


def _detail(status_code: int):
    """A handler answering `{"detail": str(exc)}` with `status_code`."""
    async def handler(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code)
    return handler


def create_app(
    config: ServeConfig,
    *,
    chat: ChatModel | None = None,
    store: MemoryStore | None = None,
    annotator: Annotator | None = None,
) -> FastAPI:
    store = store or MemoryStore(config.db)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        loaded = annotator
        if loaded is None and config.annotator is not None:
            from alignx.annotate.spec import load_annotator

            loaded = load_annotator(config, device=config.device)  # before the first request is accepted
        if loaded is not None:
            app.state.inference = InferenceWorker(loaded, store, claim_seconds=config.claim_seconds)
            app.state.inference.start()  # queues what a previous run left unexplained
        try:
            yield
        finally:
            if app.state.inference is not None:
                app.state.inference.stop()
                app.state.inference.annotator.close()
                app.state.inference = None
            if app.state.chat is not None:
                app.state.chat.close()
            store.close()

    # max_body_size: FastAPI answers 413 past the limit, with or without a Content-Length header.
    app = FastAPI(title="alignx serve", version="1", lifespan=lifespan, docs_url="/docs", redoc_url=None,
                  max_body_size=config.max_body_bytes)
    app.state.config = config
    app.state.store = store
    app.state.chat = chat
    app.state.inference = None  # set at startup when there is an annotator

    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(GuardError, _guard)
    app.add_exception_handler(UserError, _detail(422))  # anything else is a bug: 500 and a logged traceback
    app.add_exception_handler(UnknownUser, _detail(404))
    app.add_exception_handler(GenerationError, _detail(502))  # a UserError too: this handler is the closer one

    # Registered on the app's own router rather than included: since FastAPI 0.137 an included router
    # is one opaque node in app.routes (which tests walk), and copying the routes of a module-level
    # router would leave them blind to app.dependency_overrides.
    routes.add_routes(app.router)
    chat_routes.add_routes(app.router)
    return app


# `alignx serve --workers N`: the checked settings, as JSON, for the N processes uvicorn starts.
CONFIG_ENV = "ALIGNX_SERVE_CONFIG"


def config_json(config: ServeConfig) -> str:
    """The settings `app_from_environment` rebuilds `config` from (the admin token stays in its own variable)."""
    return json.dumps({f.name: getattr(config, f.name) for f in dataclasses.fields(config)
                       if f.init and f.name != "admin_token"})


def app_from_environment() -> FastAPI:
    """The app of one `alignx serve --workers N` process: $ALIGNX_SERVE_CONFIG's settings and its own database
    pool, upstream client and annotator (loaded at startup)."""
    from alignx.serve.chat import load_chat

    config = ServeConfig(**json.loads(os.environ[CONFIG_ENV]), admin_token=os.environ[ADMIN_TOKEN_ENV])
    return create_app(config, chat=load_chat(config) if config.chat else None)
