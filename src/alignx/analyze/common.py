"""What the analyses share: loading the records and the model once, a margin and an interval from report
rows, and writing DIR/<name>.json with its DIR/<name>.png beside it (atomically, main process only)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alignx.analyze.config import AnalyzeSettings
from alignx.atomic import atomic_write, write_json
from alignx.errors import OptionError, UserError
from alignx.eval.evaluator import Evaluator
from alignx.eval.settings import BUILTIN_REFERENCES
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
    if not done or not (out / f"{name}.png").exists():
        with atomic_write(out / f"{name}.png") as tmp:
            plot(report, tmp)
    return out / f"{name}.json"
