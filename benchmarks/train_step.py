"""Prefix-shared DPO against TRL's concatenated forward: seconds per step, loss, and accuracy after training.

Trains the same LoRA DPO run twice in this process, on the same data in the same order with the same seed,
once with prefix sharing (the default) and once with --no-prefix-sharing (TRL's path), times every
optimizer step, and compares the per-step losses. Then scores each adapter with the released protocol
(`alignx eval --reference base` on the demo test split) in a subprocess.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/train_step.py --method ica --steps 40

The first step of each run is left out of the timing (allocator and thread-pool warm-up).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from transformers import TrainerCallback

from alignx.training import TrainConfig
from alignx.training.callbacks import read_log
from alignx.training.trainer import run_training

EVAL_PERSONA = {"ica": "all", "pba": "profile"}


class StepTimer(TrainerCallback):
    """Wall-clock seconds of every optimizer step (gradient accumulation included)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._start = 0.0

    def on_step_begin(self, args, state, control, **kwargs):
        self._start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.seconds.append(time.perf_counter() - self._start)


def train(work: Path, args: argparse.Namespace, prefix_sharing: bool) -> tuple[Path, list[float], list[float]]:
    """Output folder, seconds per step and loss per step of one run."""
    out = work / ("shared" if prefix_sharing else "concatenated")
    config = TrainConfig(output=str(out), method=args.method, data="demo", split="train", model=args.model, lora=True,
                         max_steps=args.steps, save_steps=args.steps, seed=args.seed, overwrite=True,
                         prefix_sharing=prefix_sharing, dtype=args.dtype, progress=not args.quiet)
    timer = StepTimer()
    run_training(config, callbacks=[timer])
    losses = [row["loss"] for row in read_log(out) if row["event"] == "step"]
    return out, timer.seconds, losses


def accuracy(model: Path, method: str) -> tuple[float, list[float]]:
    """Accuracy and 95% CI of `model` against its base on the demo test split (the released protocol)."""
    report = model / "eval-demo-test.json"
    subprocess.run([sys.executable, "-m", "alignx", "eval", "--data", "demo", "--split", "test", "--model", str(model),
                    "--persona", EVAL_PERSONA[method], "--reference", "base", "--no-progress", "--overwrite",
                    "--output", str(report)], check=True, stdout=subprocess.DEVNULL)
    result = json.loads(report.read_text())
    return result["accuracy"], result["ci95"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="ica", choices=sorted(EVAL_PERSONA))
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--model", default="default")
    parser.add_argument("--dtype", default=None, help="fp32 | bf16 (default: alignx train's)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workdir", default="/tmp/alignx-train-step")
    parser.add_argument("--no-eval", action="store_true", help="Time and compare losses only.")
    parser.add_argument("--quiet", action="store_true", help="No progress bars.")
    args = parser.parse_args()
    if args.steps < 2:
        parser.error("--steps must be at least 2 (the first step is not timed)")

    work = Path(args.workdir)
    sides = (("prefix-shared", True), ("TRL concatenated", False))
    runs = {name: train(work, args, sharing) for name, sharing in sides}
    (shared_out, shared_s, shared_loss), (trl_out, trl_s, trl_loss) = runs.values()
    for name, (_, seconds, _) in runs.items():
        timed = seconds[1:]
        print(f"{name:>17}: {statistics.mean(timed):.2f} s/step mean, {statistics.median(timed):.2f} median "
              f"over steps 2-{len(seconds)}")
    ratio = statistics.mean(trl_s[1:]) / statistics.mean(shared_s[1:])
    print(f"speed-up (mean s/step, TRL / shared): {ratio:.2f}x (bar 1.6x)")
    delta = max(abs(a - b) for a, b in zip(shared_loss, trl_loss, strict=True))
    print(f"max |delta loss| over {len(trl_loss)} steps: {delta:.2e} (last loss {shared_loss[-1]:.4f} shared, "
          f"{trl_loss[-1]:.4f} TRL)")
    if not args.no_eval:
        for name, out in (("prefix-shared", shared_out), ("TRL concatenated", trl_out)):
            acc, ci = accuracy(out, args.method)
            print(f"{name:>17}: accuracy after {args.steps} steps {acc:.3f} ({ci[0]:.2f}-{ci[1]:.2f}), "
                  f"demo test, --persona {EVAL_PERSONA[args.method]} --reference base")


if __name__ == "__main__":
    main()
