"""Data-parallel scoring: which process this is, its shard of a list, and gathering the shards back.

Under `torchrun` or `accelerate launch` every process runs the same command; a scorer forms the batches
a one-process run would, each process computes every N-th of them (`shard`), and `gather` puts every
process's answers back in the original order on all of them (gloo on CPU, NCCL on GPUs). Only the main
process writes files. Outside a launcher the world is one process and nothing here touches
torch.distributed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_main() -> bool:
    """True in the process that writes reports and prints tables (rank 0, or the only process)."""
    return rank() == 0


def launcher_note() -> str | None:
    """What to tell a user whose launcher started one process: `accelerate launch --num_processes N` on a
    machine without GPUs picks its one-process launcher (it marks the process with ACCELERATE_USE_CPU)."""
    if world_size() == 1 and "ACCELERATE_USE_CPU" in os.environ:
        return ("accelerate launched 1 process; on a machine without GPUs add --multi_gpu (accelerate launch "
                "--multi_gpu --num_processes N) or use torchrun --nproc_per_node N for N processes")
    return None


def shard(items: Sequence[T]) -> list[T]:
    """This process's share of `items`: every world_size-th item from position rank."""
    return list(items[rank()::world_size()])


def gather(shard_values: list[Any], total: int) -> list[Any]:
    """The values of every process's `shard` of a `total`-long list, back in the list's order (on every
    process). In a one-process world it returns `shard_values` unchanged."""
    size = world_size()
    if size == 1:
        return shard_values
    import torch.distributed as dist

    ensure_process_group()
    parts: list[list[Any] | None] = [None] * size
    dist.all_gather_object(parts, shard_values)
    merged: list[Any] = [None] * total
    for part_rank, part in enumerate(parts):
        merged[part_rank::size] = part
    return merged


def ensure_process_group() -> None:
    """Join the launcher's process group once (NCCL when this process has a GPU, else gloo)."""
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        if torch.cuda.is_available():  # NCCL gathers objects through the current device
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
