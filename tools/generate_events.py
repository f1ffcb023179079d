"""A seeded event log with known ground truth, for `alignx build` tests and benchmarks.

Each user has a hidden pole (0 or 1) on a few of the 90 dimensions; every comment and pair event of the user
carries a direction that is neutral except on some of those dimensions, where it takes the user's pole (a share
of events, --no-direction-rate, carry none). Users get events at random (some get too few for --min-items),
posts come from a shared pool (so a user meets the same post twice), a share of the events are exact duplicates,
and the rows are shuffled like a real log. Usage:

    python tools/generate_events.py OUT.jsonl|OUT.parquet|OUT.csv [--events 1000000] [--users 50000] [--seed 0]
        [--posts N] [--truth truth.json]

`--truth` writes {user_id: {dimension: pole}}.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

N_DIMENSIONS = 90
KINDS = np.array(["comment", "pair", "demographic"])
KIND_SHARES = (0.40, 0.55, 0.05)
_TOKENS = np.frombuffer(b"0.0,0.5,1.0,", dtype=np.uint8).reshape(3, 4)


def generate(n_events: int, n_users: int, *, seed: int = 0, posts: int | None = None, poles_per_user: int = 3,
             duplicate_rate: float = 0.01, no_direction_rate: float = 0.1) -> tuple[dict, dict]:
    """(columns as numpy / lists, truth {user_id: {dim: pole}}) of `n_events` events (duplicates included)."""
    rng = np.random.default_rng(seed)
    posts = posts or max(50, n_events // 20)
    width = len(str(n_users - 1))
    user_names = np.array([f"u{u:0{width}d}" for u in range(n_users)])
    dims = np.stack([rng.choice(N_DIMENSIONS, poles_per_user, replace=False) for _ in range(n_users)])
    poles = rng.integers(0, 2, size=(n_users, poles_per_user))
    base = n_events - int(n_events * duplicate_rate)
    user = rng.integers(0, n_users, size=base)
    kind = rng.choice(3, size=base, p=KIND_SHARES)
    post = rng.integers(0, posts, size=base)
    # directions as codes 0/1/2 (0, 0.5, 1): neutral, then the user's pole on a random non-empty subset of its dims
    codes = np.ones((base, N_DIMENSIONS), dtype=np.uint8)
    shown = rng.random((base, poles_per_user)) < 0.6
    shown[np.arange(base), rng.integers(0, poles_per_user, size=base)] = True
    rows = np.repeat(np.arange(base), poles_per_user).reshape(base, poles_per_user)
    codes[rows[shown], dims[user][shown]] = (poles[user][shown] * 2).astype(np.uint8)
    has_direction = (kind != 2) & (rng.random(base) >= no_direction_rate)
    # exact duplicates, then a shuffle
    copies = rng.integers(0, base, size=n_events - base)
    order = rng.permutation(np.concatenate([np.arange(base), copies]))
    timestamps = 1_700_000_000 + np.arange(base)
    columns = {"user": user[order], "kind": kind[order], "post": post[order], "codes": codes[order],
               "has_direction": has_direction[order], "timestamp": timestamps[order], "event": order,
               "user_names": user_names}
    truth = {str(user_names[u]): {int(d): int(p) for d, p in zip(dims[u], poles[u], strict=True)}
             for u in range(n_users)}
    return columns, truth


def _texts(c: dict) -> dict[str, list[str | None]]:
    kind, post, event, user = c["kind"], c["post"], c["event"], c["user"]
    n = len(kind)
    posts = [f"Post {p}: what would you do here?" for p in post.tolist()]
    out: dict[str, list[str | None]] = {name: [None] * n for name in ("post", "comment", "chosen", "rejected",
                                                                      "text")}
    for i, (k, e, u) in enumerate(zip(kind.tolist(), event.tolist(), user.tolist(), strict=True)):
        if k == 0:
            out["post"][i] = posts[i]
            out["comment"][i] = f"My take on it (event {e})."
        elif k == 1:
            out["post"][i] = posts[i]
            out["chosen"][i] = f"The answer I liked (event {e})."
            out["rejected"][i] = f"The answer I did not like (event {e})."
        else:
            out["text"][i] = f"User {u}: a person with hidden preferences, described (event {e})."
    return out


def _direction_text(codes: np.ndarray) -> list[str]:
    chars = np.empty((len(codes), N_DIMENSIONS * 4 + 1), dtype=np.uint8)
    chars[:, 0] = ord("[")
    chars[:, 1:] = _TOKENS[codes].reshape(len(codes), -1)
    chars[:, -1] = ord("]")
    text, width = chars.tobytes().decode("ascii"), chars.shape[1]
    return [text[j * width:(j + 1) * width] for j in range(len(codes))]


def write_events(columns: dict, path: str | Path, *, chunk: int = 100_000) -> None:
    """Write the events as JSONL, Parquet or CSV (by suffix), a chunk at a time."""
    import pyarrow as pa

    path = Path(path)
    suffix = path.suffix.lower()
    n = len(columns["kind"])
    writer = None
    with open(path, "w", encoding="utf-8") if suffix == ".jsonl" else _null() as f:
        for lo in range(0, n, chunk):
            part = {k: (v[lo:lo + chunk] if k != "user_names" else v) for k, v in columns.items()}
            texts = _texts(part)
            users = part["user_names"][part["user"]].tolist()
            kinds = KINDS[part["kind"]].tolist()
            dirs = _direction_text(part["codes"])
            has = part["has_direction"].tolist()
            stamps = part["timestamp"].tolist()
            if suffix == ".jsonl":
                enc = json.encoder.encode_basestring
                lines = []
                for i in range(len(kinds)):
                    fields = [f'"user_id":"{users[i]}"', f'"kind":"{kinds[i]}"']
                    fields += [f'"{name}":{enc(texts[name][i])}' for name in texts if texts[name][i] is not None]
                    if has[i]:
                        fields.append(f'"direction":{dirs[i]}')
                    fields.append(f'"timestamp":{stamps[i]}')
                    lines.append("{" + ",".join(fields) + "}\n")
                f.writelines(lines)
                continue
            table = pa.table({"user_id": users, "kind": kinds, **texts,
                              "direction": [json.loads(d) if h else None for d, h in zip(dirs, has, strict=True)]
                              if suffix == ".parquet" else [d if h else None for d, h in zip(dirs, has, strict=True)],
                              "timestamp": pa.array(np.asarray(stamps) * 1_000_000, pa.int64()).cast(
                                  pa.timestamp("us", tz="UTC"))})
            if suffix == ".parquet":
                import pyarrow.parquet as pq

                writer = writer or pq.ParquetWriter(path, table.schema)
                writer.write_table(table)
            elif suffix == ".csv":
                import pyarrow.csv as pcsv

                table = table.set_column(table.column_names.index("timestamp"), "timestamp",
                                         pa.array([str(s) for s in stamps]))
                if writer is None:
                    writer = pcsv.CSVWriter(path, table.schema)
                writer.write_table(table)
            else:
                raise SystemExit(f"{path}: write .jsonl, .parquet or .csv")
    if writer is not None:
        writer.close()


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--posts", type=int, default=None, help="size of the shared post pool (default events/20)")
    parser.add_argument("--duplicate-rate", type=float, default=0.01)
    parser.add_argument("--no-direction-rate", type=float, default=0.1)
    parser.add_argument("--truth", help="write {user_id: {dimension: pole}} here")
    args = parser.parse_args()
    columns, truth = generate(args.events, args.users, seed=args.seed, posts=args.posts,
                              duplicate_rate=args.duplicate_rate, no_direction_rate=args.no_direction_rate)
    write_events(columns, args.output)
    if args.truth:
        Path(args.truth).write_text(json.dumps(truth) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
