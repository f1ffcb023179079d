"""Load bar of `alignx serve`: concurrent feedback storage, latency under load, chat time-to-first-token.

Starts `alignx serve` in a subprocess on 127.0.0.1 (a temp SQLite file, or --db URL), has CLIENTS
clients each fire POSTS feedback posts at once at one user while readers poll GET profile, checks
that exactly CLIENTS*POSTS events are stored with no duplicates, restarts the server on the same
database and checks again, then measures streamed chat time-to-first-token with the embedded model.

    python benchmarks/serve_load.py                      # SQLite file in a temp dir
    python benchmarks/serve_load.py --db postgresql+psycopg://postgres@127.0.0.1:5432/alignx_load

With --replicas N [N ...] it measures replicas on PostgreSQL instead (--db, or a private cluster it starts from the
Debian server binaries, as the tests do): for each N, N `alignx serve --no-chat` processes on one fresh database and
a burst of WRITES feedback posts spread over them (writes/s, p50 / p99), all in one run; then the kill test
(tests/replicas.py: two replicas, one SIGKILLed mid-burst, a local annotator) and its counts.

    python benchmarks/serve_load.py --replicas 1 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the replica harness the tests use
from replicas import ONE_THREAD, Replica, burst, kill_drill, new_user  # noqa: E402

READERS = 4
MAX_READS = 5_000  # bound on the readers' loop


def server(db: str, admin: str, log: Path, *, chat: bool, threads: int | None = None) -> Replica:
    """`alignx serve` in a subprocess, ready; stopped with SIGTERM (graceful)."""
    options = ["--max-tokens", "32"] if chat else ["--no-chat"]
    if threads:
        options += ["--threads", str(threads)]
    return Replica(db, admin, log, *options)


def direction(c: int, i: int) -> list[float]:
    d = [0.5] * 90
    d[16] = 1.0 if (c + i) % 2 else 0.0
    d[(c * POSTS_DEFAULT + i) % 40] = 1.0
    return d


POSTS_DEFAULT = 25


async def storm(base: str, user_id: str, key: str, clients: int, posts: int) -> tuple[list[int], list, list]:
    """(event ids, POST feedback latencies, GET profile latencies measured during the storm)."""
    headers = {"Authorization": f"Bearer {key}"}
    post_lat: list[float] = []
    get_lat: list[float] = []
    done = asyncio.Event()

    async def client(c: int) -> list[int]:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120,
                                     limits=httpx.Limits(max_connections=posts)) as http:
            async def post(i: int) -> int:
                body = {"prompt": f"client {c} post {i}", "chosen": "short answer", "rejected": "long answer",
                        "direction": direction(c, i)}
                t = time.perf_counter()
                r = await http.post(f"/v1/users/{user_id}/feedback", json=body)
                post_lat.append(time.perf_counter() - t)
                if r.status_code != 201:
                    raise RuntimeError(f"POST feedback answered {r.status_code}: {r.text}")
                return r.json()["event"]["id"]

            return await asyncio.gather(*(post(i) for i in range(posts)))

    async def reader() -> None:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as http:
            for _ in range(MAX_READS):
                if done.is_set():
                    return
                t = time.perf_counter()
                r = await http.get(f"/v1/users/{user_id}/profile")
                get_lat.append(time.perf_counter() - t)
                r.raise_for_status()

    readers = [asyncio.create_task(reader()) for _ in range(READERS)]
    try:
        ids = await asyncio.gather(*(client(c) for c in range(clients)))
    finally:
        done.set()
        await asyncio.gather(*readers)
    return [i for group in ids for i in group], post_lat, get_lat


def quiet(base: str, admin: str, events: int) -> tuple[list[float], list[float]]:
    """Latencies with no concurrency, on a separate user holding as many events as the storm leaves."""
    user = httpx.post(f"{base}/v1/users", json={"name": "quiet"}, headers={"Authorization": f"Bearer {admin}"}).json()
    post_lat, get_lat = [], []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {user['api_key']}"}, timeout=60) as http:
        for i in range(events):
            body = {"prompt": f"quiet {i}", "chosen": "a", "rejected": "b", "direction": direction(0, i)}
            t = time.perf_counter()
            http.post(f"/v1/users/{user['user_id']}/feedback", json=body).raise_for_status()
            post_lat.append(time.perf_counter() - t)
        for _ in range(50):
            t = time.perf_counter()
            http.get(f"/v1/users/{user['user_id']}/profile").raise_for_status()
            get_lat.append(time.perf_counter() - t)
    return post_lat, get_lat


def stored(base: str, user_id: str, admin: str) -> tuple[list[int], list[str]]:
    ids, prompts, after = [], [], 0
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin}"}, timeout=60) as http:
        for _ in range(10_000):  # bounded paging
            page = http.get(f"/v1/users/{user_id}/events", params={"after": after, "limit": 1000,
                                                                 "kind": "feedback"}).json()
            ids += [e["id"] for e in page["events"]]
            prompts += [e["prompt"] for e in page["events"]]
            after = page["next_after"]
            if after is None:
                break
    return ids, prompts


def check(base: str, user_id: str, admin: str, expected: list[str], when: str) -> int:
    ids, prompts = stored(base, user_id, admin)
    count = httpx.get(f"{base}/v1/users/{user_id}/profile", headers={"Authorization": f"Bearer {admin}"},
                      timeout=60).json()["feedback_count"]
    ok = count == len(expected) and len(ids) == len(set(ids)) and sorted(prompts) == expected
    print(f"{when}: {count} feedback events stored, {len(set(ids))} distinct ids, "
          f"{len(prompts) - len(set(prompts))} duplicated, {len(set(expected) - set(prompts))} lost -> "
          f"{'OK' if ok else 'FAIL'}")
    if not ok:
        raise SystemExit(f"{when}: expected exactly {len(expected)} distinct events")
    return count


def ms(values: list[float], q: float) -> str:
    return f"{np.percentile(np.asarray(values) * 1000, q):7.1f} ms"


def chat_ttft(db: str, admin: str, runs: int, log: Path, threads: int | None) -> None:
    chat = server(db, admin, log, chat=True, threads=threads)
    try:
        print(f"chat server with the embedded model ready in {chat.startup_s:.1f} s")
        user = httpx.post(f"{chat.base}/v1/users", json={"name": "chat"},
                          headers={"Authorization": f"Bearer {admin}"}).json()
        headers = {"Authorization": f"Bearer {user['api_key']}"}
        for i in range(3):
            httpx.post(f"{chat.base}/v1/users/{user['user_id']}/feedback", headers=headers, json={
                "prompt": f"Question {i} about planning a trip?", "chosen": "Book early, pack light.",
                "rejected": "There are many considerations to weigh.", "direction": direction(1, i)})
        ttft, total, tokens = [], [], []
        body = {"model": "default", "stream": True, "max_tokens": 16,
                "messages": [{"role": "user", "content": "How should I spend a free evening?"}]}
        with httpx.Client(base_url=chat.base, headers=headers, timeout=300) as http:
            for _ in range(runs):
                start, first, pieces = time.perf_counter(), None, 0
                with http.stream("POST", "/v1/chat/completions", json=body) as r:
                    for line in r.iter_lines():
                        if not line.startswith("data: ") or line == "data: [DONE]":
                            continue
                        if json.loads(line[6:])["choices"][0]["delta"].get("content"):
                            first = first or time.perf_counter()
                            pieces += 1
                ttft.append(first - start)
                total.append(time.perf_counter() - start)
                tokens.append(pieces)
        print(f"chat (ICA prompt, embedded SmolLM2-135M, {threads or 'all'} torch threads, streamed, {runs} runs): "
              "time to first token "
              f"p50 {ms(ttft, 50)}, first request {ttft[0] * 1000:.1f} ms; full answer of ~{int(np.median(tokens))} "
              f"chunks p50 {ms(total, 50)}")
    finally:
        chat.stop()


def replicas(args, tmp: Path) -> None:
    """Writes/s and latency for each replica count on PostgreSQL, then the kill test's counts."""
    from contextlib import ExitStack

    from conftest import make_tiny_model, postgres_cluster, train_tiny_inferencer

    admin, log = secrets.token_urlsafe(24), tmp / "replicas.log"
    with ExitStack() as stack:
        if args.db:
            if not args.db.startswith("postgresql"):
                raise SystemExit("--replicas needs a PostgreSQL --db (SQLite serves one process)")
            databases = iter(lambda: args.db, None)  # the same database, a new user each run
        else:
            cluster = stack.enter_context(postgres_cluster())
            databases = iter(cluster.new_database, None)
        print(f"PostgreSQL; {args.writes} feedback posts per run, {args.concurrency} at a time, spread round-robin; "
              f"server log {log}")
        for n in args.replicas:
            db = next(databases)
            servers = [Replica(db, admin, log, "--no-chat", env=ONE_THREAD) for _ in range(n)]
            try:
                user, key = new_user(servers[0].base, admin, f"load-{n}")
                burst(servers, user, key, 50, concurrency=args.concurrency)  # warm every pool and code path
                result = burst(servers, user, key, args.writes, concurrency=args.concurrency)
            finally:
                for replica in servers:
                    replica.stop()
            lost = args.writes - len(result.acknowledged)
            print(f"{n} replica{'s' if n > 1 else ''}: {args.writes / result.seconds:6.0f} writes/s  "
                  f"p50 {ms(result.latencies, 50)}  p99 {ms(result.latencies, 99)}  ({lost} unanswered)")
        if args.kill_writes:
            inferencer = train_tiny_inferencer(make_tiny_model(Path(tempfile.mkdtemp(dir=tmp))),
                                               Path(tempfile.mkdtemp(dir=tmp)))
            counts = kill_drill(next(databases), admin, log, writes=args.kill_writes,
                                options=("--annotator", f"local:{inferencer}", "--claim-seconds", "2"))
            print("kill test (2 replicas, local annotator, writes without a direction):")
            for line in counts.lines():
                print(f"  {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="SQLAlchemy URL (default: a SQLite file in a temp dir)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--posts", type=int, default=POSTS_DEFAULT, help="concurrent posts per client")
    parser.add_argument("--chat-runs", type=int, default=5, help="streamed chats for time-to-first-token (0: skip)")
    parser.add_argument("--threads", type=int, nargs="+", default=[0],
                        help="torch threads of the chat server; several values compare them (0: every core)")
    parser.add_argument("--replicas", type=int, nargs="+",
                        help="measure these replica counts on PostgreSQL instead, then the kill test")
    parser.add_argument("--writes", type=int, default=400, help="--replicas: posts per run")
    parser.add_argument("--concurrency", type=int, default=16, help="--replicas: posts in flight")
    parser.add_argument("--kill-writes", type=int, default=240, help="--replicas: posts of the kill test (0: skip)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="alignx-serve-load-"))
    if args.replicas:
        replicas(args, tmp)
        return
    db = args.db or f"sqlite:///{tmp / 'memory.db'}"
    admin = secrets.token_urlsafe(24)
    log = tmp / "server.log"
    print(f"database {db.split('@')[-1]}; server log {log}")
    expected = sorted(f"client {c} post {i}" for c in range(args.clients) for i in range(args.posts))

    memory = server(db, admin, log, chat=False)
    try:
        quiet_post, quiet_get = quiet(memory.base, admin, args.posts * args.clients)
        print(f"baseline, one request at a time:  POST feedback p50 {ms(quiet_post, 50)}  GET profile p50 "
              f"{ms(quiet_get, 50)} (profile over {args.posts * args.clients} events)")
        user = httpx.post(f"{memory.base}/v1/users", json={"name": "load"},
                          headers={"Authorization": f"Bearer {admin}"}).json()
        start = time.perf_counter()
        ids, post_lat, get_lat = asyncio.run(storm(memory.base, user["user_id"], user["api_key"],
                                                   args.clients, args.posts))
        wall = time.perf_counter() - start
        print(f"{args.clients} clients x {args.posts} concurrent feedback posts: {len(ids)} answered 201 in "
              f"{wall:.2f} s ({len(ids) / wall:.0f} posts/s)")
        check(memory.base, user["user_id"], admin, expected, "after the storm")
        print(f"POST feedback latency under load: p50 {ms(post_lat, 50)}  p99 {ms(post_lat, 99)}  (n={len(post_lat)})")
        print(f"GET profile latency under load:   p50 {ms(get_lat, 50)}  p99 {ms(get_lat, 99)}  (n={len(get_lat)}, "
              f"{READERS} readers, profile over up to {len(ids)} events)")
    finally:
        memory.stop()

    memory = server(db, admin, log, chat=False)
    try:
        check(memory.base, user["user_id"], admin, expected, "after a server restart on the same database")
    finally:
        memory.stop()

    if args.chat_runs:
        for threads in args.threads:
            chat_ttft(db, admin, args.chat_runs, log, threads or None)


if __name__ == "__main__":
    main()
