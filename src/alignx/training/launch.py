"""`--num-processes N`: run the same training as N data-parallel processes under torchrun.

torchrun (torch.distributed.run) really starts N workers (gloo on CPU, NCCL on GPUs); on this kind
of machine `accelerate launch --cpu --num_processes N` ran one. Each worker is
`python -m alignx.training.launch CONFIG.json`, the config the parent validated.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from alignx.errors import UserError
from alignx.training.config import TrainConfig

# Set by torchrun / accelerate launch in every worker: we are inside a launched world, do not relaunch.
LAUNCHED_ENV = ("LOCAL_RANK", "WORLD_SIZE")


ACCELERATE_CONFIGS = ("single_gpu", "multi_gpu", "deepspeed_zero3")


def accelerate_config(name: str) -> Path:
    """The shipped accelerate config file `name` (single_gpu, multi_gpu, deepspeed_zero3)."""
    from importlib import resources

    key = name.removesuffix(".yaml").replace("-", "_")
    if key not in ACCELERATE_CONFIGS:
        raise ValueError(f"unknown accelerate config {name!r}; choose one of {', '.join(ACCELERATE_CONFIGS)}")
    return Path(str(resources.files("alignx").joinpath("configs", "accelerate", f"{key}.yaml")))


def in_launched_world() -> bool:
    return any(name in os.environ for name in LAUNCHED_ENV)


def worker_env(num_processes: int) -> dict[str, str]:
    env = dict(os.environ)
    if "OMP_NUM_THREADS" not in env and hasattr(os, "sched_getaffinity"):
        # Split the cores instead of torchrun's default of 1 thread per worker.
        env["OMP_NUM_THREADS"] = str(max(1, len(os.sched_getaffinity(0)) // num_processes))
    return env


def launch(config: TrainConfig) -> int:
    """Run `config` as config.num_processes torchrun workers on this machine; their exit status."""
    fd, name = tempfile.mkstemp(prefix="alignx-train-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(config.to_dict(), f)
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   f"--nproc_per_node={config.num_processes}", "-m", "alignx.training.launch", name]
        return subprocess.call(command, env=worker_env(config.num_processes))
    finally:
        Path(name).unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    """Worker entry: train from a config file; a `UserError` is one line and exit 2, as in the CLI, and
    any other exception a bug that keeps its traceback."""
    from alignx.training.trainer import run_training

    args = sys.argv[1:] if argv is None else argv
    config = TrainConfig.from_dict(json.loads(Path(args[0]).read_text()))
    try:
        result = run_training(config)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", "0")) == 0:
        print(result.summary())  # the result, on stdout as in one process
    return 0


if __name__ == "__main__":
    sys.exit(main())
