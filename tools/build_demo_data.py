"""Build the demo AlignX-format dataset shipped in src/alignx/data/demo/ (train.jsonl, test.jsonl).

A seeded generator assembles records from the hand-written texts in tools/demo_data/pools.json, so reruns
give byte-identical files; every test post appears twice, once for a user on each pole (persona contrast).
Run from the repository root with alignx installed:  .venv/bin/python tools/build_demo_data.py
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from alignx.atomic import atomic_write
from alignx.space import N_DIMENSIONS

ROOT = Path(__file__).resolve().parent.parent
POOLS_PATH = ROOT / "tools" / "demo_data" / "pools.json"
DEMO_DIR = ROOT / "src" / "alignx" / "data" / "demo"
SEED = 20250917
N_PAIR = 4  # Pair-wise Comparative Feedback items per record
N_UGC = 4  # User-Generated Content items per record
USERS_PER_POLE = 6  # per dimension: 6 users prefer the positive pole, 6 the negative pole


def load_pools(path: Path = POOLS_PATH) -> list[dict]:
    """The per-dimension text pools, in dimension order."""
    with path.open(encoding="utf-8") as f:
        return sorted(json.load(f)["dimensions"], key=lambda pool: pool["dimension"])


def direction(dim: int, pole: int) -> list[float]:
    """Neutral values with the user's pole (1 positive, 0 negative) at `dim`.

    All floats (1.0 / 0.0 / 0.5) so Arrow-based readers infer one list<double> column type."""
    values = [0.5] * N_DIMENSIONS
    values[dim] = float(pole)
    return values


def pick(item: dict, pole: int) -> tuple[str, str]:
    """(text for the user's pole, text for the opposite pole) of a pool item."""
    return (item["positive"], item["negative"]) if pole == 1 else (item["negative"], item["positive"])


def user_record(dim: int, pole: int, main: dict, pairs: list[dict], comments: list[dict], demo: str) -> dict:
    """One AlignX record: the user's choice on `main` and a history of choices and comments on the same pole."""
    chosen, rejected = pick(main, pole)
    return {
        "prompt": main["post"],
        "chosen": chosen,
        "rejected": rejected,
        "Preference Direction": direction(dim, pole),
        "Demographic Information": demo,
        "User-Generated Content": [
            {"prompt": item["post"], "comment": pick(item, pole)[0], "Preference Direction": direction(dim, pole)}
            for item in comments
        ],
        "Pair-wise Comparative Feedback": [
            {
                "prompt": item["post"],
                "chosen": pick(item, pole)[0],
                "rejected": pick(item, pole)[1],
                "Preference Direction": direction(dim, pole),
            }
            for item in pairs
        ],
    }


def build(pools: list[dict], seed: int = SEED) -> tuple[list[dict], list[dict]]:
    """Assemble the train and test records; the same pools and seed always give the same records."""
    rng = random.Random(seed)
    train: list[dict] = []
    test: list[dict] = []
    first_test_users: dict[int, list[tuple[int, int]]] = {}  # dimension -> (main post index, pole) per user
    for k, pool in enumerate(pools):
        dim, posts, ugc = pool["dimension"], pool["posts"], pool["ugc"]
        order = list(range(len(posts)))
        rng.shuffle(order)
        mains = order[: 2 * USERS_PER_POLE]  # one distinct main post per user
        # Users 0..5 prefer the positive pole, 6..11 the negative pole. Three go to test, alternating which
        # pole gets two of them so train stays balanced over the eight dimensions (contrast_users adds the
        # rest of the test split).
        poles = [1] * USERS_PER_POLE + [0] * USERS_PER_POLE
        test_users = {0, 1, USERS_PER_POLE} if k % 2 == 0 else {0, USERS_PER_POLE, USERS_PER_POLE + 1}
        test_mains = {mains[u] for u in test_users}
        first_test_users[dim] = [(mains[u], poles[u]) for u in sorted(test_users)]
        demos = {1: list(pool["demo"]["positive"]), 0: list(pool["demo"]["negative"])}
        rng.shuffle(demos[1])
        rng.shuffle(demos[0])
        for u, pole in enumerate(poles):
            main, in_test = mains[u], u in test_users
            # Train histories never show a test post, so no test prompt leaks into training.
            candidates = [i for i in range(len(posts)) if i != main and (in_test or i not in test_mains)]
            pairs = [posts[i] for i in rng.sample(candidates, N_PAIR)]
            comments = [ugc[i] for i in rng.sample(range(len(ugc)), N_UGC)]
            record = user_record(dim, pole, posts[main], pairs, comments, demos[pole][u % USERS_PER_POLE])
            (test if in_test else train).append(record)
    rng.shuffle(train)
    # The persona-contrast users come from their own stream, so train stays as it was measured.
    contrast_rng = random.Random(seed + 1)
    for pool in pools:
        test += contrast_users(pool, first_test_users[pool["dimension"]], contrast_rng)
    contrast_rng.shuffle(test)
    return train, test


def contrast_users(pool: dict, existing: list[tuple[int, int]], rng: random.Random) -> list[dict]:
    """Test users that pair every test post with both poles, besides the `existing` (post index, pole) users.

    Test posts are the existing users' main posts and the dimension's test_posts; each new user's
    description comes from test_demo, so no test user reads like a train user."""
    dim, ugc = pool["dimension"], pool["ugc"]
    posts = pool["posts"] + pool["test_posts"]
    test_mains = [main for main, _ in existing] + list(range(len(pool["posts"]), len(posts)))
    demos = {1: list(pool["test_demo"]["positive"]), 0: list(pool["test_demo"]["negative"])}
    rng.shuffle(demos[1])
    rng.shuffle(demos[0])
    records = []
    for main in test_mains:
        for pole in (1, 0):
            if (main, pole) in existing:
                continue
            pairs = [posts[i] for i in rng.sample([i for i in range(len(posts)) if i != main], N_PAIR)]
            comments = [ugc[i] for i in rng.sample(range(len(ugc)), N_UGC)]
            records.append(user_record(dim, pole, posts[main], pairs, comments, demos[pole].pop()))
    return records


def write_jsonl(path: Path, records: list[dict]) -> None:
    """One compact JSON object per line, written atomically."""
    with atomic_write(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=DEMO_DIR, help="folder for train.jsonl and test.jsonl")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the record generator")
    args = parser.parse_args(argv)
    train, test = build(load_pools(), args.seed)
    write_jsonl(args.out_dir / "train.jsonl", train)
    write_jsonl(args.out_dir / "test.jsonl", test)
    print(f"wrote {len(train)} train and {len(test)} test records to {args.out_dir}")


if __name__ == "__main__":
    main()
