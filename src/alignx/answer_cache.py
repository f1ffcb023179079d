"""Answers already paid for: an SQLite file keyed on (asker identity, item content hash), shared by the
annotators, the judge and the dataset builder.

Every answer is committed as it arrives (WAL, so a commit is cheap), so a run that is killed
resumes by asking only for what was never answered. Failures are not stored: a rerun tries them
again. The default file lives in the user cache folder; `--cache` or $ALIGNX_ANNOTATION_CACHE moves it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

CACHE_ENV = "ALIGNX_ANNOTATION_CACHE"
CACHE_HELP = {"help": "SQLite file of answers already given (resume, reruns).",
              "default_text": f"annotations.sqlite in the user cache folder, or ${CACHE_ENV}"}
SCHEMA = """CREATE TABLE IF NOT EXISTS answers (
    identity TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (identity, key))"""


def default_cache_path() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("alignx")) / "annotations.sqlite"


class AnswerCache:
    """get / put JSON values per (identity, key); one connection, used from one thread."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path).expanduser() if path is not None else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None)  # autocommit: each put is durable
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.execute(SCHEMA)

    def get_many(self, identity: str, keys: Iterable[str]) -> dict[str, Any]:
        """The stored values among `keys` (absent keys are left out)."""
        keys = list(dict.fromkeys(keys))
        out: dict[str, Any] = {}
        for start in range(0, len(keys), 500):  # SQLite's bound-parameter limit
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(f"SELECT key, value FROM answers WHERE identity = ? AND key IN ({marks})",
                                    [identity, *chunk])
            out.update((key, json.loads(value)) for key, value in rows)
        return out

    def put(self, identity: str, key: str, value: Any) -> None:
        self._db.execute("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?)",
                         (identity, key, json.dumps(value), time.time()))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> AnswerCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
