"""`alignx serve`: options and environment to a ServeConfig, then uvicorn until SIGINT/SIGTERM.

FastAPI, uvicorn and torch are imported inside the command so `alignx --help` stays instant.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from alignx.serve.config import ADMIN_TOKEN_ENV, DB_ENV, GUARD_ENV, UPSTREAM_KEY_ENV


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    db: Annotated[str | None, typer.Option(
        envvar=DB_ENV, help="SQLAlchemy URL of the memory, e.g. sqlite:///memory.db or "
        "postgresql+psycopg://user:pass@127.0.0.1/alignx. Default: serve.db in the user data dir.")] = None,
    mode: Annotated[str, typer.Option(help="ica: condition chat on recent history; pba: on the profile.")] = "ica",
    model: Annotated[str, typer.Option(
        help="Local model: 'default' (embedded), a hub id or a folder (a trained output too); with --upstream, "
        "the upstream model name.")] = "default",
    upstream: Annotated[str | None, typer.Option(
        help="Base URL of an OpenAI-compatible server (vLLM, llama.cpp), e.g. http://127.0.0.1:8080/v1; "
        f"its key from ${UPSTREAM_KEY_ENV}.")] = None,
    chat: Annotated[bool, typer.Option(help="--no-chat: memory endpoints only, no model loaded.")] = True,
    guard: Annotated[str, typer.Option(
        envvar=GUARD_ENV, help="Dimensions users may not turn negative (comma-separated), or 'none'.")] = "40,42,43",
    half_life_days: Annotated[float | None, typer.Option(
        help="Weigh events by recency with this half-life in days (default: plain mean).")] = None,
    max_tokens: Annotated[int, typer.Option(help="Completion length when a request names none.")] = 128,
    device: Annotated[str | None, typer.Option(help="torch device for the local model (default: cuda if any).")] = None,
    dtype: Annotated[str | None, typer.Option(help="fp32 | bf16 | fp16 for the local model.")] = None,
    threads: Annotated[int | None, typer.Option(
        help="torch CPU threads for the local model (default: every core; fewer helps on a busy machine).")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Run the personalization service: preference memory, personalized chat, feedback and the profile page."""
    from alignx.serve.config import ServeConfig, default_db_url, parse_guard

    admin_token = os.environ.get(ADMIN_TOKEN_ENV)
    if not admin_token:
        raise ValueError(f"set {ADMIN_TOKEN_ENV} to the admin token (it creates users), e.g. "
                         f"export {ADMIN_TOKEN_ENV}=$(python -c 'import secrets; print(secrets.token_urlsafe())')")
    config = ServeConfig(
        db=db or default_db_url(), mode=mode, model=model, upstream=upstream,
        upstream_api_key=os.environ.get(UPSTREAM_KEY_ENV), device=device, dtype=dtype, threads=threads,
        max_tokens=max_tokens,
        guarded=parse_guard(guard), half_life_days=half_life_days, admin_token=admin_token,
    )
    import uvicorn
    from sqlalchemy.engine import make_url

    from alignx.serve.app import create_app
    from alignx.serve.chat import make_backend

    app = create_app(config, backend=(lambda: make_backend(config)) if chat else None)
    shown_db = make_url(config.db).render_as_string(hide_password=True)
    backend = "none" if not chat else (f"upstream {upstream}" if upstream else f"local {model}")
    typer.echo(f"alignx serve: http://{host}:{port}/  db {shown_db}  chat {backend}  mode {mode}  "
               f"guard {','.join(map(str, config.guarded)) or 'none'}", err=True)
    # uvicorn stops accepting on SIGINT/SIGTERM and lets running requests finish (bounded) before exiting.
    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=10)
