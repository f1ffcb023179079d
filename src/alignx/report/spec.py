"""The report spec: a TOML file naming the table's rows (models), column groups (benchmarks) and shared
settings, validated into `ReportSpec` with one-line errors that name the file, the table and the key
(`spec.toml: models[2].reference: ...`, counted from 1). `ReportSpec.cells()` is rows × benchmark × persona.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignx.errors import InputNotFound, OptionError, UserError
from alignx.eval.settings import EvalSettings, RewardSettings, RunSettings
from alignx.options import unwrap_optional, value_problem
from alignx.personas import Persona

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


class SpecError(UserError):
    """A report spec that cannot be run; the message names the file, the table and the key."""


# The evaluation settings a spec shares with `alignx eval`: a key of the spec is the option's field, so its
# type, default, bounds and choices are declared once (alignx.eval.settings).
_EVAL = {f.name: f for f in (*dataclasses.fields(RewardSettings), *dataclasses.fields(RunSettings))}


@dataclass(frozen=True)
class Row:
    """A `[[models]]` entry: one table row, one policy model."""

    name: str
    model: str
    reward: str = _EVAL["reward"].default
    reference: str = _EVAL["reference"].default
    prompt: str | None = field(default=None, metadata={"choices": ("ica", "pba")})
    personas: tuple[str, ...] | None = None  # None: every column


@dataclass(frozen=True)
class Column:
    """A `[[benchmarks]]` entry: a group of columns, one per persona type; named after its data by default."""

    data: str
    personas: tuple[str, ...]
    name: str | None = None
    split: str | None = None
    limit: int | None = field(default=None, metadata=_EVAL["limit"].metadata)

    def __post_init__(self) -> None:
        if self.name is None:
            object.__setattr__(self, "name", self.data)


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
class ReportSettings:
    """The `[report]` table: the title, the baseline row, and the evaluation settings every cell shares."""

    title: str | None = None  # None: the spec file's name
    baseline: str | None = None  # None: the first row
    batch_size: int = field(default=_EVAL["batch_size"].default, metadata=_EVAL["batch_size"].metadata)
    dtype: str | None = field(default=_EVAL["dtype"].default, metadata=_EVAL["dtype"].metadata)
    bootstrap: int = field(default=_EVAL["bootstrap"].default, metadata=_EVAL["bootstrap"].metadata)
    seed: int = field(default=_EVAL["seed"].default, metadata=_EVAL["seed"].metadata)
    beta: float = field(default=_EVAL["beta"].default, metadata=_EVAL["beta"].metadata)


TABLES = {"report": ReportSettings, "models": Row, "benchmarks": Column}


@dataclass(frozen=True)
class ReportSpec:
    path: str
    title: str
    baseline: str
    rows: tuple[Row, ...]
    columns: tuple[Column, ...]
    batch_size: int
    dtype: str | None
    bootstrap: int
    seed: int
    beta: float

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
    settings = read_table(report, ReportSettings, where, "report")
    rows = [read_row(entry, where, i) for i, entry in enumerate(data["models"], 1)]
    columns = [read_column(entry, where, j) for j, entry in enumerate(data["benchmarks"], 1)]
    unique([r.name for r in rows], where, "models")
    unique([c.name for c in columns], where, "benchmarks")
    names = [r.name for r in rows]
    baseline = settings["baseline"] if settings["baseline"] is not None else names[0]
    if baseline not in names:
        raise SpecError(f"{where}: report.baseline: no row named {baseline!r}{did_you_mean(baseline, names)}")
    spec = ReportSpec(where, settings["title"] or Path(where).stem, baseline, tuple(rows), tuple(columns),
                      settings["batch_size"], settings["dtype"], settings["bootstrap"], settings["seed"],
                      float(settings["beta"]))
    spec.cells()  # every cell must be a valid evaluation
    return spec


def read_row(entry: Any, where: str, i: int) -> Row:
    table = f"models[{i}]"
    values = read_table(entry, Row, where, table)
    from alignx.eval import rewards

    try:
        rewards.get(values["reward"])
    except OptionError:
        known = list(rewards.REWARDS)
        raise SpecError(f"{where}: {table}.reward: unknown reward {values['reward']!r}"
                        f"{did_you_mean(values['reward'], known) or '; choose one of ' + ', '.join(known)}") from None
    personas = None if values["personas"] is None else personas_of(values["personas"], where, f"{table}.personas")
    return Row(values["name"], values["model"], values["reward"], values["reference"], values["prompt"], personas)


def read_column(entry: Any, where: str, j: int) -> Column:
    from alignx import registry

    table = f"benchmarks[{j}]"
    values = read_table(entry, Column, where, table)
    personas = personas_of(values["personas"], where, f"{table}.personas")
    if not personas:
        raise SpecError(f"{where}: {table}.personas: empty; name at least one persona type")
    if registry.is_registered(values["data"]):
        supported = [p.value for p in registry.get(values["data"]).personas]
        missing = [p for p in personas if p not in supported]
        if missing:
            raise SpecError(f"{where}: {table}.personas: benchmark {values['data']} has no {', '.join(missing)} "
                            f"persona; choose from {', '.join(supported)}")
    return Column(values["data"], personas, values["name"], values["split"], values["limit"])


TOML_TYPES = {str: ((str,), "a string"), int: ((int,), "an integer"), float: ((int, float), "a number"),
              tuple: ((list,), "a list")}


def read_table(entry: Any, cls: type, where: str, table: str) -> dict[str, Any]:
    """`entry`'s values for the fields of `cls` (defaults filled), after checking it is a table of known keys,
    each of its field's type and within its declared bounds and choices."""
    if not isinstance(entry, dict):
        raise SpecError(f"{where}: {table}: must be a table of keys, got {type(entry).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    check_known(entry, fields, where, "key", prefix=f"{table}.")
    hints = typing.get_type_hints(cls)
    values = {}
    for key, f in fields.items():
        if key not in entry:
            if f.default is dataclasses.MISSING:
                raise SpecError(f"{where}: {table}.{key}: missing (required)")
            values[key] = f.default
            continue
        value = entry[key]
        kind = unwrap_optional(hints[key])
        types, wanted = TOML_TYPES[typing.get_origin(kind) or kind]
        if isinstance(value, bool) or not isinstance(value, types):  # bool is an int in Python, not in TOML
            raise SpecError(f"{where}: {table}.{key}: must be {wanted}, got {value!r}")
        if (problem := value_problem(f, value)) is not None:
            raise SpecError(f"{where}: {table}.{key}: {problem}")
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
