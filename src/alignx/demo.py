"""The main job (`alignx demo`, `make demo`): the embedded model, untrained, on the demo test split: the
universal baseline and, for each persona type, persona lift (the released reward with the same model
without the persona as reference) against the recommended zero-training reward."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from alignx.eval.evaluator import EvalResult, Evaluator
from alignx.eval.settings import EvalSettings
from alignx.models import DTYPES
from alignx.options import check_options

DEMO_DATA, DEMO_SPLIT, DEMO_MODEL = "demo", "test", "default"


DEMO_PERSONAS = ("ugc", "pair", "demo", "profile")

# What the same rewards give on real users' data, which the package cannot ship (PrefEval is CC BY-NC): the
# figures of docs/rewards.md ("Which reward to use"), measured there with the command it gives.
REAL_DATA_NOTE = ("On real users' data (PrefEval, 7 development topics, docs/rewards.md), persona lift → zero-shot: "
                  "choices (PAIR) 0.468 → 0.825, their own messages (UGC) 0.506 → 0.556, a description 0.461 → 0.501, "
                  "a stated preference 0.552 (zero-shot is persona lift there).")


@dataclass(kw_only=True)
class DemoConfig:
    """`alignx demo`."""

    limit: int | None = field(default=None, metadata={"help": "Use the first N test records only.",
                                                      "default_text": "all", "min": 1})
    output: str | None = field(default=None, metadata={"help": "Folder for one JSON report per row."})
    overwrite: bool = field(default=False, metadata={
        "help": "Replace the reports already in --output (without it, rows whose report records this run are read "
                "back, not scored)."})
    dtype: str | None = field(default=None, metadata={
        "help": "fp32 | bf16 | fp16.", "default_text": "bf16 where the CPU or GPU has it in hardware, else fp32",
        "choices": tuple(DTYPES)})
    device: str | None = field(default=None, metadata={"help": "torch device: cpu, cuda or cuda:N.",
                                                       "default_text": "cuda if any, else cpu"})
    progress: bool = field(default=True, metadata={"help": "Show progress bars with tokens/s on stderr."})

    def __post_init__(self) -> None:
        check_options(self)


def demo_rows() -> list[EvalSettings]:
    """The table's rows: the universal baseline (no persona, no reference: log π(chosen) > log π(rejected)),
    then for each persona type persona lift (`dpo`, reference `none`) and the `zero-shot` reward."""
    rows = [EvalSettings(persona="none", reference="raw")]
    for persona in DEMO_PERSONAS:
        rows += [EvalSettings(persona=persona, reference="none"), EvalSettings(persona=persona, reward="zero-shot")]
    return rows


def demo_dtype() -> str:
    """bf16 where the CPU (or GPU) multiplies it in hardware, which makes the demo ~1.8x faster; else fp32.
    Accuracies move by at most 0.03 on the demo test split, but bf16 flips verdicts where reward margins are
    tiny (up to 14 of 96 on the profile rows); `--dtype fp32` gives the reference figures (docs/rewards.md)."""
    from alignx.models import hardware_dtype

    return hardware_dtype()


def report_path(output: str | Path, settings: EvalSettings) -> Path:
    """Where `--output` keeps the report of one row."""
    return Path(output) / f"demo-{settings.persona}-{settings.reward}-{settings.reference}.json"


def run_demo(*, limit: int | None = None, output: str | Path | None = None, overwrite: bool = False,
             progress: bool = True, dtype: str | None = None, device: str | None = None,
             evaluator: Evaluator | None = None) -> list[EvalResult]:
    """Every row of `demo_rows` on the demo test split, one model load (on `device`, in `dtype`, default
    `demo_dtype()`); with `output`, one JSON report per row, written as the row finishes. A row whose report
    in `output` records this very run is read back, not scored (a rerun resumes); one made otherwise is
    refused unless `overwrite`."""
    from alignx import registry
    from alignx.eval.results import finished_result, write_report

    records = registry.load(DEMO_DATA, DEMO_SPLIT, limit)
    dtype = dtype or demo_dtype()
    provenance = {"data": DEMO_DATA, "split": DEMO_SPLIT, "limit": limit, "dtype": dtype}
    rows = demo_rows()
    done = [finished_result(report_path(output, row), row, {**provenance, "model": DEMO_MODEL}, overwrite=overwrite)
            if output else None for row in rows]  # every row is checked before the model loads
    results = []
    for settings, result in zip(rows, done, strict=True):
        if result is None:
            evaluator = evaluator or Evaluator.load(DEMO_MODEL, progress=progress, dtype=dtype, device=device)
            result = evaluator.run(records, settings, source=DEMO_DATA, provenance=provenance)
            if output:
                write_report(result, report_path(output, settings))
        results.append(result)
    return results
