"""Time PrefixSharingScorer against LoopScorer as whole processes on the same model and records.

Each run is its own subprocess (import, model load, scoring, exit), timed from outside; the best of
`--repeats` runs per method is compared. Records: the demo split rendered with the ICA evaluation
prompt (prompts.ica_evaluation_messages) carrying each record's PAIR items. Usage:

    .venv/bin/python benchmarks/scoring.py [--records N] [--split test] [--batch-size 8] [--repeats 2] [--wait 300]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

METHODS = ("loop", "prefix")


def build_requests(tokenizer, split: str, limit: int | None):
    from alignx.eval.scoring import ScoreRequest
    from alignx.personas import persona_view
    from alignx.prompts import ica_evaluation_messages, render
    from alignx.registry import load as load_records

    records = load_records("demo", split)[:limit]
    prompts = [render(tokenizer, ica_evaluation_messages(r.prompt, persona_view(r, "pair"))) for r in records]
    return [ScoreRequest(p, (r.chosen, r.rejected)) for p, r in zip(prompts, records, strict=True)]


def worker(method: str, args: argparse.Namespace, out: str) -> None:
    """One whole scoring process: load, score, write scores and counters to `out`."""
    from alignx.eval.scoring import LoopScorer, PrefixSharingScorer, ScorerConfig, encode_prompt, encode_response
    from alignx.models import load

    loaded = load(args.model)
    requests = build_requests(loaded.tokenizer, args.split, args.records)
    config = ScorerConfig(batch_size=args.batch_size, progress=args.progress)
    scorer = (LoopScorer if method == "loop" else PrefixSharingScorer)(loaded, config)
    scores = scorer.score(requests, description=method)
    # Token counts for the lower bound: the loop runs the prompt once per response; sharing runs it once.
    prompt_tokens = [len(encode_prompt(loaded.tokenizer, r.prompt, config.max_prompt_tokens)) for r in requests]
    response_tokens = [[len(encode_response(loaded.tokenizer, t)) for t in r.responses] for r in requests]
    loop_tokens = sum(p * len(rs) + sum(rs) for p, rs in zip(prompt_tokens, response_tokens, strict=True))
    unique_tokens = sum(p + sum(rs) for p, rs in zip(prompt_tokens, response_tokens, strict=True))
    with open(out, "w") as f:
        json.dump({"scores": scores, "seconds": scorer.seconds, "tokens_processed": scorer.tokens_processed,
                   "padding_tokens": scorer.padding_tokens, "logit_positions": scorer.logit_positions,
                   "flops": scorer.flops, "loop_tokens": loop_tokens, "unique_tokens": unique_tokens,
                   "body_params": scorer.body_params, "head_params": scorer.head_params,
                   "threads": __import__("torch").get_num_threads(), "requests": len(requests)}, f)


def matmul_gflops(n: int = 2048, tries: int = 5) -> float:
    """Best dense fp32 matmul rate of this machine right now, with the thread count the scorers use."""
    import torch

    from alignx.models import use_all_cores

    use_all_cores()
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.matmul(a, b)  # warm-up
    best = float("inf")
    for _ in range(tries):
        start = time.perf_counter()
        torch.matmul(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def busy_cpu_seconds() -> float | None:
    """CPU seconds all processes of this machine have used since boot (Linux /proc/stat), else None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def wait_until_quiet(limit: float, threshold: float = 0.1, window: float = 3.0) -> float:
    """Wait (at most `limit` s) until other processes use < `threshold` of the CPUs; returns their share."""
    deadline = time.monotonic() + limit
    while True:
        before = busy_cpu_seconds()
        time.sleep(window)
        after = busy_cpu_seconds()
        if before is None or after is None:
            return float("nan")
        share = (after - before) / (window * os.cpu_count())
        if share < threshold or time.monotonic() > deadline:
            return share


def run_process(method: str, args: argparse.Namespace) -> tuple[float, dict]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    command = [sys.executable, __file__, "--worker", method, "--out", out, "--model", args.model, "--split", args.split,
               "--batch-size", str(args.batch_size)]
    if args.records is not None:
        command += ["--records", str(args.records)]
    if args.progress:
        command.append("--progress")
    busy, children = busy_cpu_seconds(), resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - start
    with open(out) as f:
        result = json.load(f)
    # How much of the machine other processes took meanwhile: all CPU time used minus our child's.
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    ours = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    result["others_share"] = ((busy_cpu_seconds() - busy - ours) / (wall * os.cpu_count())
                              if busy is not None else float("nan"))
    os.unlink(out)
    return wall, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=None, help="First N records of the split (default: all).")
    parser.add_argument("--split", default="test", help="Demo split: train or test.")
    parser.add_argument("--model", default="default", help="Model spec (default: the embedded SmolLM2-135M).")
    parser.add_argument("--batch-size", type=int, default=8, help="PrefixSharingScorer batch size.")
    parser.add_argument("--repeats", type=int, default=2, help="Whole-process runs per method; the best counts.")
    parser.add_argument("--progress", action="store_true", help="Show the scorers' progress bars.")
    parser.add_argument("--wait", type=float, default=300.0,
                        help="Before each run, wait up to this many seconds for other processes to leave the CPUs.")
    parser.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args, args.out)

    print(f"load before: {os.getloadavg()[0]:.2f} (1-min average) on {os.cpu_count()} CPUs", flush=True)
    wait_until_quiet(args.wait)
    peak = matmul_gflops()
    walls: dict[str, list[float]] = {m: [] for m in METHODS}
    results: dict[str, dict] = {}
    for repeat in range(args.repeats):
        for method in METHODS if repeat % 2 == 0 else METHODS[::-1]:  # alternate to spread load drift
            idle_share = wait_until_quiet(args.wait)
            wall, result = run_process(method, args)
            walls[method].append(wall)
            if method not in results or result["seconds"] < results[method]["seconds"]:
                results[method] = result
            print(f"  {method:6s} run {repeat + 1}: {wall:6.1f} s whole process, {result['seconds']:6.1f} s scoring; "
                  f"other processes used {idle_share:.0%} of the CPUs before, {result['others_share']:.0%} during",
                  flush=True)
    peak = max(peak, matmul_gflops())  # measured before and after, the better one counts
    loop, prefix = results["loop"], results["prefix"]
    delta = max(abs(a - b) for ra, rb in zip(loop["scores"], prefix["scores"], strict=True)
                for a, b in zip(ra, rb, strict=True))
    best = {m: min(w) for m, w in walls.items()}
    bound = prefix["loop_tokens"] / prefix["unique_tokens"]
    print(f"records: {prefix['requests']} (demo {args.split}, ICA evaluation prompt with PAIR items), "
          f"{prefix['requests'] * 2} responses, torch threads: {prefix['threads']}")
    print(f"loop   (one forward per prompt+response): {best['loop']:7.1f} s whole process "
          f"({loop['seconds']:.1f} s scoring, {loop['tokens_processed']:,} tokens)")
    print(f"prefix (shared prompt KV cache, batch {args.batch_size}): {best['prefix']:7.1f} s whole process "
          f"({prefix['seconds']:.1f} s scoring, {prefix['tokens_processed']:,} tokens "
          f"incl. {prefix['padding_tokens']:,} padding)")
    print(f"speed-up: {best['loop'] / best['prefix']:.2f}x whole process, "
          f"{loop['seconds'] / prefix['seconds']:.2f}x scoring only")
    print(f"unique-token lower bound (loop tokens / unique tokens): {bound:.2f}x; "
          f"matmul FLOP ratio (sharing + LM head only where needed): {loop['flops'] / prefix['flops']:.2f}x")
    print(f"largest |delta log-prob|: {delta:.2e} nats")
    for name, r in (("prefix", prefix), ("loop", loop)):
        naive = 2 * (r["body_params"] + r["head_params"]) * r["tokens_processed"] / r["seconds"] / 1e9
        print(f"{name} achieved: {r['flops'] / r['seconds'] / 1e9:6.1f} GFLOP/s of matmul work done "
              f"(2 x params x tokens: {naive:.1f} GFLOP/s)")
    print(f"dense fp32 matmul 2048x2048 on this machine: {peak:.1f} GFLOP/s (best of 5, before and after)")
    print(f"load after: {os.getloadavg()[0]:.2f} (1-min average)")


if __name__ == "__main__":
    main()
