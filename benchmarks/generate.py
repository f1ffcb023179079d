"""Batched local generation (`alignx.generation.local`) against a one-prompt-at-a-time `model.generate` loop.

Both run as whole processes (model load included) on the same prompts (the first N posts of DATA, read
through the persona's evaluation prompt), greedy, with the same max new tokens; the script checks the
texts are identical and prints tokens/s of both and the ratio. Usage:

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/generate.py [--model default] [--n 24] [--max-new-tokens 64]
        [--persona all|none|...] [--batch-size 8]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time


def requests(args) -> list:
    from alignx import registry
    from alignx.personas import persona_view
    from alignx.prompts import persona_messages

    records = registry.load(args.data, args.split, args.n)
    return [persona_messages(r.prompt, persona_view(r, args.persona)) for r in records]


def worker(args) -> dict:
    """One whole run in this process: load, render, generate; texts and generated tokens. The loop is the same
    generator with batches of one: one prompt per `model.generate` call."""
    from alignx import models
    from alignx.generation.base import Settings
    from alignx.generation.local import LocalGenerator
    from alignx.prompts import render

    loaded = models.load(args.model, dtype="fp32")
    chats = requests(args)
    settings = Settings(max_new_tokens=args.max_new_tokens)  # greedy
    batch_size = args.batch_size if args.mode == "batched" else 1
    generator = LocalGenerator(loaded, name=args.model, batch_size=batch_size, progress=False)
    results = dict(generator.generate(chats, settings))
    ordered = [results[i] for i in range(len(chats))]
    prompt_tokens = sum(len(loaded.tokenizer(render(loaded.tokenizer, c), add_special_tokens=False)["input_ids"])
                        for c in chats)
    return {"texts": [g.text for g in ordered], "tokens": sum(g.tokens for g in ordered),
            "prompt_tokens": prompt_tokens}


def run(mode: str, argv: list[str]) -> tuple[dict, float]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--worker", mode, *argv], capture_output=True, text=True,
                         env=os.environ)
    seconds = time.perf_counter() - start
    if out.returncode:
        sys.exit(f"{mode} run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1]), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--data", default="demo")
    parser.add_argument("--split", default="test")
    parser.add_argument("--persona", default="all")
    parser.add_argument("--n", type=int, default=24)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--worker", choices=("batched", "loop"), dest="mode")
    args = parser.parse_args()
    if args.mode:
        print(json.dumps(worker(args)))
        return
    argv = sys.argv[1:]
    loop, loop_s = run("loop", argv)
    batched, batched_s = run("batched", argv)
    same = sum(a == b for a, b in zip(loop["texts"], batched["texts"], strict=True))
    print(f"{args.n} prompts of {args.data}/{args.split} (persona {args.persona}, {loop['prompt_tokens']} prompt "
          f"tokens), greedy, max {args.max_new_tokens} new tokens, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    print(f"identical texts: {same}/{args.n}")
    for name, result, seconds in (("loop", loop, loop_s), (f"batched (batch {args.batch_size})", batched, batched_s)):
        print(f"{name:>22}: {result['tokens']} tokens in {seconds:.1f} s (whole process) = "
              f"{result['tokens'] / seconds:.1f} tokens/s")
    print(f"ratio batched/loop: {(batched['tokens'] / batched_s) / (loop['tokens'] / loop_s):.2f}x")
    for i, (a, b) in enumerate(zip(loop["texts"], batched["texts"], strict=True)):
        if a != b:
            print(f"  differs at prompt {i}:\n    loop:    {a[:120]!r}\n    batched: {b[:120]!r}")


if __name__ == "__main__":
    main()
