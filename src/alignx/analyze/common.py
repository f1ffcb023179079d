"""What the analyses share: loading the records and the model once, evaluations saved as they finish (so an
interrupted analysis resumes), a margin from report rows, and writing DIR/<name>.json with its DIR/<name>.png
beside it (atomically, main process only)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from alignx.analyze.config import AnalyzeSettings
from alignx.atomic import atomic_write, write_json
from alignx.errors import OptionError, UserError
from alignx.eval.evaluator import Evaluator
from alignx.eval.settings import BUILTIN_REFERENCES, EvalSettings
from alignx.records import Record


def require_matplotlib() -> None:
    """Fail in one line, before any model loads, when the plots cannot be drawn."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UserError("alignx analyze draws its plots with matplotlib, which is not installed; "
                        "pip install 'alignx[analyze]'") from None


def load_records(settings: AnalyzeSettings) -> list[Record]:
    from alignx import registry

    records = registry.load(settings.data, settings.split, settings.limit)
    if not records:
        raise OptionError(f"{settings.data}: no records to analyse")
    return records


def load_evaluator(settings: AnalyzeSettings) -> Evaluator:
    """The one model load of a run (the reference, when it is another model, loads on first use)."""
    if settings.reference not in BUILTIN_REFERENCES:
        from alignx.hub import ensure_reachable

        ensure_reachable("model", settings.reference)  # before the policy loads, not after
    from alignx.distributed import is_main

    return Evaluator.load(settings.model, batch_size=settings.batch_size, progress=settings.progress and is_main(),
                          dtype=settings.dtype, device=settings.device)


class Checkpoints:
    """An analysis's evaluations, each saved as it finishes under DIR/<name>.parts/ (keyed by a hash of the model,
    the settings, the provenance and the records), so a rerun of an interrupted analysis reads back what it
    scored instead of scoring it again. `clear` drops them once the report is written; --overwrite starts over."""

    def __init__(self, evaluator: Evaluator, settings: AnalyzeSettings, name: str):
        self.evaluator = evaluator
        self.folder = Path(settings.output) / f"{name}.parts"
        self.reused = 0
        if settings.overwrite:
            self.clear()

    def run(self, records: Sequence[Record], settings: EvalSettings, *, source: str,
            provenance: dict[str, Any]) -> list[dict[str, Any]]:
        """The report rows of `evaluator.run(records, settings)`, from its saved part when there is one."""
        from alignx.distributed import is_main

        what = {"model": self.evaluator.policy.name, "settings": dataclasses.asdict(settings),
                "provenance": provenance, "records": [r.to_dict() for r in records]}
        key = hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:24]
        path = self.folder / f"{key}.json"
        if path.is_file():
            self.reused += 1
            return json.loads(path.read_text(encoding="utf-8"))
        rows = self.evaluator.run(records, settings, source=source, provenance=provenance).examples
        if is_main():
            write_json(path, rows)
        return rows

    def clear(self) -> None:
        from alignx.distributed import is_main

        if is_main():
            shutil.rmtree(self.folder, ignore_errors=True)


def margin(example: dict[str, Any]) -> float:
    """m = r(chosen) − r(rejected) of one report row: positive when the reward prefers the user's choice."""
    return example["reward_chosen"] - example["reward_rejected"]


def title(settings: AnalyzeSettings) -> str:
    return f"model {settings.model}, data {settings.data}" + (f":{settings.split}" if settings.split else "")


def write_outputs(report: dict[str, Any], name: str, settings: AnalyzeSettings,
                  plot: Callable[[dict[str, Any], Path], None], *, done: bool = False) -> Path | None:
    """DIR/<name>.json, recording the options it depends on, and DIR/<name>.png, each whole or not at all; only
    the main process writes. `done`: the report is there already; only a missing plot is drawn again."""
    from alignx.distributed import is_main

    if not is_main():
        return None
    out = Path(settings.output)
    if not done:
        write_json(out / f"{name}.json", {**report, "options": settings.options()})
        shutil.rmtree(out / f"{name}.parts", ignore_errors=True)  # the report holds what they saved
    if not done or not (out / f"{name}.png").exists():
        with atomic_write(out / f"{name}.png") as tmp:
            plot(report, tmp)
    return out / f"{name}.json"
