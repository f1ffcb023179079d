"""Operator settings of the service: database URL, prompt mode, chat backend, guard, limits.

Everything a user of the HTTP API cannot change lives here (the universal-values guard
included); `alignx serve` fills it from options and environment variables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from alignx.space import N_DIMENSIONS, dimension

MODES = ("ica", "pba")
# Harmlessness, honesty, truthfulness: personal preference may not turn them negative.
DEFAULT_GUARDED = (40, 42, 43)
ADMIN_TOKEN_ENV = "ALIGNX_ADMIN_TOKEN"
GUARD_ENV = "ALIGNX_GUARD"
UPSTREAM_KEY_ENV = "ALIGNX_UPSTREAM_API_KEY"
DB_ENV = "ALIGNX_DB"


def default_db_url() -> str:
    """A SQLite file in the user data dir ($ALIGNX_DB overrides), its folder created on demand."""
    if os.environ.get(DB_ENV):
        return os.environ[DB_ENV]
    from platformdirs import user_data_dir

    folder = Path(user_data_dir("alignx"))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'serve.db'}"


def parse_guard(text: str) -> tuple[int, ...]:
    """`40,42,43` -> (40, 42, 43); `none` or empty -> () (guard off)."""
    text = text.strip().lower()
    if text in ("", "none", "off"):
        return ()
    out = []
    for part in text.split(","):
        try:
            out.append(int(part))
        except ValueError:
            raise ValueError(
                f"--guard: {part.strip()!r} is not a dimension index; pass e.g. 40,42,43 or none"
            ) from None
    return tuple(sorted(set(out)))


@dataclass
class ServeConfig:
    # storage
    db: str = field(default_factory=default_db_url, metadata={"help": "SQLAlchemy URL of the memory database."})
    # generation
    mode: str = field(default="ica", metadata={"help": "ica: condition on recent history; pba: on the profile."})
    model: str = field(default="default", metadata={"help": "Local model spec, or the upstream model name."})
    upstream: str | None = field(default=None, metadata={"help": "Base URL of an OpenAI-compatible server (…/v1)."})
    upstream_api_key: str | None = None
    upstream_timeout: float = 120.0
    device: str | None = None
    dtype: str | None = None
    threads: int | None = field(default=None, metadata={"help": "torch CPU threads (default: every core)."})
    max_tokens: int = field(default=128, metadata={"help": "Completion length when a request names none."})
    max_tokens_limit: int = field(default=1024, metadata={"help": "Largest max_tokens a request may ask for."})
    history_items: int = field(default=4, metadata={"help": "ICA: most recent UGC and feedback items shown, each."})
    # memory policy
    guarded: tuple[int, ...] = DEFAULT_GUARDED
    half_life_days: float | None = field(default=None, metadata={"help": "Recency half-life of the profile mean."})
    # access
    admin_token: str | None = None
    max_body_bytes: int = 256 * 1024

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"mode {self.mode!r} is unknown; pass --mode ica or --mode pba")
        if not self.db or "://" not in self.db:
            raise ValueError(f"--db {self.db!r} is not a database URL; pass e.g. sqlite:///memory.db or "
                             "postgresql+psycopg://user@127.0.0.1/alignx")
        if self.db.startswith("sqlite:///") and not self.db.startswith("sqlite:///:memory:"):
            folder = Path(self.db.removeprefix("sqlite:///")).expanduser().parent
            if not folder.is_dir():
                raise ValueError(f"--db {self.db}: folder {folder} does not exist; create it or pass another path")
        self.guarded = tuple(sorted(set(self.guarded)))
        for index in self.guarded:
            if not 0 <= index < N_DIMENSIONS:
                raise ValueError(f"guard: dimension {index} is out of range 0..{N_DIMENSIONS - 1}")
        if self.half_life_days is not None and not self.half_life_days > 0:
            raise ValueError("half_life_days must be positive; leave it unset for the plain (released) mean")
        if not 1 <= self.max_tokens <= self.max_tokens_limit:
            raise ValueError(f"max_tokens must be in 1..max_tokens_limit ({self.max_tokens_limit}), "
                             f"got {self.max_tokens}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"--threads must be at least 1, got {self.threads}")
        if self.history_items < 1:
            raise ValueError("history_items must be at least 1")
        if self.max_body_bytes < 1024:
            raise ValueError("max_body_bytes must be at least 1024")
        if self.upstream is not None and not self.upstream.startswith(("http://", "https://")):
            raise ValueError(f"--upstream {self.upstream!r} must be an http(s) URL such as http://127.0.0.1:8000/v1")

    @property
    def guarded_labels(self) -> dict[int, str]:
        return {i: dimension(i).positive for i in self.guarded}
