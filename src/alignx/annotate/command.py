"""`alignx annotate`: fill directions (DATA), train a local inferencer (train), measure an annotator (eval).

The options are the fields of the config dataclasses below and of `AnnotatorSettings` (alignx.options);
heavy libraries load inside the commands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from alignx.annotate.spec import INFERENCER_DEVICE, INFERENCER_DTYPE, AnnotatorSettings
from alignx.answer_cache import CACHE_HELP
from alignx.errors import OptionError
from alignx.sources import EVAL_SPLIT, FILE_SUFFIXES


@dataclass(kw_only=True)
class AnnotatorRun(AnnotatorSettings):
    """The settings of every command that runs an annotator over records."""

    cache: str | None = field(default=None, metadata=CACHE_HELP)
    limit: int | None = field(default=None, metadata={"help": "The first N records only.", "default_text": "all",
                                                      "min": 1})
    device: str | None = field(default=None, metadata=INFERENCER_DEVICE)
    dtype: str | None = field(default=None, metadata=INFERENCER_DTYPE)
    progress: bool = field(default=True, metadata={"help": "Show a progress bar."})

    def __post_init__(self):
        self.check_annotator()


@dataclass(kw_only=True)
class AnnotateConfig(AnnotatorRun):
    data: str = field(metadata={"help": "demo, a .json/.jsonl/.parquet file, a folder or a hub dataset id."})
    output: str = field(metadata={"short": "-o", "help": "File to write (.jsonl, .json or .parquet), atomically."})
    split: str | None = field(default=None, metadata={"help": "Split to read when DATA has several."})
    overwrite: bool = field(default=False, metadata={
        "help": "Replace an existing --output file (without it, one this command wrote with the same settings is "
                "resumed)."})
    reannotate: bool = field(default=False, metadata={"help": "Replace directions that are already there too."})
    describe: bool = field(default=False, metadata={
        "help": "Also write 'Demographic Information' where it is missing, from the user's history (openai "
                "backend)."})

    def __post_init__(self):
        super().__post_init__()
        if Path(self.output).suffix.lower() not in FILE_SUFFIXES:
            raise OptionError(f"--output {self.output}: name a {', '.join(FILE_SUFFIXES)} file")


@dataclass(kw_only=True)
class AnnotatorEvalConfig(AnnotatorRun):
    data: str = field(default="demo", metadata={"help": "Records whose items carry true directions."})
    split: str | None = field(default=None, metadata={"help": "Split to read when DATA has several.",
                                                      "default_text": EVAL_SPLIT})
    output: str | None = field(default=None, metadata={"short": "-o", "help": "JSON file for the report."})
    overwrite: bool = field(default=False, metadata={"help": "Replace an existing --output report."})


def run_annotate(config: AnnotateConfig) -> None:
    """Fill every missing 'Preference Direction' of DATA (record and history items) through an annotator."""
    from alignx import registry
    from alignx.annotate.fill import FillSummary, fill_descriptions, fill_directions
    from alignx.annotate.resume import resume_from, write_meta
    from alignx.annotate.spec import load_annotator
    from alignx.answer_cache import AnswerCache
    from alignx.records import write_records

    source = resume_from(config)
    if source is None:
        records = registry.load(config.data, config.split, config.limit, default_split="")  # several: say which
    else:
        records = registry.load(source)
        typer.echo(f"resuming {source}: {len(records)} records, only their missing directions asked", err=True)
    annotator = load_annotator(config, device=config.device, dtype=config.dtype)
    summary = FillSummary()
    try:
        with AnswerCache(config.cache) as cache:
            if config.describe:
                records, _ = fill_descriptions(records, annotator, cache, progress=config.progress,
                                               workers=config.annotator_workers, summary=summary)
            records, _ = fill_directions(records, annotator, cache, reannotate=config.reannotate,
                                         progress=config.progress, summary=summary)
    finally:
        annotator.close()
    count = write_records(records, config.output)
    write_meta(config)
    for line in summary.lines():
        typer.echo(line)
    typer.echo(f"wrote {count} records to {config.output}")


def run_annotator_eval(config: AnnotatorEvalConfig) -> None:
    """How well an annotator recovers the true directions of DATA: every direction is removed, inferred
    again, and compared per pole (precision / recall / F1) and per record (identical rendered profile)."""
    from rich.console import Console

    from alignx import registry
    from alignx.annotate.check import agreement, agreement_table
    from alignx.annotate.spec import load_annotator
    from alignx.answer_cache import AnswerCache
    from alignx.atomic import write_json
    from alignx.outputs import refuse_existing

    if config.output:
        refuse_existing(config.output, config.overwrite)
    records = registry.load(config.data, config.split, config.limit)
    annotator = load_annotator(config, device=config.device, dtype=config.dtype)
    try:
        with AnswerCache(config.cache) as cache:
            report = agreement(records, annotator, cache, progress=config.progress)
    finally:
        annotator.close()
    report["data"], report["split"] = config.data, config.split
    Console().print(agreement_table(report, title=f"{config.annotator} on {config.data}"))
    if config.output:
        write_json(config.output, report, indent=2)
        typer.echo(f"report: {config.output}")


def run_train(config: Any) -> None:
    """Train a local inferencer (a small model with a 90 x 3 classification head) on items that carry
    directions; use it as --annotator local:OUTPUT."""
    from alignx.annotate.learn import run_inferencer_training

    metrics = run_inferencer_training(config)
    held = metrics.get("held_out")
    scores = f", held-out macro-F1 {held['macro_f1']:.3f} on {metrics['held_out_items']} items" if held else ""
    typer.echo(f"trained on {metrics['train_items']} items in {metrics['train_seconds']:.0f} s{scores}; "
               f"{config.output} (metrics.json)")
