"""Shared test helpers: small valid records and directions, the serve tests' HTTP helpers, a uvicorn server
on loopback and a private PostgreSQL cluster (started only by the tests that ask for it); the `slow` marker's
rules (a test that uses a slow fixture is slow; a test not marked slow may not load the embedded model)."""

import glob
import json
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

N = 90

# ---------------------------------------------------------------- the slow marker

# A test that uses one of these fixtures (directly or through another fixture) is marked slow: they load or train
# a model, or start a server, a database or a browser. Module fixtures of these names do the same in every test
# module that defines one (keep it so: the names below mean the same thing wherever they appear).
SLOW_FIXTURES = frozenset({
    "tiny_model", "tiny_inferencer", "humour_inferencer",  # conftest: a tiny Llama, inferencers trained from it
    "embedded", "evaluator", "adapter_dir",  # the embedded model (or the tiny one) loaded, an adapter on it
    "server", "upstream",  # a fake OpenAI-compatible server on 127.0.0.1
    "postgres", "browser",  # a private PostgreSQL cluster; headless Chromium
})


@pytest.hookimpl(tryfirst=True)  # before `-m` selects on the markers
def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _embedded_model_only_when_slow(request, monkeypatch):
    """A test not marked slow fails if anything asks for the embedded model (converting or loading it takes
    seconds to minutes): mark the test slow, or give it a fake."""
    if request.node.get_closest_marker("slow") is not None:
        yield
        return
    import alignx.models

    asked = []

    def refuse(*args, **kwargs):
        asked.append(True)
        pytest.fail("this test asks for the embedded model but is not marked slow (pytest.mark.slow)",
                    pytrace=False)

    for module in (alignx.models, request.module):
        for name in ("embedded_model_dir", "embedded_gguf"):
            if getattr(module, name, None) is not None:
                monkeypatch.setattr(module, name, refuse)
    yield
    call = getattr(request.node, "_alignx_call_report", None)
    if asked and not (call is not None and call.failed):  # swallowed on the way (a worker thread, a broad except)
        pytest.fail("this test asked for the embedded model but is not marked slow (pytest.mark.slow)", pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep the call phase's report on the item, for the fixture above to read at teardown."""
    outcome = yield
    if call.when == "call":
        item._alignx_call_report = outcome.get_result()


def make_direction(**poles: float) -> list[float]:
    """90 neutral values with the given poles, e.g. make_direction(d16=1.0)."""
    d = [0.5] * N
    for key, value in poles.items():
        d[int(key.lstrip("d"))] = value
    return d


def make_record(i: int = 0, *, pole: float = 1.0) -> dict:
    """A small valid AlignX record (all persona parts present)."""
    d = make_direction(d16=pole)
    return {
        "prompt": f"Post number {i}: how should I plan a weekend trip?",
        "chosen": "Pick one city, book early, pack light.",
        "rejected": "There are many considerations to weigh carefully before planning any kind of trip at all.",
        "Preference Direction": d,
        "Demographic Information": "A busy nurse in her thirties who likes short answers.",
        "User-Generated Content": [
            {"prompt": "Best way to learn Spanish?", "comment": "Daily flashcards. Done.", "Preference Direction": d},
            {"prompt": "Is coffee bad for you?", "comment": "In moderation, no.", "Preference Direction": d},
        ],
        "Pair-wise Comparative Feedback": [
            {"prompt": "How to fix a flat tire?", "chosen": "Patch kit, five minutes.",
             "rejected": "First, let us consider the history of tires...", "Preference Direction": d},
        ],
    }


@pytest.fixture
def write_jsonl(tmp_path):
    def write(rows, name="data.jsonl"):
        path = tmp_path / name
        path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
        return path

    return write


# ---------------------------------------------------------------- the service

ADMIN = "test-admin-token"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def new_user(client, name: str) -> tuple[str, dict[str, str]]:
    """Create a user with the admin token; (user id, the user's auth headers)."""
    response = client.post("/v1/users", json={"name": name}, headers=auth(ADMIN))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["api_key"].startswith("axk-")
    return body["user_id"], auth(body["api_key"])


@pytest.fixture
def make_client(tmp_path):
    """make(chat_model=None, annotate_with=None, **ServeConfig overrides): an in-process TestClient (started: its
    lifespan has run) on a SQLite memory in the test's temp dir, the same file for every client of the test."""
    from fastapi.testclient import TestClient

    from alignx.serve import ServeConfig, create_app

    clients = []

    def make(chat_model=None, annotate_with=None, **overrides):
        # The persona prompt unless a test asks for steering (the default for the untrained model) or best-of.
        config = ServeConfig(db=f"sqlite:///{tmp_path / 'memory.db'}", admin_token=ADMIN, **{"steer": 0.0, **overrides})
        client = TestClient(create_app(config, chat=chat_model, annotator=annotate_with))
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)  # a client a test closed already closes again harmlessly


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


def make_tiny_model(folder: Path) -> Path:
    """Save a 2-layer, hidden-32 Llama with the embedded model's tokenizer (and so its chat template) in `folder`."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from alignx.models import embedded_model_dir

    tokenizer = AutoTokenizer.from_pretrained(embedded_model_dir())
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def train_tiny_inferencer(model: Path, folder: Path) -> Path:
    """A local inferencer trained briefly from `model` in `folder`/inferencer (what it answers is not the point)."""
    from alignx.annotate.learn import InferencerTrainConfig, run_inferencer_training

    data = folder / "data.jsonl"
    data.write_text("".join(json.dumps(make_record(i, pole=float(i % 2))) + "\n" for i in range(4)))
    output = folder / "inferencer"
    run_inferencer_training(InferencerTrainConfig(data=str(data), output=str(output), model=str(model),
                                                  epochs=1, eval_fraction=0.0, progress=False))
    return output


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """One private PostgreSQL cluster for the session; each test takes a fresh database (`new_database`)."""
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def db_url(request, tmp_path) -> str:
    """A fresh, empty memory database URL: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'memory.db'}"
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A 2-layer, hidden-32 Llama with the embedded model's tokenizer (and so its chat template)."""
    return make_tiny_model(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_inferencer(tiny_model, tmp_path_factory) -> Path:
    """A local inferencer folder trained briefly from the tiny model (what it answers is not the point)."""
    return train_tiny_inferencer(tiny_model, tmp_path_factory.mktemp("inferencer-data"))


FUNNY = ["haha that is hilarious", "lol what a joke", "so funny, I laughed", "haha, brilliant gag", "a joke a day"]
FORMAL = ["Kind regards, formally.", "I remain, sincerely, yours.", "Respectfully submitted.", "With due respect.",
          "Yours faithfully."]


def humour_records(n_per_pole: int = 8) -> list[dict]:
    """Users whose one comment is a joke (dimension 73 positive) or formal (negative); nothing else is labelled."""
    rows = []
    for pole, texts in ((1.0, FUNNY), (0.0, FORMAL)):
        for i in range(n_per_pole):
            rows.append({"prompt": f"Post {i}", "chosen": "Yes.", "rejected": "No.",
                         "User-Generated Content": [{"prompt": f"Tell us about day {i}.",
                                                     "comment": texts[i % len(texts)] + f" (day {i})",
                                                     "Preference Direction": make_direction(d73=pole)}]})
    return rows


@pytest.fixture(scope="session")
def humour_inferencer(tiny_model, tmp_path_factory) -> Path:
    """An inferencer trained from the tiny model to tell jokes (73 positive) from formal comments (73 negative),
    with 30% of the comments held out (metrics.json)."""
    from alignx.annotate.learn import InferencerTrainConfig, run_inferencer_training

    folder = tmp_path_factory.mktemp("humour")
    data = folder / "humour.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in humour_records()))
    output = folder / "inferencer"
    run_inferencer_training(InferencerTrainConfig(
        data=str(data), output=str(output), model=str(tiny_model), epochs=40, learning_rate=3e-3,
        train_layers=None, eval_fraction=0.3, seed=1, progress=False))
    return output
