"""Build the style persona-contrast development set (style-tune.jsonl, style-holdout.jsonl) from pools.json.

Each post of each axis yields two users, one per pole, who chose their pole's response; their
histories come from the same split only. Seeded, so a rerun writes byte-identical files.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from alignx.atomic import atomic_write
from alignx.space import N_DIMENSIONS, dimension

HERE = Path(__file__).resolve().parent
SEED = 20250611
# Split by post: a post's index within its axis decides its file, so no main post is in both.
SPLITS = {"style-tune": range(0, 16), "style-holdout": range(16, 24)}
N_POSTS, N_UGC_POOL, N_DEMO = 24, 8, 6  # per axis; N_DEMO per pole
N_HISTORY = 4  # UGC items, and PAIR items, per user
POLES = {"positive": 1.0, "negative": 0.0}  # pole -> value at the axis's dimension
OTHER = {"positive": "negative", "negative": "positive"}


def check_pools(pools: dict) -> None:
    """Raise ValueError naming the axis and the field when the pools do not have the expected shape."""
    for axis in pools["axes"]:
        name, index = axis["name"], axis["dimension"]
        dim = dimension(index)
        if [dim.positive, dim.negative] != [axis["labels"]["positive"], axis["labels"]["negative"]]:
            raise ValueError(f"axis {name}: 'labels' do not match dimension {index} ({dim.positive} / {dim.negative})")
        sizes = {"posts": (axis["posts"], N_POSTS), "ugc": (axis["ugc"], N_UGC_POOL)}
        sizes |= {f"demo.{pole}": (axis["demo"][pole], N_DEMO) for pole in POLES}
        for field, (items, want) in sizes.items():
            if len(items) != want:
                raise ValueError(f"axis {name}: '{field}' holds {len(items)} items; it needs exactly {want}")
        for item in axis["posts"] + axis["ugc"]:
            if not all(isinstance(item.get(k), str) and item[k].strip() for k in ("post", *POLES)):
                raise ValueError(f"axis {name}: each post and ugc item needs 'post', 'positive', 'negative': {item}")
        prompts = [item["post"] for item in axis["posts"]]
        if len(set(prompts)) != len(prompts):
            raise ValueError(f"axis {name}: 'posts' repeats a post; each must be unique")


def direction(index: int, value: float) -> list[float]:
    """Neutral (0.5) everywhere except `value` at the axis's dimension."""
    out = [0.5] * N_DIMENSIONS
    out[index] = value
    return out


def user_record(axis: dict, post_index: int, split_posts: range, pole: str, rng: random.Random) -> dict:
    """One user of `pole` on post `post_index`; PAIR history from the split's other posts."""
    vector = direction(axis["dimension"], POLES[pole])
    post = axis["posts"][post_index]
    comments = rng.sample(axis["ugc"], N_HISTORY)
    choices = rng.sample([axis["posts"][i] for i in split_posts if i != post_index], N_HISTORY)
    return {
        "prompt": post["post"],
        "chosen": post[pole],
        "rejected": post[OTHER[pole]],
        "Preference Direction": vector,
        "Demographic Information": rng.choice(axis["demo"][pole]),
        "User-Generated Content": [
            {"prompt": c["post"], "comment": c[pole], "Preference Direction": vector} for c in comments
        ],
        "Pair-wise Comparative Feedback": [
            {"prompt": c["post"], "chosen": c[pole], "rejected": c[OTHER[pole]], "Preference Direction": vector}
            for c in choices
        ],
        "axis": axis["name"],  # extra field (kept by alignx.records) for per-axis breakdowns
    }


def build(pools: dict, seed: int = SEED) -> dict[str, list[dict]]:
    """Records per split file name, interleaved by post then axis then pole.

    Interleaving keeps any even-length prefix (`--limit 2k`) balanced: both users of a post are
    adjacent, and consecutive posts cycle through the axes.
    """
    check_pools(pools)
    out = {}
    for name, posts in SPLITS.items():
        rng = random.Random(f"{seed}/{name}")  # one stream per split: editing one split leaves the other as is
        out[name] = [
            user_record(axis, i, posts, pole, rng) for i in posts for axis in pools["axes"] for pole in POLES
        ]
    return out


def write_jsonl(records: list[dict], path: Path) -> None:
    """Compact JSON lines, written atomically (an interrupted run leaves the old file whole)."""
    with atomic_write(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", type=Path, default=HERE / "pools.json", help="the hand-written text pools")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for style-tune.jsonl and style-holdout.jsonl")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the history and description draws")
    args = parser.parse_args(argv)
    pools = json.loads(args.pools.read_text(encoding="utf-8"))
    for name, records in build(pools, args.seed).items():
        path = args.out / f"{name}.jsonl"
        write_jsonl(records, path)
        print(f"{path}: {len(records)} records")


if __name__ == "__main__":
    main()
