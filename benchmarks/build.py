"""Throughput of `alignx build`: events/s and peak resident memory on a generated log (default 1M events over
50k users, tools/generate_events.py), the build run as a subprocess (`python -m alignx build`) into a new
folder, `--repeat` times on the same log (each run's time and output checksum, and the median). Usage:

    .venv/bin/python benchmarks/build.py [--events 1000000] [--users 50000] [--input jsonl|parquet|csv]
        [--format jsonl|parquet] [--keep DIR] [--repeat 3]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import resource
import shutil
import statistics
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
    parser.add_argument("--repeat", type=int, default=3, help="builds of the same log; the median is reported")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
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
        runs = [build(events, output, args.format) for _ in range(args.repeat)]
        for i, (seconds, digest, _) in enumerate(runs, 1):
            print(f"build {i}: {seconds:.2f} s = {args.events / seconds:,.0f} events/s, output sha256 {digest[:16]}")
        if len({digest for _, digest, _ in runs}) > 1:
            sys.exit("the builds of the same log differ")
        seconds = statistics.median(s for s, _, _ in runs)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20  # KiB on Linux -> GiB
        stats = json.loads((output / "stats.json").read_text())
        size = sum(p.stat().st_size for p in output.iterdir()) / 2**20
        print(runs[-1][2])
        print(json.dumps({"events": args.events, "users": args.users, "input": args.input, "format": args.format,
                          "records": stats["records"]["total"], "builds": args.repeat,
                          "median_seconds": round(seconds, 2), "events_per_s": round(args.events / seconds),
                          "peak_rss_gib": round(peak, 2), "output_mib": round(size), "cpus": os.cpu_count()},
                         indent=2))


def build(events: Path, output: Path, fmt: str) -> tuple[float, str, str]:
    """One `alignx build` of `events` into a new `output`, as a user runs it (their environment, so Arrow's
    reader and sort use every core): seconds, the sha256 of its split files, its stderr. Nothing is waiting to be
    written when the clock starts (os.sync), so a build is not timed against the writeback of the log or of the
    build before it."""
    shutil.rmtree(output, ignore_errors=True)
    os.sync()
    command = [sys.executable, "-m", "alignx", "build", "--events", str(events), "--output", str(output),
               "--format", fmt, "--no-progress"]
    start = time.perf_counter()
    proc = subprocess.run(command, env=dict(os.environ, PYTHONPATH=str(ROOT / "src")), capture_output=True,
                          text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"build failed ({proc.returncode}):\n{proc.stderr}")
    digest = hashlib.sha256()  # of the records (stats.json names the log's temporary path)
    for path in sorted(p for p in output.iterdir() if p.name != "stats.json"):
        with path.open("rb") as f:
            while chunk := f.read(1 << 24):
                digest.update(chunk)
    return seconds, digest.hexdigest(), proc.stderr.strip()

if __name__ == "__main__":
    main()
