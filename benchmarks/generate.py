"""Batched local generation (`alignx.generation.local`) against a one-prompt-at-a-time `model.generate` loop.

Both run as whole processes (model load included) on the same prompts (the first N posts of DATA, read
through the persona's evaluation prompt), greedy, with the same max new tokens; the script checks the
texts are identical and prints tokens/s and peak resident memory of both, and the ratio. With `--samples N` it
compares instead N sampled answers per prompt (best-of-N candidates, `alignx generate --samples N`) made in one
pass, where each prompt is prefilled once and its cache expanded over its N rows, against N separate batched
passes over the prompts (sampled, the released settings; texts differ, tokens/s are compared). Usage:

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/generate.py [--model default] [--n 24] [--max-new-tokens 64]
        [--persona all|none|...] [--batch-size 8] [--samples 4]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
    if args.samples > 1:
        settings = Settings(max_new_tokens=args.max_new_tokens, temperature=0.9, top_k=10, top_p=0.95, seed=0)
        generator = LocalGenerator(loaded, name=args.model, batch_size=args.batch_size, progress=False)
        if args.mode == "batched":  # the N samples of a prompt side by side: one prefill each
            repeated = [chat for chat in chats for _ in range(args.samples)]
            ordered = [g for _, g in sorted(generator.generate(repeated, settings))]
        else:  # N separate passes over the prompts
            ordered = [g for s in range(args.samples)
                       for _, g in sorted(generator.generate(chats, settings, ids=[f"{i}:{s}" for i in
                                                                                   range(len(chats))]))]
    else:
        settings = Settings(max_new_tokens=args.max_new_tokens)  # greedy
        batch_size = args.batch_size if args.mode == "batched" else 1
        generator = LocalGenerator(loaded, name=args.model, batch_size=batch_size, progress=False)
        results = dict(generator.generate(chats, settings))
        ordered = [results[i] for i in range(len(chats))]
    prompt_tokens = sum(len(loaded.tokenizer(render(loaded.tokenizer, c), add_special_tokens=False)["input_ids"])
                        for c in chats)
    return {"texts": [g.text for g in ordered], "tokens": sum(g.tokens for g in ordered),
            "prompt_tokens": prompt_tokens, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


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
    parser.add_argument("--samples", type=int, default=1, help="N > 1: one pass of N samples per prompt against "
                                                                "N separate passes")
    parser.add_argument("--worker", choices=("batched", "loop"), dest="mode")
    args = parser.parse_args()
    if args.mode:
        print(json.dumps(worker(args)))
        return
    argv = sys.argv[1:]
    loop, loop_s = run("loop", argv)
    batched, batched_s = run("batched", argv)
    sampled = args.samples > 1
    names = (f"{args.samples} separate passes", f"{args.samples} samples, one prefill") if sampled else (
        "loop", f"batched (batch {args.batch_size})")
    print(f"{args.n} prompts of {args.data}/{args.split} (persona {args.persona}, {loop['prompt_tokens']} prompt "
          f"tokens), {'sampled x' + str(args.samples) if sampled else 'greedy'}, max {args.max_new_tokens} new "
          f"tokens, batch {args.batch_size}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    if not sampled:
        same = sum(a == b for a, b in zip(loop["texts"], batched["texts"], strict=True))
        print(f"identical texts: {same}/{args.n}")
    for name, result, seconds in ((names[0], loop, loop_s), (names[1], batched, batched_s)):
        print(f"{name:>22}: {result['tokens']} tokens in {seconds:.1f} s (whole process) = "
              f"{result['tokens'] / seconds:.1f} tokens/s, peak resident memory {result['peak_mib']:,.0f} MiB")
    ratio = (batched["tokens"] / batched_s) / (loop["tokens"] / loop_s)
    print(f"ratio {names[1]} / {names[0]} (tokens/s): {ratio:.2f}x")
    for i, (a, b) in enumerate(zip(loop["texts"], batched["texts"], strict=True) if not sampled else ()):
        if a != b:
            print(f"  differs at prompt {i}:\n    loop:    {a[:120]!r}\n    batched: {b[:120]!r}")


if __name__ == "__main__":
    main()
