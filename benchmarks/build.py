"""Throughput of `alignx build`: events/s and peak resident memory on a generated log (default 1M events over
50k users, tools/generate_events.py), the build run as a subprocess (`python -m alignx build`) once per
`--workers` value in one run, with a checksum of each output. Usage:

    .venv/bin/python benchmarks/build.py [--events 1000000] [--users 50000] [--input jsonl|parquet|csv]
        [--format jsonl|parquet] [--workers 1,2] [--keep DIR]

Peak memory is the largest sum of resident memory over the build and its worker processes, sampled every
50 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

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
    parser.add_argument("--workers", default="1,2", help="comma-separated --workers values, each built in turn")
    parser.add_argument("--keep", help="build into this folder (kept: dataset-N per --workers value)")
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
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
        sums = {}
        for workers in [int(w) for w in args.workers.split(",")]:
            output = Path(args.keep or tmp) / f"dataset-{workers}"
            command = [sys.executable, "-m", "alignx", "build", "--events", str(events), "--output", str(output),
                       "--format", args.format, "--no-progress", "--overwrite", "--workers", str(workers)]
            seconds, peak, stderr = timed(command, env)
            stats = json.loads((output / "stats.json").read_text())
            size = sum(p.stat().st_size for p in output.iterdir()) / 2**20
            sums[workers] = checksum(output)
            print(stderr.strip())
            print(json.dumps({"workers": workers, "events": args.events, "users": args.users, "input": args.input,
                              "format": args.format, "records": stats["records"]["total"],
                              "seconds": round(seconds, 2), "events_per_s": round(args.events / seconds),
                              "peak_rss_gib": round(peak / 2**30, 2), "output_mib": round(size),
                              "sha256": sums[workers][:16], "cpus": os.cpu_count()}, indent=2), flush=True)
        print(f"output identical for workers {args.workers}: {'yes' if len(set(sums.values())) == 1 else 'NO'}")


def timed(command: list[str], env: dict) -> tuple[float, int, str]:
    """Seconds, peak summed RSS (bytes) of the process tree, and stderr of `command`."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err, text=True)
        root, peak = psutil.Process(proc.pid), 0
        while proc.poll() is None:
            try:
                tree = [root, *root.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree))
            except psutil.Error:  # a worker ended between the listing and the reading
                pass
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        err.seek(0)
        stderr = err.read()
    if proc.returncode != 0:
        sys.exit(f"build failed ({proc.returncode}):\n{stderr}")
    return seconds, peak, stderr


def checksum(folder: Path) -> str:
    """sha256 over the dataset files and stats.json, in name order."""
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


if __name__ == "__main__":
    main()
