"""`alignx serve` and `alignx db upgrade`: the options of `ServeConfig` / `DbUpgradeConfig` (declared once, see
alignx.options), the admin token from the environment, then uvicorn until SIGINT/SIGTERM. Every option is checked
and the database opened (its schema revision checked) before uvicorn starts.

With `--workers N` uvicorn starts N processes that each build the app from `alignx.serve.app:app_from_environment`,
reading this process's checked settings from the environment.

FastAPI, uvicorn and torch are imported inside the commands so `alignx --help` stays instant.
"""

from __future__ import annotations

import dataclasses
import os

import typer

from alignx.db_url import redact
from alignx.errors import OptionError
from alignx.options import options_command
from alignx.serve.config import ADMIN_TOKEN_ENV, NOT_OPTIONS, DbUpgradeConfig, ServeConfig


def run(config: ServeConfig) -> None:
    """Run the personalization service: preference memory, personalized chat, feedback and the profile page."""
    admin_token = os.environ.get(ADMIN_TOKEN_ENV)
    if not admin_token:
        raise OptionError(f"set {ADMIN_TOKEN_ENV} to the admin token (it creates users), e.g. "
                          f"export {ADMIN_TOKEN_ENV}=$(python -c 'import secrets; print(secrets.token_urlsafe())')")
    config = dataclasses.replace(config, admin_token=admin_token)
    import uvicorn

    from alignx.annotate.spec import load_annotator
    from alignx.serve.app import CONFIG_ENV, config_json, create_app
    from alignx.serve.chat import load_chat
    from alignx.serve.store import MemoryStore

    # Opened and loaded (and checked) here, before uvicorn, so a bad --db, a memory behind the code, a folder that
    # is no inferencer or an unreachable server is a one-line error rather than a failed startup; the database
    # first, as it is quickest.
    store = MemoryStore(config.db, upgrade=config.db_upgrade)
    if store.migration.changed and store.migration.before is not None:
        typer.echo(f"alignx serve: upgraded the memory from schema revision {store.migration.before} to "
                   f"{store.migration.after}", err=True)
    answers = "none" if not config.chat else (f"upstream {config.upstream}" if config.upstream
                                              else f"local {config.model}")
    banner = (f"alignx serve: http://{config.host}:{config.port}/  db {redact(config.db)}  chat {answers}  "
              f"mode {config.mode}  guard {','.join(map(str, config.guarded)) or 'none'}  "
              f"annotator {config.annotator or 'none'}")
    # uvicorn stops accepting on SIGINT/SIGTERM and lets running requests finish (bounded) before exiting.
    serving = dict(host=config.host, port=config.port, log_level=config.log_level.lower(), timeout_graceful_shutdown=10)
    if config.workers > 1:
        store.close()  # each worker opens its own
        # Loaded once here too, so a bad annotator or an unreachable upstream fails now rather than in N workers.
        if config.annotator:
            load_annotator(config, device=config.device).close()
        if config.chat:
            load_chat(config).close()
        os.environ[CONFIG_ENV] = config_json(config)
        typer.echo(f"{banner}  workers {config.workers}", err=True)
        uvicorn.run("alignx.serve.app:app_from_environment", factory=True, workers=config.workers, **serving)
        return
    annotator = load_annotator(config, device=config.device) if config.annotator else None
    chat = load_chat(config) if config.chat else None
    app = create_app(config, chat=chat, store=store, annotator=annotator)
    typer.echo(banner, err=True)
    uvicorn.run(app, **serving)


def run_db_upgrade(config: DbUpgradeConfig) -> None:
    """Bring the memory at --db to the schema this alignx needs (creating it when empty), then exit; rows are kept.
    alignx serve refuses a memory behind the code until this (or serve --db-upgrade) has run."""
    from alignx.serve.store import MemoryStore

    store = MemoryStore(config.db, upgrade=True)
    store.close()
    before, after = store.migration.before, store.migration.after
    what = (f"created at schema revision {after}" if before is None
            else f"already at schema revision {after}" if before == after
            else f"upgraded from schema revision {before} to {after}")
    typer.echo(f"alignx db upgrade: --db {redact(config.db)}: {what}")


serve = options_command(ServeConfig, run, name="serve", exclude=NOT_OPTIONS)
db_upgrade = options_command(DbUpgradeConfig, run_db_upgrade, name="db_upgrade")
