"""The FastAPI application factory: the store, the chat backend's lifetime, error bodies, and the routes.

`create_app(config, backend=...)` wires a MemoryStore (opened now, so a bad --db fails at once)
and a chat backend (an instance, or a factory called at startup so the model loads before the
first request). Error bodies are `{"detail": "<one line>"}` (a 413 from FastAPI's body limit may be plain text).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from alignx.errors import UserError
from alignx.serve import chat_routes, routes
from alignx.serve.chat import BackendError, ChatBackend
from alignx.serve.config import ServeConfig
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

    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(GuardError, _guard)
    app.add_exception_handler(UserError, _detail(422))  # anything else is a bug: 500 and a logged traceback
    app.add_exception_handler(UnknownUser, _detail(404))
    app.add_exception_handler(BackendError, _detail(502))

    # Registered on the app's own router rather than included: since FastAPI 0.137 an included router
    # is one opaque node in app.routes (which tests walk), and copying the routes of a module-level
    # router would leave them blind to app.dependency_overrides.
    routes.add_routes(app.router)
    chat_routes.add_routes(app.router)
    return app
