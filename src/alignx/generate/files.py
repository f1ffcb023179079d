"""The generation file: JSONL rows, a settings sidecar, appends that survive a kill and never duplicate.

One line per (record, sample): {"key", "record", "sample", "prompt", "response", "tokens", "messages"}
("messages": the prompt the response was generated from; files written before it was recorded lack it;
best-of-N adds "chosen_from", "rewards", "sources" and "copies"). `key` names the record by content and
position (`record_key`); the sidecar OUT.meta.json holds the settings, the data and split, and the settings'
hash. A rerun reads what OUT already holds, cuts a torn last line (a kill mid-write), and appends only the rows
not yet there; each line is flushed and fsynced before the next, so a kill loses at most the line being written.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from alignx.atomic import write_json
from alignx.errors import UserError
from alignx.records import Record

META_SUFFIX = ".meta.json"
ROW_FIELDS = ("key", "record", "sample", "prompt", "response", "tokens")


class GenerationFileError(UserError):
    """A generation file or its sidecar that cannot be read, or that holds other settings."""


def record_key(record: Record, index: int) -> str:
    """sha256 (first 16 hex digits) of prompt, chosen, rejected and the record's index, joined by \\x1f."""
    text = "\x1f".join((record.prompt, record.chosen, record.rejected, str(index)))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def settings_hash(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def meta_path(path: str | os.PathLike) -> Path:
    return Path(str(path) + META_SUFFIX)


def make_meta(settings: dict[str, Any], data: str, split: str | None) -> dict[str, Any]:
    return {"settings": settings, "data": data, "split": split, "settings_hash": settings_hash(settings)}


def read_meta(path: str | os.PathLike) -> dict[str, Any]:
    """The sidecar of the generation file `path`; GenerationFileError when missing or unreadable."""
    meta_file = meta_path(path)
    if not meta_file.is_file():
        raise GenerationFileError(f"{path}: no settings sidecar {meta_file.name}; was it written by alignx generate?")
    try:
        meta = json.loads(meta_file.read_text())
    except (OSError, ValueError) as e:
        raise GenerationFileError(f"{meta_file}: not readable JSON ({e})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("settings"), dict) or "settings_hash" not in meta:
        raise GenerationFileError(f"{meta_file}: lacks 'settings' or 'settings_hash'")
    return meta


def parse_row(line: str, where: str) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except ValueError as e:
        raise GenerationFileError(f"{where}: not JSON ({e})") from None
    if not isinstance(row, dict):
        raise GenerationFileError(f"{where}: not a JSON object")
    missing = [name for name in ROW_FIELDS if name not in row]
    if missing:
        raise GenerationFileError(f"{where}: lacks {', '.join(missing)}")
    return row


def read_generations(path: str | os.PathLike) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(sidecar, rows) of a generation file; GenerationFileError naming the file and line of a bad line."""
    meta = read_meta(path)
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise GenerationFileError(f"{path}: no such generation file") from None
    rows = [parse_row(line, f"{path}: line {n}") for n, line in enumerate(lines, 1) if line.strip()]
    return meta, rows


def _describe_change(old: dict[str, Any], new: dict[str, Any]) -> str:
    changed = [f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    return ", ".join(changed[:4]) + (", ..." if len(changed) > 4 else "")


class GenerationWriter:
    """Appends rows to OUT, resuming what is there: `done` holds the (key, sample) already written.

    Opening checks the sidecar (other settings or data: GenerationFileError unless `overwrite`), cuts a
    torn last line, then writes the sidecar (atomically) before any row.
    """

    def __init__(self, path: str | os.PathLike, meta: dict[str, Any], *, overwrite: bool = False):
        self.path = Path(path)
        self.meta = meta
        self.done: set[tuple[str, int]] = set()
        self.resumed = 0
        exists = self.path.exists() and self.path.stat().st_size > 0
        if exists and not overwrite:
            self._check_sidecar()
            self._resume()
        elif overwrite:
            self.path.unlink(missing_ok=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_json(meta_path(self.path), meta, indent=2)
        self._file = open(self.path, "ab")  # noqa: SIM115  (closed by close())

    def _check_sidecar(self) -> None:
        fix = "pass --overwrite to start it over, or choose another --output"
        if not meta_path(self.path).is_file():
            raise GenerationFileError(f"{self.path} exists without its settings sidecar {meta_path(self.path).name}; "
                                      f"{fix}")
        old = read_meta(self.path)
        if old["settings_hash"] != self.meta["settings_hash"] or old.get("settings") != self.meta["settings"]:
            raise GenerationFileError(f"{self.path} holds generations with other settings "
                                      f"({_describe_change(old['settings'], self.meta['settings'])}); {fix}")
        for name in ("data", "split"):
            if old.get(name) != self.meta.get(name):
                raise GenerationFileError(f"{self.path} holds generations of {name} {old.get(name)!r}, not "
                                          f"{self.meta.get(name)!r}; {fix}")

    def _resume(self) -> None:
        """Read the rows already written; cut a torn last line (no newline, or not a whole row)."""
        data = self.path.read_bytes()
        keep = len(data)
        if not data.endswith(b"\n"):
            keep = data.rfind(b"\n") + 1  # the partial line a kill left
        lines = data[:keep].split(b"\n")[:-1]
        for n, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            try:
                row = parse_row(raw.decode("utf-8"), f"{self.path}: line {n}")
            except (GenerationFileError, UnicodeDecodeError):
                if n == len(lines):  # a torn last line that happened to end in a newline byte
                    keep -= len(raw) + 1
                    break
                raise
            self.done.add((row["key"], int(row["sample"])))
        if keep < len(data):
            with open(self.path, "r+b") as f:
                f.truncate(keep)
                f.flush()
                os.fsync(f.fileno())
        self.resumed = len(self.done)

    def write(self, row: dict[str, Any]) -> bool:
        """Append `row` (flushed and fsynced); False, writing nothing, when its (key, sample) is already there."""
        ident = (row["key"], int(row["sample"]))
        if ident in self.done:
            return False
        self._file.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
        self._file.flush()
        os.fsync(self._file.fileno())
        self.done.add(ident)
        return True

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> GenerationWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
