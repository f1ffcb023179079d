"""`alignx report --spec SPEC --output DIR`: every cell of the spec through `Evaluator`, each cell's report written
to DIR/cells as soon as it finishes (a rerun reuses finished cells whose settings match, and loads no model
whose cells are all done), then DIR/table.json and DIR/table.md. `--dry-run` plans without loading anything.
"""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignx.atomic import write_json
from alignx.errors import OptionError
from alignx.eval.evaluator import Evaluator, ScoredModel
from alignx.eval.settings import BUILTIN_REFERENCES
from alignx.eval.stats import bootstrap_ci
from alignx.report.spec import Cell, ReportSpec, load_spec


@dataclass
class ReportConfig:
    """`alignx report`: the spec file and where its cells and table go (declared once, see alignx.options)."""

    spec: str = field(metadata={"help": "The report spec, a TOML file (docs/report.md)."})
    output: str | None = field(default=None, metadata={
        "short": "-o", "default_text": "required unless --dry-run",
        "help": "Folder for cells/, table.json and table.md; a rerun reuses the finished cells in it."})
    dry_run: bool = field(default=False, metadata={
        "help": "Validate the spec, list its cells (and which are done in --output) and the models they need; "
                "load no model and no data."})
    overwrite: bool = field(default=False, metadata={
        "help": "Replace the cells already in --output: score every cell again."})
    progress: bool = field(default=True, metadata={"help": "Show scoring progress bars on stderr."})
    device: str | None = field(default=None, metadata={
        "help": "torch device: cpu, cuda or cuda:N (the dtype is the spec's: it is part of what a cell measured).",
        "default_text": "cuda if any (a launcher's process: its own GPU), else cpu"})

    def __post_init__(self) -> None:
        if self.output is None and not self.dry_run:
            raise OptionError("--output is required: the folder for the cells and the table (or use --dry-run)")


def cell_status(cell: Cell, folder: Path | None, spec: ReportSpec) -> tuple[dict[str, Any] | None, str]:
    """(the finished report to reuse, or None; why): a cell is reused when its file parses and records the
    settings the spec asks for now; a different bootstrap or seed only recomputes the interval."""
    path = folder / "cells" / cell.file if folder is not None else None
    if path is None or not path.is_file():
        return None, "to score"
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        recorded = report["settings"]
        report["examples"]  # noqa: B018 - a report without its examples cannot be tested
    except (OSError, ValueError, KeyError, TypeError):
        return None, "unreadable: to score again"
    for key, value in cell.expected(spec.dtype).items():
        if recorded.get(key) != value:
            return None, f"stale ({key} was {recorded.get(key)!r}, now {value!r}): to score again"
    if (recorded.get("bootstrap"), recorded.get("seed")) != (spec.bootstrap, spec.seed):
        report["ci95"] = list(bootstrap_ci([e["correct"] for e in report["examples"]], spec.bootstrap, spec.seed))
        report["settings"].update(bootstrap=spec.bootstrap, seed=spec.seed)
        return report, "done (interval recomputed)"
    return report, "done"


def models_needed(cell: Cell) -> list[str]:
    """The model specs scoring `cell` loads: its policy, and a reference named by spec."""
    reference = cell.settings.reference
    return [cell.row.model] + ([reference] if reference not in BUILTIN_REFERENCES else [])


def run_report(config: ReportConfig, *, evaluator_cls: type[Evaluator] = Evaluator,
               load_model: Callable[[str], ScoredModel] | None = None, console: Any = None) -> dict[str, Any] | None:
    """Plan, score what is not done, write the table; the table (None for a dry run). `evaluator_cls` and
    `load_model` (spec -> ScoredModel) are seams for tests and callers that hold models already."""
    from rich.console import Console

    from alignx.distributed import is_main

    main = is_main()
    console = console or Console(quiet=not main)
    log = Console(stderr=True, quiet=not main)  # notes and interruptions; the cells and the table go to stdout
    spec = load_spec(config.spec)
    cells = spec.cells()
    folder = Path(config.output) if config.output else None
    reuse = None if config.overwrite else folder
    status = {cell.file: cell_status(cell, reuse, spec) for cell in cells}  # every process plans before scoring
    if config.dry_run:
        dry_run(spec, cells, status, folder, console)
        return None
    if folder is None:  # ReportConfig requires --output unless --dry-run; a caller may build one without
        raise OptionError("--output is required: the folder for the cells and the table")
    reports = {file: report for file, (report, _) in status.items() if report is not None}
    todo = [cell for cell in cells if status[cell.file][0] is None]
    for cell in cells:
        why = status[cell.file][1]
        if why.startswith(("stale", "unreadable")):
            log.print(f"note: {cell.file}: {why}", markup=False, highlight=False, soft_wrap=True)
        elif why == "done (interval recomputed)" and main:
            write_json(folder / "cells" / cell.file, reports[cell.file])
    if todo:
        try:
            score(spec, todo, folder, reports, console, evaluator_cls, load_model, config.progress and main, main,
                  device=config.device)
        except KeyboardInterrupt:
            done = sum(1 for cell in todo if cell.file in reports)
            log.print(f"interrupted: {done} of {len(todo)} cells scored and saved in {folder / 'cells'}; "
                      "run the same command again to resume", markup=False, highlight=False)
            raise
    from alignx.report.table import FOOTER, build_table, rich_table, write_table

    table = build_table(spec, cells, reports)
    if main:
        write_table(table, folder)
        console.print(rich_table(table))
        console.print(FOOTER, markup=False, highlight=False)
        console.print(f"cells: {len(todo)} scored, {len(cells) - len(todo)} reused; "
                      f"table: {folder / 'table.md'}, {folder / 'table.json'}", markup=False, soft_wrap=True)
    return table


def score(spec: ReportSpec, todo: list[Cell], folder: Path, reports: dict[str, dict[str, Any]], console: Any,
          evaluator_cls: type[Evaluator], load_model: Callable[[str], ScoredModel] | None, progress: bool,
          main: bool, device: str | None = None) -> None:
    """Score `todo` in order, writing each cell's report as it finishes. A model is loaded on first need and
    shared (a row's reference that is another row's model reuses its weights and scorings), and let go after
    the last cell that needs it."""
    from alignx import registry
    from alignx.eval.evaluator import load_scored

    if load_model is None:
        check_models(spec, todo)

        def load_model(name: str) -> ScoredModel:
            if main:
                print(f"loading model {name}", file=sys.stderr)
            return load_scored(name, batch_size=spec.batch_size, progress=progress, dtype=spec.dtype,
                               device=device)

    last_use = {name: i for i, cell in enumerate(todo) for name in models_needed(cell)}
    pool: dict[str, ScoredModel] = {}
    evaluators: dict[str, Evaluator] = {}
    records: dict[str, list] = {}

    def pooled(name: str) -> ScoredModel:
        if name not in pool:
            pool[name] = load_model(name)
        return pool[name]

    for i, cell in enumerate(todo):
        column = cell.column
        if column.name not in records:
            records[column.name] = registry.load(column.data, column.split, column.limit)
            if not records[column.name]:
                raise OptionError(f"{spec.path}: benchmark {column.name} ({column.data}): no records to evaluate")
        model = cell.row.model
        if model not in evaluators:
            evaluators[model] = evaluator_cls(pooled(model), pooled)
        s = cell.settings
        console.print(f"[{i + 1}/{len(todo)}] {cell.row.name} · {column.name} · {cell.persona} (reward {s.reward}, "
                      f"reference {s.reference}, prompt {s.prompt}, n={len(records[column.name])})",
                      markup=False, highlight=False, soft_wrap=True)
        provenance = {"data": column.data, "split": column.split, "limit": column.limit, "dtype": spec.dtype}
        result = evaluators[model].run(records[column.name], s, source=column.data, provenance=provenance)
        reports[cell.file] = result.to_dict()
        if main:
            write_json(folder / "cells" / cell.file, reports[cell.file])
        console.print(f"    accuracy {100 * result.accuracy:.2f}% [{100 * result.ci95[0]:.1f}–"
                      f"{100 * result.ci95[1]:.1f}] in {result.seconds:.1f} s", markup=False, highlight=False)
        released = [name for name, last in last_use.items() if last == i]
        for name in released:
            pool.pop(name, None)
            evaluators.pop(name, None)
        if released:
            free_memory()


def check_models(spec: ReportSpec, todo: list[Cell]) -> None:
    """Every model (and adapter base) the cells will load, resolved before the first loads: a bad folder, a
    `reference = "base"` on a model that is no adapter, or an unreachable hub id fails at once, not after an
    hour of scoring."""
    from alignx.hub import ensure_reachable
    from alignx.models import DEFAULT_MODEL, resolve

    for name in sorted({name for cell in todo for name in models_needed(cell)}):
        resolved = resolve(name)
        for hub_id in (name, resolved.base):
            if hub_id and hub_id != DEFAULT_MODEL and not Path(hub_id).expanduser().exists():
                ensure_reachable("model", hub_id)
    for cell in todo:
        if cell.settings.reference == "base" and resolve(cell.row.model).base is None:
            raise OptionError(f"{spec.path}: models[{spec.rows.index(cell.row) + 1}].reference: base is the base "
                              f"model of an adapter, and {cell.row.model!r} is not an adapter; use none, raw or "
                              "a model spec")


def free_memory() -> None:
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def dry_run(spec: ReportSpec, cells: list[Cell], status: dict[str, tuple[Any, str]], folder: Path | None,
            console: Any) -> None:
    """Print the cells and the models they would load; touches no model and no data."""
    console.print(f"{spec.title}: {len(cells)} cells, baseline row {spec.baseline}", markup=False, soft_wrap=True)
    for cell in cells:
        c, s = cell.column, cell.settings
        reference = f" vs {s.reference}" if s.reference not in ("none", "raw") or s.reward == "dpo" else ""
        state = f"  [{status[cell.file][1]}]" if folder is not None else ""
        console.print(f"  {cell.row.name} · {c.name} ({c.data}, split {c.split or 'default'}, "
                      f"{f'first {c.limit}' if c.limit else 'all'} records) · {cell.persona} · prompt {s.prompt} · "
                      f"{s.reward}{reference}{state}", markup=False, highlight=False, soft_wrap=True)
    pending = [cell for cell in cells if status[cell.file][0] is None]
    console.print(f"models to load ({'cells not done' if folder is not None else 'all cells'}):")
    for name, role in planned_models(pending):
        console.print(f"  {name}: {role}", markup=False, highlight=False, soft_wrap=True)
    if not pending:
        console.print("  none: every cell is done")
    if folder is not None:
        console.print(f"cells: {len(pending)} to score, {len(cells) - len(pending)} done in {folder}")
    console.print(f"dtype {spec.dtype or 'auto'}, batch size {spec.batch_size}, β {spec.beta}, "
                  f"bootstrap {spec.bootstrap} (seed {spec.seed})")


def planned_models(cells: list[Cell]) -> list[tuple[str, str]]:
    """(model spec, what it is for) of each model `cells` would load, in first-use order."""
    roles: dict[str, list[str]] = {}
    for cell in cells:
        roles.setdefault(cell.row.model, [])
        if f"policy of {cell.row.name}" not in roles[cell.row.model]:
            roles[cell.row.model].append(f"policy of {cell.row.name}")
        reference = cell.settings.reference
        if reference == "base":
            roles[cell.row.model].append(f"its adapter's base model is the reference of {cell.row.name}")
        elif reference not in BUILTIN_REFERENCES:
            roles.setdefault(reference, [])
            roles[reference].append(f"reference of {cell.row.name}")
    return [(name, "; ".join(dict.fromkeys(r))) for name, r in roles.items()]
