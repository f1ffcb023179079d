"""Throughput of the local inferencer (items/s, achieved GFLOP/s against this machine's dense matmul rate,
measured in the same run) and of `annotate` answering from the cache (items/s).

The items are the distinct items of DATA (every direction removed); choices are read both ways when the
inferencer was trained on mirrored pairs, and those second readings count as compute. Usage:

    .venv/bin/python benchmarks/annotate.py --inferencer DIR [--data demo] [--split test] [--dtype fp32|bf16]
"""

from __future__ import annotations

import argparse
import tempfile
import time


def matmul_gflops(dtype, n: int = 2048, seconds: float = 3.0) -> float:
    """Dense n x n matmul rate of this process (same threads and dtype as the inferencer)."""
    import torch

    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    torch.mm(a, b)
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.mm(a, b)
        runs += 1
    return 2 * n**3 * runs / (time.perf_counter() - start) / 1e9


def forward_flops(model, token_counts: list[int]) -> float:
    """2 x (weights touched per token) x tokens, plus attention's two T x T products per layer. The embedding
    table is a lookup, not a matmul, and the head reads one position per item."""
    config = model.config
    embedding = model.get_input_embeddings().weight.numel()
    head = model.score.weight.numel()
    per_token = 2 * (sum(p.numel() for p in model.parameters()) - embedding - head)
    attention = sum(4 * config.num_hidden_layers * config.hidden_size * t * t for t in token_counts)
    return per_token * sum(token_counts) + attention + 2 * head * len(token_counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inferencer", required=True, help="an inferencer folder (alignx annotate train)")
    parser.add_argument("--data", default="demo")
    parser.add_argument("--split", default="test")
    parser.add_argument("--dtype", default=None, help="fp32 | bf16 (default fp32)")
    args = parser.parse_args()

    import torch

    from alignx import registry
    from alignx.annotate.base import item_key, record_items, with_directions
    from alignx.annotate.fill import fill_directions
    from alignx.annotate.local import LocalInferencer, item_text, swap
    from alignx.answer_cache import AnswerCache
    from alignx.records import Choice

    records = registry.load(args.data, args.split)
    stripped = [with_directions(r, [None] * len(record_items(r))) for r in records]
    items = list({item_key(i): i for r in stripped for i, _ in record_items(r)}.values())
    inferencer = LocalInferencer.load(args.inferencer, device="cpu", dtype=args.dtype)
    dtype = next(inferencer.model.parameters()).dtype
    texts = [item_text(i) for i in items]
    if inferencer.reads_both_ways:
        texts += [item_text(swap(i)) for i in items if isinstance(i, Choice)]
    tokens = [len(inferencer.tokenizer(t, truncation=True, max_length=inferencer.max_length)["input_ids"])
              for t in texts]
    peak = matmul_gflops(dtype)

    with tempfile.TemporaryDirectory() as folder, AnswerCache(f"{folder}/cache.sqlite") as cache:
        start = time.perf_counter()
        _, summary = fill_directions(stripped, inferencer, cache, progress=False)
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        _, cached = fill_directions(stripped, inferencer, cache, progress=False)
        cache_seconds = time.perf_counter() - start
    assert summary.annotated == len(items) and cached.from_cache == len(items)
    achieved = forward_flops(inferencer.model, tokens) / summary.seconds / 1e9
    print(f"{args.data}/{args.split}: {len(items)} distinct items ({len(texts)} readings, {sum(tokens):,} tokens), "
          f"{torch.get_num_threads()} threads, {str(dtype).removeprefix('torch.')}")
    print(f"local inferencer: {len(items) / summary.seconds:.1f} items/s ({seconds:.1f} s with the cache writes); "
          f"{achieved:.1f} GFLOP/s = {achieved / peak:.0%} of the dense matmul rate ({peak:.1f} GFLOP/s)")
    print(f"annotate from the cache: {summary.items / cache_seconds:,.0f} item occurrences/s "
          f"({len(items) / cache_seconds:,.0f} distinct items/s; {cache_seconds * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
