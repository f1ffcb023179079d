"""What a command does with an output that is already there (docs/cli.md, "Conventions").

A command whose work is saved as it goes resumes it (generate, report, train --resume) and checks that the
output was made with the same settings; every other command refuses to start unless `--overwrite`, so no
finished result is ever replaced silently, and refuses before it loads a model, not after the work.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from alignx.errors import OptionError


def refuse_existing(paths: str | os.PathLike | Iterable[str | os.PathLike], overwrite: bool, *,
                    option: str = "--output") -> None:
    """OptionError naming the first of `paths` that exists, unless `overwrite`; `option` is what names it."""
    if overwrite:
        return
    for path in [paths] if isinstance(paths, str | os.PathLike) else paths:
        if Path(path).exists():
            raise OptionError(f"{option} {path} exists; pass --overwrite to replace it, or choose another {option}")
