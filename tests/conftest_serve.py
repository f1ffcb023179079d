"""Helpers for the serve tests: run an ASGI app under uvicorn on loopback, and a private PostgreSQL cluster.

Imported by tests/test_serve_*.py (not a pytest conftest, so other test files load none of it).
The cluster is initdb'ed into a temp dir, runs as the `postgres` OS user when we are root,
listens on 127.0.0.1 on a free port, and is stopped and removed at the end.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

SETUP_HINT = "run tools/ensure_test_services.sh (installs Debian postgresql, chromium, chromium-driver)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_in_thread(app, *, timeout: float = 60.0) -> Iterator[str]:
    """Run `app` under a real uvicorn server on 127.0.0.1; yields its base URL, stops it on exit."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning",
                                           timeout_graceful_shutdown=5))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def postgres_bindir() -> Path | None:
    """The newest Debian PostgreSQL server bin dir, else wherever initdb is on PATH."""
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name.split(".")[0]))
    for d in reversed(dirs):
        if os.access(f"{d}/initdb", os.X_OK) and os.access(f"{d}/pg_ctl", os.X_OK):
            return Path(d)
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb and shutil.which("pg_ctl") else None


class PostgresCluster:
    def __init__(self, port: int):
        self.port = port

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh empty database on the cluster; its SQLAlchemy URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip(f"PostgreSQL server binaries (initdb, pg_ctl) not found; {SETUP_HINT}")
    user = None
    if os.geteuid() == 0:  # initdb refuses to run as root
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip(f"running as root and there is no 'postgres' OS user to run the server as; {SETUP_HINT}")
        user = "postgres"
    root = Path(tempfile.mkdtemp(prefix="alignx-pg-"))
    if user:
        shutil.chown(root, user, user)
    data, log, port = root / "data", root / "server.log", free_port()

    def run(*args: str) -> None:
        subprocess.run(args, check=True, user=user, cwd=root, capture_output=True, timeout=120)

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
            "--locale=C", "--no-sync")
        # fsync off: a test cluster that dies loses nothing we care about, and it is much faster.
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c max_connections=200"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
        try:
            yield PostgresCluster(port)
        finally:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
    except subprocess.CalledProcessError as e:
        server_log = log.read_text() if log.exists() else ""
        raise RuntimeError(f"PostgreSQL failed: {e.stderr.decode(errors='replace')}\n{server_log}") from e
    finally:
        shutil.rmtree(root, ignore_errors=True)
