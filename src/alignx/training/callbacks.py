"""Trainer callbacks: a progress bar with step, loss, reward margin and accuracy, and the JSONL log.

Both run on the world's main process only. The log is appended as training goes (so a crash keeps
what was logged) and trimmed back to the checkpoint's step on `--resume`, so rows never repeat.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from alignx.atomic import atomic_write
from alignx.progress import ProgressBar

LOG_FILE = "train_log.jsonl"
# TRL's metric names -> the short names on the bar and in the log.
SHORT_NAMES = {"loss": "loss", "rewards/margins": "margin", "rewards/accuracies": "accuracy",
               "learning_rate": "lr", "mean_token_accuracy": "token_accuracy"}


def short_row(logs: dict[str, Any]) -> dict[str, Any]:
    return {SHORT_NAMES.get(k, k): v for k, v in logs.items()}


class StepProgress(TrainerCallback):
    """The progress bar (alignx.progress) over optimizer steps, its note the latest loss / margin / accuracy."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.bar: ProgressBar | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self.bar = ProgressBar("training", state.max_steps, completed=state.global_step,
                                   enabled=self.enabled).start()

    def on_step_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.advance(state.global_step - self.bar.completed)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.bar is None or not logs or "loss" not in logs:
            return
        row = short_row(logs)
        self.bar.note("  ".join(f"{k} {row[k]:.3f}" for k in ("loss", "margin", "accuracy")
                                if isinstance(row.get(k), int | float)))

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


class JsonlLog(TrainerCallback):
    """One JSON object per log event in `folder/train_log.jsonl`: a start row with the world size the
    trainer reports, then step, loss, margin, accuracy, lr, ... and a final summary row."""

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / LOG_FILE

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        self.trim(state.global_step)
        self._append({"event": "start", "step": state.global_step, "world_size": args.world_size,
                      "max_steps": state.max_steps, "time": time.time()})

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            event = "end" if "train_runtime" in logs else "step"
            self._append({"event": event, "step": state.global_step, "epoch": state.epoch, **short_row(logs)})

    def trim(self, step: int) -> None:
        """Drop rows past `step` (a resumed run logs them again), atomically."""
        if not self.path.is_file():
            return
        rows = read_log(self.path.parent)
        with atomic_write(self.path) as tmp:
            Path(tmp).write_text("".join(json.dumps(r) + "\n" for r in rows if r.get("step", 0) <= step
                                         and not (r.get("event") == "end")))

    def _append(self, row: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")


def read_log(folder: str | Path) -> list[dict[str, Any]]:
    path = Path(folder) / LOG_FILE
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []
