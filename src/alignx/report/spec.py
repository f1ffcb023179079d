"""The report spec: a TOML file naming the table's rows (models), column groups (benchmarks) and shared
settings, validated into `ReportSpec` with one-line errors that name the file, the table and the key
(`spec.toml: models[2].reference: ...`, counted from 1). `ReportSpec.cells()` is rows × benchmark × persona.
"""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignx.errors import InputNotFound, OptionError, UserError
from alignx.eval.settings import DEFAULT_BETA, EvalSettings
from alignx.personas import Persona

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


class SpecError(UserError):
    """A report spec that cannot be run; the message names the file, the table and the key."""


# key -> (accepted types, default; REQUIRED for keys without one)
REQUIRED = object()
REPORT_KEYS: dict[str, tuple[tuple[type, ...], Any]] = {
    "title": ((str,), None), "baseline": ((str,), None), "batch_size": ((int,), 8), "dtype": ((str,), None),
    "bootstrap": ((int,), 1000), "seed": ((int,), 0), "beta": ((int, float), DEFAULT_BETA)}
MODEL_KEYS: dict[str, tuple[tuple[type, ...], Any]] = {
    "name": ((str,), REQUIRED), "model": ((str,), REQUIRED), "reward": ((str,), "dpo"),
    "reference": ((str,), "none"), "prompt": ((str,), None), "personas": ((list,), None)}
BENCHMARK_KEYS: dict[str, tuple[tuple[type, ...], Any]] = {
    "name": ((str,), None), "data": ((str,), REQUIRED), "split": ((str,), None), "limit": ((int,), None),
    "personas": ((list,), REQUIRED)}
TABLES = {"report": REPORT_KEYS, "models": MODEL_KEYS, "benchmarks": BENCHMARK_KEYS}


@dataclass(frozen=True)
class Row:
    """A `[[models]]` entry: one table row, one policy model."""

    name: str
    model: str
    reward: str = "dpo"
    reference: str = "none"
    prompt: str | None = None
    personas: tuple[str, ...] | None = None  # None: every column


@dataclass(frozen=True)
class Column:
    """A `[[benchmarks]]` entry: a group of columns, one per persona type."""

    name: str
    data: str
    split: str | None = None
    limit: int | None = None
    personas: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cell:
    """One evaluation: a row on one benchmark with one persona type, under `settings`."""

    row: Row
    column: Column
    persona: str
    settings: EvalSettings
    file: str  # its report's name under DIR/cells

    def expected(self, dtype: str | None) -> dict[str, Any]:
        """What a finished cell's report must record (under "settings") to be reused instead of scored again."""
        s = self.settings
        return {"model": self.row.model, "data": self.column.data, "split": self.column.split,
                "limit": self.column.limit, "dtype": dtype, "persona": s.persona, "prompt": s.prompt,
                "reward": s.reward, "reference": s.reference, "beta": s.beta}


@dataclass(frozen=True)
class ReportSpec:
    path: str
    title: str
    baseline: str
    rows: tuple[Row, ...]
    columns: tuple[Column, ...]
    batch_size: int = 8
    dtype: str | None = None
    bootstrap: int = 1000
    seed: int = 0
    beta: float = DEFAULT_BETA

    def cells(self) -> list[Cell]:
        """Every cell, row by row; a persona a row does not list is left out (shown as "–")."""
        out = []
        for i, row in enumerate(self.rows, 1):
            for j, column in enumerate(self.columns, 1):
                for persona in column.personas:
                    if row.personas is not None and persona not in row.personas:
                        continue
                    try:
                        settings = EvalSettings(persona=persona, prompt=row.prompt, reward=row.reward,
                                                reference=row.reference, beta=self.beta, bootstrap=self.bootstrap,
                                                seed=self.seed)
                    except OptionError as e:
                        raise SpecError(f"{self.path}: models[{i}] ({row.name}) on benchmarks[{j}] ({column.name}), "
                                        f"persona {persona}: {e}") from None
                    out.append(Cell(row, column, persona, settings,
                                    f"{safe_name(row.name)}__{safe_name(column.name)}__{persona}.json"))
        return out


def safe_name(name: str) -> str:
    """`name` as a file-name part: letters, digits, '.', '-' and single '_' (so '__' separates parts)."""
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9._-]+", "-", name)).strip("-._") or "x"


def load_spec(path: str | Path) -> ReportSpec:
    """The spec at `path`, validated: SpecError (one line naming file, table and key) on anything wrong."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputNotFound(f"{where}: no such report spec") from None
    except (IsADirectoryError, UnicodeDecodeError) as e:
        raise SpecError(f"{where}: cannot read the report spec ({type(e).__name__})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"{where}: not valid TOML: {e}") from None
    return parse_spec(data, where)


def parse_spec(data: dict[str, Any], where: str) -> ReportSpec:
    check_known(data, TABLES, where, "table")
    report = data.get("report", {})
    if not isinstance(report, dict):
        raise SpecError(f"{where}: report: must be a table ([report])")
    for name in ("models", "benchmarks"):
        if not isinstance(data.get(name), list) or not data[name]:
            raise SpecError(f"{where}: {name}: missing; add at least one [[{name}]] table")
    settings = read_table(report, REPORT_KEYS, where, "report")
    rows = [read_row(entry, where, i) for i, entry in enumerate(data["models"], 1)]
    columns = [read_column(entry, where, j) for j, entry in enumerate(data["benchmarks"], 1)]
    unique([r.name for r in rows], where, "models")
    unique([c.name for c in columns], where, "benchmarks")
    names = [r.name for r in rows]
    baseline = settings["baseline"] if settings["baseline"] is not None else names[0]
    if baseline not in names:
        raise SpecError(f"{where}: report.baseline: no row named {baseline!r}{did_you_mean(baseline, names)}")
    from alignx.models import DTYPES

    dtype = settings["dtype"]
    if dtype is not None and dtype.lower() not in DTYPES:
        raise SpecError(f"{where}: report.dtype: {dtype!r} is unknown; choose one of fp32, bf16, fp16")
    for key, low in (("batch_size", 1), ("bootstrap", 0)):
        if settings[key] < low:
            raise SpecError(f"{where}: report.{key}: must be at least {low}, got {settings[key]}")
    if not settings["beta"] > 0:
        raise SpecError(f"{where}: report.beta: must be positive, got {settings['beta']}")
    spec = ReportSpec(where, settings["title"] or Path(where).stem, baseline, tuple(rows), tuple(columns),
                      settings["batch_size"], dtype, settings["bootstrap"], settings["seed"], float(settings["beta"]))
    spec.cells()  # every cell must be a valid evaluation
    return spec


def read_row(entry: Any, where: str, i: int) -> Row:
    table = f"models[{i}]"
    values = read_table(entry, MODEL_KEYS, where, table)
    from alignx.eval import rewards

    try:
        rewards.get(values["reward"])
    except OptionError:
        known = list(rewards.REWARDS)
        raise SpecError(f"{where}: {table}.reward: unknown reward {values['reward']!r}"
                        f"{did_you_mean(values['reward'], known) or '; choose one of ' + ', '.join(known)}") from None
    if values["prompt"] is not None and values["prompt"].lower() not in ("ica", "pba"):
        raise SpecError(f"{where}: {table}.prompt: {values['prompt']!r} is unknown; choose ica or pba")
    personas = None if values["personas"] is None else personas_of(values["personas"], where, f"{table}.personas")
    return Row(values["name"], values["model"], values["reward"], values["reference"], values["prompt"], personas)


def read_column(entry: Any, where: str, j: int) -> Column:
    from alignx import registry

    table = f"benchmarks[{j}]"
    values = read_table(entry, BENCHMARK_KEYS, where, table)
    if values["limit"] is not None and values["limit"] < 1:
        raise SpecError(f"{where}: {table}.limit: must be at least 1, got {values['limit']}")
    personas = personas_of(values["personas"], where, f"{table}.personas")
    if not personas:
        raise SpecError(f"{where}: {table}.personas: empty; name at least one persona type")
    if registry.is_registered(values["data"]):
        supported = [p.value for p in registry.get(values["data"]).personas]
        missing = [p for p in personas if p not in supported]
        if missing:
            raise SpecError(f"{where}: {table}.personas: benchmark {values['data']} has no {', '.join(missing)} "
                            f"persona; choose from {', '.join(supported)}")
    return Column(values["name"] or values["data"], values["data"], values["split"], values["limit"], personas)


def read_table(entry: Any, keys: dict[str, tuple[tuple[type, ...], Any]], where: str, table: str) -> dict[str, Any]:
    """`entry`'s values for `keys` (defaults filled), after checking it is a table of known, well-typed keys."""
    if not isinstance(entry, dict):
        raise SpecError(f"{where}: {table}: must be a table of keys, got {type(entry).__name__}")
    check_known(entry, keys, where, "key", prefix=f"{table}.")
    values = {}
    for key, (types, default) in keys.items():
        if key not in entry:
            if default is REQUIRED:
                raise SpecError(f"{where}: {table}.{key}: missing (required)")
            values[key] = default
            continue
        value = entry[key]
        if isinstance(value, bool) or not isinstance(value, types):  # bool is an int in Python, not in TOML
            wanted = " or ".join({"str": "a string", "int": "an integer", "float": "a number",
                                  "list": "a list"}[t.__name__] for t in types)
            raise SpecError(f"{where}: {table}.{key}: must be {wanted}, got {value!r}")
        values[key] = value
    return values


def personas_of(values: list[Any], where: str, key: str) -> tuple[str, ...]:
    out = []
    for value in values:
        if not isinstance(value, str):
            raise SpecError(f"{where}: {key}: persona types are strings, got {value!r}")
        try:
            persona = Persona.parse(value).value
        except OptionError:
            known = [p.value for p in Persona]
            raise SpecError(f"{where}: {key}: unknown persona {value!r}"
                            f"{did_you_mean(value, known) or '; choose from ' + ', '.join(known)}") from None
        if persona in out:
            raise SpecError(f"{where}: {key}: {persona} is listed twice")
        out.append(persona)
    return tuple(out)


def check_known(entry: dict[str, Any], known: dict[str, Any], where: str, what: str, prefix: str = "") -> None:
    for key in entry:
        if key not in known:
            hint = did_you_mean(key, list(known)) or f"; known: {', '.join(known)}"
            raise SpecError(f"{where}: {prefix}{key}: unknown {what}{hint}")


def unique(names: list[str], where: str, table: str) -> None:
    seen: dict[str, int] = {}
    for i, name in enumerate(names, 1):
        file = safe_name(name)
        if file in seen:
            same = "twice" if names[seen[file] - 1] == name else f"and {names[seen[file] - 1]!r} make one file name"
            raise SpecError(f"{where}: {table}[{i}].name: {name!r} is used {same}" if same == "twice" else
                            f"{where}: {table}[{i}].name: {name!r} {same} ({file}); rename one")
        seen[file] = i


def did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""
