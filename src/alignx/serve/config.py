"""Operator settings of the service: database URL, prompt mode, chat backend, annotator, guard, limits.

Everything a user of the HTTP API cannot change lives here (the universal-values guard
included); `alignx serve` fills it from options and environment variables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from alignx.annotate.spec import AnnotatorSettings
from alignx.errors import OptionError
from alignx.generation.steering import DEFAULT_WEIGHT
from alignx.models import DTYPES, untrained
from alignx.openai_server import DEFAULT_KEY_ENV
from alignx.prompts import PromptKind
from alignx.space import N_DIMENSIONS

# Harmlessness, honesty, truthfulness: personal preference may not turn them negative.
DEFAULT_GUARDED = (40, 42, 43)
ADMIN_TOKEN_ENV = "ALIGNX_ADMIN_TOKEN"
GUARD_ENV = "ALIGNX_GUARD"
DB_ENV = "ALIGNX_DB"
CLAIM_SECONDS = 60.0  # a replica's hold on an event it is annotating (alignx.serve.inference)
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def default_db_url() -> str:
    """A SQLite file in the user data dir ($ALIGNX_DB overrides), its folder created on demand."""
    if os.environ.get(DB_ENV):
        return os.environ[DB_ENV]
    from platformdirs import user_data_dir

    folder = Path(user_data_dir("alignx"))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'serve.db'}"


def check_db_url(url: str) -> None:
    """OptionError unless `url` looks like a database URL whose SQLite folder (if any) exists."""
    if not url or "://" not in url:
        raise OptionError(f"--db {url!r} is not a database URL; pass e.g. sqlite:///memory.db or "
                          "postgresql+psycopg://user@127.0.0.1/alignx")
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        folder = Path(url.removeprefix("sqlite:///")).expanduser().parent
        if not folder.is_dir():
            raise OptionError(f"--db {url}: folder {folder} does not exist; create it or pass another path")


DB_HELP = ("SQLAlchemy URL of the memory, e.g. sqlite:///memory.db or "
           "postgresql+psycopg://user:pass@127.0.0.1/alignx.")


def db_field():
    """The `--db` option, the same on every command that opens the memory."""
    return field(default_factory=default_db_url, metadata={
        "envvar": DB_ENV, "default_text": "serve.db in the user data dir", "help": DB_HELP})


@dataclass
class DbUpgradeConfig:
    """`alignx db upgrade`'s options."""

    db: str = db_field()

    def __post_init__(self):
        check_db_url(self.db)


def parse_guard(text: str) -> tuple[int, ...]:
    """`40,42,43` -> (40, 42, 43); `none` or empty -> () (guard off)."""
    text = text.strip().lower()
    if text in ("", "none", "off"):
        return ()
    out = []
    for part in text.split(","):
        try:
            index = int(part)
        except ValueError:
            raise OptionError(f"--guard: {part.strip()!r} is not a dimension index; pass e.g. 40,42,43 "
                              "or none") from None
        if not 0 <= index < N_DIMENSIONS:
            raise OptionError(f"--guard: dimension {index} is out of range 0..{N_DIMENSIONS - 1}")
        out.append(index)
    return tuple(sorted(set(out)))


# Fields that are not command-line options: secrets come from the environment, limits from code.
NOT_OPTIONS = ("upstream_timeout", "upstream_retries", "max_tokens_limit", "history_items", "admin_token",
               "max_body_bytes")


@dataclass
class ServeConfig(AnnotatorSettings):
    """`alignx serve`'s options (alignx.options builds the command from these fields) and the limits
    that come from code or the environment. Every value is checked here, before uvicorn starts.

    The annotator options (`--annotator` and its settings, declared once in `AnnotatorSettings`) name the
    backend that infers the direction of feedback and content posted without one."""

    # network
    host: str = field(default="127.0.0.1", metadata={"help": "Address to listen on (127.0.0.1: this machine only)."})
    port: int = field(default=8000, metadata={"min": 1, "max": 65535, "help": "TCP port."})
    # storage
    db: str = db_field()
    db_upgrade: bool = field(default=False, metadata={
        "help": "Upgrade a memory at an older schema revision in place before serving (what alignx db upgrade "
                "does); without it such a memory is refused."})
    workers: int = field(default=1, metadata={"min": 1,
        "help": "Server processes (uvicorn workers), each with its own database pool and, with --annotator, its "
                "own annotator; more than 1 needs PostgreSQL and chat upstream or off (--upstream, --no-chat)."})
    claim_seconds: float = field(default=CLAIM_SECONDS, metadata={"above": 0,
        "help": "How long a replica's claim on an event awaiting the annotator lasts: the events of a replica "
                "that dies go to the others after this."})
    # generation
    mode: str = field(default=PromptKind.ICA.value, metadata={
        "help": "ica: condition chat on recent history; pba: on the profile."})
    model: str = field(default="default", metadata={
        "help": "Local model: 'default' (embedded), a hub id or a folder (a training output too); with "
                "--upstream, the upstream model name."})
    upstream: str | None = field(default=None, metadata={
        "help": "Base URL of an OpenAI-compatible server (vLLM, llama.cpp), e.g. http://127.0.0.1:8080/v1, to "
                "answer with instead of the local model."})
    upstream_key_env: str = field(default=DEFAULT_KEY_ENV, metadata={
        "help": "Environment variable holding the upstream's API key (a local server needs none)."})
    chat: bool = field(default=True, metadata={"help": "--no-chat: memory endpoints only, no model loaded."})
    max_tokens: int = field(default=128, metadata={"help": "Completion length when a request names none."})
    device: str | None = field(default=None, metadata={
        "help": "torch device for the local model: cpu, cuda, cuda:N.", "default_text": "cuda if any, else cpu"})
    dtype: str | None = field(default=None, metadata={"choices": tuple(DTYPES),
        "help": "fp32 | bf16 | fp16 for the local model.", "default_text": "bf16 on GPUs that have it, else fp32"})
    threads: int | None = field(default=None, metadata={"min": 1,
        "help": "torch CPU threads for the local model (fewer helps on a busy machine).", "default_text": "every core"})
    # memory policy
    guard: str = field(default=",".join(map(str, DEFAULT_GUARDED)), metadata={
        "envvar": GUARD_ENV, "help": "Dimensions users may not turn negative (comma-separated), or 'none'."})
    half_life_days: float | None = field(default=None, metadata={"above": 0,
        "help": "Weigh events by recency with this half-life in days.", "default_text": "plain mean"})
    steer: float | None = field(default=None, metadata={"min": 0,
        "default_text": f"{DEFAULT_WEIGHT:g} for an untrained local model (default or a plain folder), else 0",
        "help": "Local model: steer each personalized answer by the user's last feedback choices with weight W, as "
                "alignx generate --steer does: the answer reads the universal prompt, and the chosen / rejected "
                "texts only shift its token scores; 0: answer from the --mode persona prompt, which an untrained "
                "model copies and a trained adapter (alignx train) reads."})
    best_of: int = field(default=1, metadata={"min": 1,
        "help": "Local model, --steer 0: answer a personalized request with the best of N sampled candidates "
                "(persona and universal prompts alternating) under the zero-shot reward, candidates that copy their "
                "prompt last; 1: off."})
    log_level: str = field(default="info", metadata={"choices": LOG_LEVELS, "help": "uvicorn log level."})
    # not options (NOT_OPTIONS)
    upstream_timeout: float = 120.0  # seconds per upstream answer
    upstream_retries: int = 2  # the client's, after a 429 / 5xx / timeout, with its backoff
    max_tokens_limit: int = 1024  # largest max_tokens a request may ask for
    history_items: int = 4  # ICA: most recent UGC and feedback items shown, each
    admin_token: str | None = None
    max_body_bytes: int = 256 * 1024
    guarded: tuple[int, ...] = field(init=False)

    def __post_init__(self):
        self.check_annotator()  # every declared bound and choice too (check_options)
        self.mode = PromptKind.parse(self.mode, "--mode").value
        self.guarded = parse_guard(self.guard)
        check_db_url(self.db)
        if not 1 <= self.max_tokens <= self.max_tokens_limit:
            raise OptionError(f"--max-tokens must be between 1 and {self.max_tokens_limit}, got {self.max_tokens}")
        if self.history_items < 1:
            raise OptionError("history_items must be at least 1")
        if self.max_body_bytes < 1024:
            raise OptionError("max_body_bytes must be at least 1024")
        if self.upstream is not None and not self.upstream.startswith(("http://", "https://")):
            raise OptionError(f"--upstream {self.upstream!r} must be an http(s) URL such as http://127.0.0.1:8000/v1")
        local = self.chat and self.upstream is None
        if self.workers > 1 and self.db.startswith("sqlite"):
            raise OptionError(f"--workers {self.workers}: SQLite takes one writer at a time, so the memory on SQLite "
                              "is served by one process; pass --workers 1, or a PostgreSQL --db")
        if self.workers > 1 and local:
            raise OptionError(f"--workers {self.workers}: each worker would load its own copy of the local chat "
                              "model; answer with --upstream (vLLM or any OpenAI-compatible server) or --no-chat")
        if self.steer is None:
            self.steer = DEFAULT_WEIGHT if local and self.best_of == 1 and untrained(self.model) else 0.0
        if self.steer and not local:
            raise OptionError("--steer scores every token under three contexts with the local model; it needs local "
                              "chat (no --upstream, not --no-chat)")
        if self.best_of > 1 and not local:
            raise OptionError("--best-of scores candidates with the local model; it needs local chat (no --upstream, "
                              "not --no-chat)")
        if self.best_of > 1 and self.steer:
            raise OptionError("--steer and --best-of do not combine: steer one answer (--best-of 1), or rank several "
                              "(--steer 0)")
        if self.chat and self.upstream is None and (self.device or self.dtype):
            from alignx.models import pick_device, pick_dtype

            pick_dtype(pick_device(self.device), self.dtype)  # OptionError for a bad --device / --dtype
