"""`alignx build --events FILE --output DIR`: an event log (or the service's database, `--db`) in, an AlignX dataset
folder out (`train.jsonl`, `test.jsonl`, `stats.json`), written as a whole or not at all."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer

from alignx.annotate.spec import INFERENCER_DEVICE, INFERENCER_DTYPE, AnnotatorSettings
from alignx.answer_cache import CACHE_HELP
from alignx.db_url import redact
from alignx.errors import OptionError, UserError
from alignx.outputs import refuse_existing

FORMATS = ("jsonl", "parquet")  # pyarrow and numpy load only when a build runs (`alignx --help` stays instant)


@dataclass(kw_only=True)
class BuildConfig(AnnotatorSettings):
    events: str | None = field(default=None, metadata={
        "help": "Event log: a .jsonl, .json, .parquet or .csv file (one event per row).",
        "default_text": "none; give it or --db"})
    output: str = field(metadata={"short": "-o", "help": "Dataset folder to write (train.*, test.*, stats.json)."})
    db: str | None = field(default=None, metadata={
        "help": "Read the events from the service's database instead, read-only: sqlite:///FILE or "
                "postgresql+psycopg://USER@HOST/DB."})
    user: str | None = field(default=None, metadata={
        "help": "Export this user's records only (users' rights); --min-items does not apply."})
    test_fraction: float = field(default=0.1, metadata={"help": "Share of users in the test split (by user).",
                                                        "min": 0, "max": 1})
    seed: int = field(default=0, metadata={"help": "Seed of the split and of the persona draws."})
    max_items: int = field(default=4, metadata={"min": 0,
        "help": "Persona size K: up to K comments and up to K other pairs of the user per record."})
    min_items: int = field(default=2, metadata={"min": 1, "help": "Skip users with fewer events (after duplicates)."})
    format: str = field(default="jsonl", metadata={"choices": FORMATS, "help": "Output files: jsonl or parquet."})
    overwrite: bool = field(default=False, metadata={"help": "Replace an existing output folder."})
    describe: bool = field(default=False, metadata={
        "help": "Write 'Demographic Information' from the user's history where no demographic event gives it "
                "(needs an openai:MODEL --annotator)."})
    cache: str | None = field(default=None, metadata=CACHE_HELP)
    device: str | None = field(default=None, metadata=INFERENCER_DEVICE)
    dtype: str | None = field(default=None, metadata=INFERENCER_DTYPE)
    progress: bool = field(default=True, metadata={"help": "Show a progress bar."})

    def __post_init__(self):
        self.check_annotator()  # every declared bound and choice too (check_options)
        if (self.events is None) == (self.db is None):
            raise OptionError("give --events FILE or --db URL (one of them)")
        if self.db is not None and not self.db.startswith(("sqlite:///", "postgresql")):
            raise OptionError(f"--db {redact(self.db)!r}: write sqlite:///FILE or postgresql+psycopg://...")
        if self.describe and self.annotator is None:
            raise OptionError("--describe needs --annotator (an openai:MODEL annotator writes the text)")

    @property
    def options(self):
        from alignx.dataset.builder import BuildOptions

        return BuildOptions(seed=self.seed, test_fraction=self.test_fraction, max_items=self.max_items,
                            min_items=self.min_items, format=self.format, user=self.user)


def run_build(config: BuildConfig) -> None:
    """Build an AlignX dataset from raw behaviour: one record per pair event, with the user's other comments and
    pairs (never on the same post) as the persona, split into train and test by user."""
    output = Path(config.output)
    refuse_existing(output, config.overwrite)
    if output.exists() and not output.is_dir():
        raise OptionError(f"--output {output} is a file, not a dataset folder")
    stats = build(config)
    for line in stats_lines(stats):
        typer.echo(line)
    typer.echo(f"wrote {output}")


def load_events(config: BuildConfig):
    """The checked event table the config names (a file, or the service's database)."""
    if config.db is not None:
        from alignx.dataset.events import check_events
        from alignx.dataset.store_events import events_from_store

        return check_events(events_from_store(config.db, user=config.user), redact(config.db))
    from alignx.dataset.events import read_events

    return read_events(config.events, user=config.user)


def build(config: BuildConfig) -> dict:
    """Read, check and build into a temporary folder that replaces `config.output` only when all went well."""
    from alignx.atomic import atomic_write
    from alignx.dataset.builder import build_dataset

    events = load_events(config)
    source = redact(config.db) if config.db is not None else str(config.events)
    if config.user is not None and events.num_rows == 0:
        raise UserError(f"{source}: no events of user {config.user!r}")
    annotator = cache = annotation = None
    try:
        if config.annotator is not None:
            annotation, annotator, cache = _annotation(config)
        with atomic_write(config.output, directory=True) as folder:
            stats = build_dataset(events, Path(folder), config.options, source=source, annotation=annotation,
                                  progress=config.progress)
            if stats["records"]["total"] == 0:
                raise UserError(f"{source}: no records to write ({stats['events']['read']} events, "
                                f"{stats['users']['skipped_min_items']} users under --min-items, "
                                f"{stats['users']['without_pairs']} users without pair events)")
    finally:
        if cache is not None:
            cache.close()
        if annotator is not None:
            annotator.close()
    if annotation is not None and annotation.summary is not None:
        stats["annotation"] = annotation.summary.lines()
    return stats


def stats_lines(stats: dict) -> list[str]:
    ev, users, records, directions = stats["events"], stats["users"], stats["records"], stats["directions"]
    out = [f"{ev['read']} events of {users['seen']} users: {ev['duplicates_dropped']} exact duplicates dropped, "
           f"{users['skipped_min_items']} users with fewer than --min-items events skipped "
           f"({ev['in_skipped_users']} events)",
           f"{records['total']} records: train {records['train']} ({users['train']} users), test {records['test']} "
           f"({users['test']} users)"]
    if directions["records_without"] or directions["items_without"]:
        out.append(f"directions absent: {directions['records_without']} records, {directions['items_without']} "
                   "history items (--annotator fills them)")
    out += stats.get("annotation", [])
    return out


def _annotation(config: BuildConfig):
    from alignx.annotate.fill import FillSummary, fill_descriptions, fill_directions
    from alignx.annotate.spec import load_annotator
    from alignx.answer_cache import AnswerCache
    from alignx.dataset.builder import Annotation

    annotator = load_annotator(config, device=config.device, dtype=config.dtype)
    cache = AnswerCache(config.cache)
    if config.describe and not annotator.can_describe:
        annotator.close()
        cache.close()
        raise OptionError(f"--describe: {config.annotator} answers directions only and cannot write demographic "
                          "text; use an openai:MODEL annotator")
    summary = FillSummary()  # every chunk's call adds to it

    def directions(records):
        return fill_directions(records, annotator, cache, progress=False, summary=summary)[0]

    def describe(records):
        described, _ = fill_descriptions(records, annotator, cache, workers=config.annotator_workers,
                                         progress=False, summary=summary)
        return [r.demographic for r in described]

    annotation = Annotation(directions=directions, describe=describe if config.describe else None, summary=summary)
    return annotation, annotator, cache

