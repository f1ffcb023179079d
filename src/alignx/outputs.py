"""What a command does with an output that is already there (docs/cli.md, "Conventions").

An output made by this very run, as the settings recorded in it say, is continued or found done: nothing
finished is computed again (`finished_report`). Anything else there is refused unless `--overwrite`
(`refuse_existing`, and `finished_report` for a report made otherwise), in one line, before a model loads:
no result is ever replaced silently.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from alignx.errors import OptionError


def refuse_existing(paths: str | os.PathLike | Iterable[str | os.PathLike], overwrite: bool, *,
                    option: str = "--output") -> None:
    """OptionError naming the first of `paths` that exists, unless `overwrite`; `option` is what names it."""
    if overwrite:
        return
    for path in [paths] if isinstance(paths, str | os.PathLike) else paths:
        if Path(path).exists():
            raise OptionError(f"{option} {path} exists; pass --overwrite to replace it, or choose another {option}")


def finished_report(path: str | os.PathLike, overwrite: bool, expected: dict[str, Any],
                    recorded: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any] | None:
    """The JSON report at `path` when `recorded(report)` equals `expected` (this run is done already); None
    when there is none, or with `overwrite`; OptionError when it was made otherwise or cannot be read."""
    path = Path(path)
    if overwrite or not path.exists():
        return None
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        same = recorded(report) == expected
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        same = False
    if not same:
        raise OptionError(f"--output {path} exists, made with other settings; pass --overwrite to replace it, or "
                          "choose another --output")
    return report
