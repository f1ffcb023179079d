"""Kill a training run after a checkpoint, `--resume` it, and compare with an uninterrupted run.

Runs the real CLI three times in subprocesses: an uninterrupted run (A); the same run (B) killed
with SIGKILL as soon as its first checkpoint is complete; then B again with --resume. Prints the
largest absolute difference between A's and B's final adapter weights (the bar: <= 1e-5).

    .venv/bin/python benchmarks/train_resume.py --workdir /tmp/alignx-resume
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

CHECKPOINT_DONE = "trainer_state.json"  # the Trainer writes it last into checkpoint-N


def alignx(*args: str) -> list[str]:
    return [sys.executable, "-m", "alignx", "train", *args]


def run_killed_after_checkpoint(command: list[str], out: Path, step: int, timeout: float) -> float:
    """Start `command`, SIGKILL it once out/checkpoint-`step` is complete; seconds until the kill."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    marker = out / f"checkpoint-{step}" / CHECKPOINT_DONE
    while not marker.is_file():
        if process.poll() is not None:
            raise SystemExit(f"the run ended (exit {process.returncode}) before {marker} appeared")
        if time.perf_counter() - start > timeout:
            process.kill()
            raise SystemExit(f"no {marker} after {timeout:.0f} s")
        time.sleep(0.2)
    os.kill(process.pid, signal.SIGKILL)  # no clean shutdown: as if the machine went away
    process.wait()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="/tmp/alignx-resume")
    parser.add_argument("--model", default="default")
    parser.add_argument("--method", default="pba")
    parser.add_argument("--max-steps", type=int, default=6)
    parser.add_argument("--save-steps", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()

    from safetensors.torch import load_file

    work = Path(args.workdir)
    shutil.rmtree(work, ignore_errors=True)
    common = ["--method", args.method, "--data", "demo", "--split", "train", "--model", args.model, "--lora",
              "--max-steps", str(args.max_steps), "--save-steps", str(args.save_steps), "--seed", "7"]

    t0 = time.perf_counter()
    subprocess.run(alignx(*common, "--output", str(work / "A")), check=True, stderr=subprocess.DEVNULL)
    straight = time.perf_counter() - t0
    killed_at = run_killed_after_checkpoint(alignx(*common, "--output", str(work / "B")), work / "B",
                                            args.save_steps, args.timeout)
    left = sorted(p.name for p in (work / "B").glob("checkpoint-*"))
    t0 = time.perf_counter()
    subprocess.run(alignx(*common, "--resume", "--output", str(work / "B")), check=True, stderr=subprocess.DEVNULL)
    resumed = time.perf_counter() - t0

    a = load_file(work / "A" / "adapter_model.safetensors")
    b = load_file(work / "B" / "adapter_model.safetensors")
    if a.keys() != b.keys():
        raise SystemExit("the two adapters hold different tensors")
    diff = max(float((a[k] - b[k]).abs().max()) for k in a)
    scale = max(float(a[k].abs().max()) for k in a)
    print(f"uninterrupted run: {straight:.1f} s; killed after {killed_at:.1f} s with {', '.join(left)} on disk; "
          f"resume: {resumed:.1f} s")
    print(f"max |A - B| over {len(a)} adapter tensors: {diff:.3e} (largest |weight| {scale:.3e}); "
          f"{'PASS' if diff <= 1e-5 else 'FAIL'} (bar 1e-5)")


if __name__ == "__main__":
    main()
