"""`atomic_write`: a file or folder appears whole under its name or not at all.

A failed run leaves an existing target untouched (the released scripts appended to their outputs,
so a rerun duplicated rows; we never do). Every writer in alignx goes through this one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any


def write_json(path: str | os.PathLike, value: Any, *, indent: int = 1) -> None:
    """`value` as UTF-8 JSON (non-ASCII characters as they are) at `path`, through `atomic_write`."""
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(value, ensure_ascii=False, indent=indent) + "\n", encoding="utf-8")


def _umask() -> int:
    mask = os.umask(0)  # the only way to read it; set straight back
    os.umask(mask)
    return mask


def _publish_mode(tmp: Path, target: Path, directory: bool) -> None:
    """The mode a plain open() or mkdir() would have given: the old target's, else the default less the
    umask (mkstemp and mkdtemp create 0600 / 0700, which would hide reports from the rest of a team)."""
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = (0o777 if directory else 0o666) & ~_umask()
    tmp.chmod(mode)


class atomic_write:
    """Context manager yielding a temporary path beside `target` (a file, or with `directory=True` a
    folder), renamed over `target` when the block succeeds and removed when it fails."""

    def __init__(self, target: str | os.PathLike, *, directory: bool = False):
        self.target = Path(target)
        self.directory = directory

    def __enter__(self) -> Path:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        if self.directory:
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.", dir=self.target.parent))
        else:
            fd, name = tempfile.mkstemp(prefix=f".{self.target.name}.", dir=self.target.parent)
            os.close(fd)
            self.tmp = Path(name)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            _publish_mode(self.tmp, self.target, self.directory)
            if self.directory and self.target.is_dir() and not self.target.is_symlink():
                # os.replace cannot put a folder over a non-empty one: move the old one aside first, then
                # drop it; the target is missing only between two renames.
                old = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.old.", dir=self.target.parent))
                os.replace(self.target, old / self.target.name)
                try:
                    os.replace(self.tmp, self.target)
                except BaseException:
                    os.replace(old / self.target.name, self.target)
                    raise
                shutil.rmtree(old, ignore_errors=True)
                return
            os.replace(self.tmp, self.target)
        elif self.directory:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            self.tmp.unlink(missing_ok=True)
