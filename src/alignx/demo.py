"""The main job (`alignx demo`, `make demo`): the embedded model on the demo test split, the universal
baseline and, for each persona type, what reading the persona does for an untrained model."""

from __future__ import annotations

from pathlib import Path

from alignx.evaluate import EvalResult, EvalSettings, Evaluator

DEMO_DATA, DEMO_SPLIT = "demo", "test"


def demo_rows() -> list[EvalSettings]:
    """The table's rows: the universal baseline (no persona, no reference: log π(chosen) > log π(rejected)),
    then persona lift (dpo against the same model without the persona) for each persona type."""
    rows = [EvalSettings(persona="none", reference="raw")]
    rows += [EvalSettings(persona=p, reference="none") for p in ("ugc", "pair", "demo", "profile", "all")]
    return rows


def run_demo(*, limit: int | None = None, output: str | Path | None = None, progress: bool = True,
             evaluator: Evaluator | None = None) -> list[EvalResult]:
    """Every row of `demo_rows` on the demo test split, one model load; with `output`, one JSON report per row."""
    from alignx import registry
    from alignx.reporting import write_report

    records = registry.load(DEMO_DATA, DEMO_SPLIT, limit)
    evaluator = evaluator or Evaluator.load("default", progress=progress)
    provenance = {"data": DEMO_DATA, "split": DEMO_SPLIT, "limit": limit}
    results = []
    for settings in demo_rows():
        results.append(evaluator.run(records, settings, source=DEMO_DATA, provenance=provenance))
        if output:
            write_report(results[-1], Path(output) / f"demo-{settings.persona}-{settings.reward}-"
                                                     f"{settings.reference}.json")
    return results
