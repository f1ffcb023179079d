"""`alignx serve`: the options of `ServeConfig` (declared once, see alignx.options), the admin token from
the environment, then uvicorn until SIGINT/SIGTERM. Every option is checked before uvicorn starts.

FastAPI, uvicorn and torch are imported inside the command so `alignx --help` stays instant.
"""

from __future__ import annotations

import dataclasses
import os

import typer

from alignx.errors import OptionError
from alignx.options import options_command
from alignx.serve.config import ADMIN_TOKEN_ENV, NOT_OPTIONS, ServeConfig


def run(config: ServeConfig) -> None:
    """Run the personalization service: preference memory, personalized chat, feedback and the profile page."""
    admin_token = os.environ.get(ADMIN_TOKEN_ENV)
    if not admin_token:
        raise OptionError(f"set {ADMIN_TOKEN_ENV} to the admin token (it creates users), e.g. "
                          f"export {ADMIN_TOKEN_ENV}=$(python -c 'import secrets; print(secrets.token_urlsafe())')")
    config = dataclasses.replace(config, admin_token=admin_token,
                                 upstream_api_key=os.environ.get(config.upstream_key_env))
    import uvicorn
    from sqlalchemy.engine import make_url

    from alignx.annotate.spec import load_annotator
    from alignx.serve.app import create_app
    from alignx.serve.chat import make_backend

    # Loaded (and checked) here, before uvicorn, so a folder that is no inferencer or an unreachable server
    # is a one-line error rather than a failed startup.
    annotator = load_annotator(config, device=config.device) if config.annotator else None
    app = create_app(config, backend=(lambda: make_backend(config)) if config.chat else None, annotator=annotator)
    shown_db = make_url(config.db).render_as_string(hide_password=True)
    backend = "none" if not config.chat else (f"upstream {config.upstream}" if config.upstream
                                              else f"local {config.model}")
    typer.echo(f"alignx serve: http://{config.host}:{config.port}/  db {shown_db}  chat {backend}  "
               f"mode {config.mode}  guard {','.join(map(str, config.guarded)) or 'none'}  "
               f"annotator {config.annotator or 'none'}", err=True)
    # uvicorn stops accepting on SIGINT/SIGTERM and lets running requests finish (bounded) before exiting.
    uvicorn.run(app, host=config.host, port=config.port, log_level=config.log_level.lower(),
                timeout_graceful_shutdown=10)


serve = options_command(ServeConfig, run, name="serve", exclude=NOT_OPTIONS)
