"""alignx.training.contrast: opposite choices on one post are paired inside one optimizer step."""

from __future__ import annotations

import random
from collections import Counter

from alignx.training.contrast import contrast_key, contrast_order


def test_key_matches_the_same_pair_either_way_round():
    key, side = contrast_key("post", "short", "long")
    assert contrast_key("post", "long", "short") == (key, not side)
    assert contrast_key("other post", "short", "long")[0] != key
    assert contrast_key("post", "short", "longer")[0] != key


def examples(seed: int, n: int) -> tuple[list[str], list[bool]]:
    rng = random.Random(seed)
    keys = [f"k{rng.randrange(n // 3)}" for _ in range(n)]
    sides = [rng.random() < 0.5 for _ in range(n)]
    return keys, sides


def test_order_pairs_every_contrast_inside_one_step():
    keys, sides = examples(0, 301)
    for batch in (2, 3, 8):
        order = contrast_order(keys, sides, global_batch=batch, seed=1)
        assert sorted(order) == list(range(301))
        # As many pairs as the data allows: per key, the smaller side.
        per_key = Counter((k, s) for k, s in zip(keys, sides, strict=True))
        possible = sum(min(per_key[k, True], per_key[k, False]) for k in set(keys))
        steps = [order[i:i + batch] for i in range(0, len(order), batch)]
        paired = 0
        for step in steps:
            counts = Counter((keys[i], sides[i]) for i in step)
            paired += sum(min(counts[k, True], counts[k, False]) for k in {keys[i] for i in step})
        assert paired == possible  # no pair was split across two steps
    assert sorted(contrast_order(keys, sides, global_batch=1, seed=1)) == list(range(301))


def test_order_is_seeded_and_shuffled():
    keys, sides = examples(1, 200)
    first = contrast_order(keys, sides, global_batch=8, seed=3)
    assert first == contrast_order(keys, sides, global_batch=8, seed=3)
    assert first != contrast_order(keys, sides, global_batch=8, seed=4)
    assert first != sorted(first)
