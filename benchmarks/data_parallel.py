"""`alignx eval` as one process and as N data-parallel processes (accelerate launch): same report?

Runs the real CLI twice in subprocesses on the same data and settings, then prints both wall times,
both accuracies and the largest absolute difference between any example's log-probabilities (the bar:
equal accuracy, every log-prob within 1e-4). On a machine without GPUs the N processes are gloo
processes (`accelerate launch --multi_gpu`); each gets cores / N threads, the one process all of them.

    .venv/bin/python benchmarks/data_parallel.py --persona pair --workdir /tmp/alignx-dp
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(command: list[str], threads: int) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - start, done.stdout


def largest_logp_difference(a: dict, b: dict) -> float:
    worst = 0.0
    for x, y in zip(a["examples"], b["examples"], strict=True):
        if (x["chosen"], x["rejected"]) != (y["chosen"], y["rejected"]):
            raise SystemExit(f"example {x['index']} differs between the reports: not the same records")
        for s, t in zip(x["terms"], y["terms"], strict=True):
            worst = max(worst, abs(s["chosen_logp"] - t["chosen_logp"]), abs(s["rejected_logp"] - t["rejected_logp"]))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="demo")
    parser.add_argument("--split", default="test")
    parser.add_argument("--model", default="default")
    parser.add_argument("--persona", default="pair")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--dtype", default="fp32")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/alignx-data-parallel"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    cores = os.cpu_count() or 1

    def eval_args(output: Path) -> list[str]:
        extra = ["--limit", str(args.limit)] if args.limit else []
        return ["-m", "alignx", "eval", "--data", args.data, "--split", args.split, "--model", args.model,
                "--persona", args.persona, "--dtype", args.dtype, "--no-progress", "--output", str(output),
                "--overwrite", *extra]  # a rerun measures again instead of finding its reports done

    one, many = args.workdir / "one.json", args.workdir / f"{args.processes}.json"
    seconds_one, _ = timed([sys.executable, *eval_args(one)], cores)
    launcher = [str(Path(sys.executable).with_name("accelerate")), "launch", "--multi_gpu", "--num_processes",
                str(args.processes), "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                "--main_process_port", str(free_port())]
    seconds_many, log = timed([*launcher, *eval_args(many)], max(1, cores // args.processes))
    a, b = json.loads(one.read_text()), json.loads(many.read_text())
    said = next((line for line in log.splitlines() if line.startswith("data parallel:")), "(no data-parallel line)")
    print(f"1 process:  accuracy {a['accuracy']:.4f}  n {a['n']}  {seconds_one:6.1f} s wall")
    print(f"{b['timing']['processes']} processes: accuracy {b['accuracy']:.4f}  n {b['n']}  {seconds_many:6.1f} s wall"
          f"  ({said})")
    print(f"largest |log-prob difference| over every example and term: {largest_logp_difference(a, b):.2e}")
    print(f"same accuracy: {a['accuracy'] == b['accuracy']}; same verdicts: "
          f"{[e['correct'] for e in a['examples']] == [e['correct'] for e in b['examples']]}")


if __name__ == "__main__":
    main()
