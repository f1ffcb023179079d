"""Throughput of `alignx build`: events/s and peak resident memory on a generated log (default 1M events over
50k users, tools/generate_events.py), the build run as a subprocess (`python -m alignx build`). Usage:

    .venv/bin/python benchmarks/build.py [--events 1000000] [--users 50000] [--input jsonl|parquet|csv]
        [--format jsonl|parquet] [--keep DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def generator():
    spec = importlib.util.spec_from_file_location("generate_events", ROOT / "tools" / "generate_events.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--input", default="jsonl", choices=("jsonl", "parquet", "csv"))
    parser.add_argument("--format", default="jsonl", choices=("jsonl", "parquet"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", help="build into this folder (kept) instead of a temporary one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="alignx-build-bench-") as tmp:
        events = Path(tmp) / f"events.{args.input}"
        start = time.perf_counter()
        gen = generator()
        columns, _ = gen.generate(args.events, args.users, seed=args.seed)
        gen.write_events(columns, events)
        del columns
        print(f"generated {args.events:,} events of {args.users:,} users in {time.perf_counter() - start:.1f} s "
              f"({events.stat().st_size / 2**20:,.0f} MiB {args.input})", flush=True)
        output = Path(args.keep) if args.keep else Path(tmp) / "dataset"
        command = [sys.executable, "-m", "alignx", "build", "--events", str(events), "--output", str(output),
                   "--format", args.format, "--no-progress", "--overwrite"]
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
        start = time.perf_counter()
        proc = subprocess.run(command, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            sys.exit(f"build failed ({proc.returncode}):\n{proc.stderr}")
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20  # KiB on Linux -> GiB
        stats = json.loads((output / "stats.json").read_text())
        size = sum(p.stat().st_size for p in output.iterdir()) / 2**20
        print(proc.stderr.strip())
        print(json.dumps({"events": args.events, "users": args.users, "input": args.input, "format": args.format,
                          "records": stats["records"]["total"], "seconds": round(seconds, 2),
                          "events_per_s": round(args.events / seconds), "peak_rss_gib": round(peak, 2),
                          "output_mib": round(size), "cpus": os.cpu_count()}, indent=2))


if __name__ == "__main__":
    main()
