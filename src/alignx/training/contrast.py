"""Contrast batches: a training order that puts opposite choices on the same post into one optimizer step.

Why: when user A prefers x over y on a post and user B prefers y over x, the part of the DPO gradient
that ignores the persona ("x is better on this post") points opposite ways for the two examples. In one
step they cancel and what is left is the part that reads the persona; in separate steps the model first
learns one answer and then unlearns it. The examples are paired, the pairs shuffled, and the order is
laid out so that a pair never straddles two optimizer steps while an unpaired example can fill the gap.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Sequence


def contrast_key(post: str, chosen: str, rejected: str) -> tuple[str, bool]:
    """(what the example is about, which way it chooses): two examples contrast when their keys are
    equal and their sides differ. Hashes, so the order of millions of examples fits in memory."""
    first, second = sorted((chosen, rejected))
    digest = hashlib.blake2b("\x1f".join((post, first, second)).encode(), digest_size=8).hexdigest()
    return digest, chosen == first


def contrast_order(keys: Sequence[str], sides: Sequence[bool], *, global_batch: int, seed: int) -> list[int]:
    """A permutation of range(len(keys)): contrasting examples as adjacent pairs, each pair inside one
    run of `global_batch` examples (one optimizer step); seeded, so a resumed run gets the same order."""
    rng = random.Random(f"alignx-contrast:{seed}")
    by_key: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for i, (key, side) in enumerate(zip(keys, sides, strict=True)):
        by_key[key][side].append(i)
    pairs: list[list[int]] = []
    singles: list[list[int]] = []
    for one_way, other_way in by_key.values():
        rng.shuffle(one_way)
        rng.shuffle(other_way)
        n = min(len(one_way), len(other_way))
        pairs.extend([a, b] for a, b in zip(one_way[:n], other_way[:n], strict=True))
        singles.extend([i] for i in one_way[n:] + other_way[n:])
    rng.shuffle(pairs)
    # Lay out the steps: each holds a share of the pairs, spread evenly, at most half its slots; when too
    # few unpaired examples are left to fill odd slots, the surplus pairs are split into singles.
    n = 2 * len(pairs) + len(singles)
    sizes = [min(global_batch, n - start) for start in range(0, n, global_batch)]
    room = sum(size // 2 for size in sizes)
    while len(pairs) > room:
        singles.extend([i] for i in pairs.pop())
    rng.shuffle(singles)
    n_pairs, seen, order = len(pairs), 0, []
    for size in sizes:
        # Pairs in this step: the growth of floor(room seen * n_pairs / room), never above size // 2.
        step_pairs = ((seen + size // 2) * n_pairs // room - seen * n_pairs // room) if room else 0
        seen += size // 2
        units = [pairs.pop() for _ in range(step_pairs)] + [singles.pop() for _ in range(size - 2 * step_pairs)]
        rng.shuffle(units)
        order.extend(i for unit in units for i in unit)
    return order
