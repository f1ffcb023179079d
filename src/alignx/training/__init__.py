"""AlignXpert training: the seeded training view (`data`), its config (`config`), the TRL/PEFT
wiring (`trainer`) and the torchrun launcher (`launch`). `alignx train` is `alignx.train.train`.

Importing this package stays light; torch, transformers and TRL load when `train` runs.
"""

from __future__ import annotations

from typing import Any

from alignx.training.config import Method, TrainConfig
from alignx.training.data import build_dataset, training_messages, training_view, view_rng

__all__ = ["Method", "TrainConfig", "build_dataset", "train", "training_messages", "training_view", "view_rng"]


def train(config: TrainConfig, **kwargs: Any):
    """Train in this process (see `alignx.training.trainer.train`); returns a TrainResult."""
    from alignx.training.trainer import train as run

    return run(config, **kwargs)
