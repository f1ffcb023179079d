"""AlignXpert training: the seeded training view (`data`), its config (`config`), the TRL/PEFT wiring
(`trainer.run_training`), the torchrun launcher (`launch`) and the `alignx train` command (`command`).

Importing this package stays light; torch, transformers and TRL load when a run starts.
"""

from __future__ import annotations

from alignx.training.config import Method, TrainConfig
from alignx.training.data import build_dataset, training_messages, training_view, view_rng

__all__ = ["Method", "TrainConfig", "build_dataset", "training_messages", "training_view", "view_rng"]
