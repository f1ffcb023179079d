"""How `alignx annotate` continues its --output: the file keeps the directions already filled, its sidecar
OUTPUT.meta.json the settings it was made with. A rerun with the same settings reads the output instead of
--data and asks only for what is still missing (the items that failed); one with other settings, or an output
this command did not write, is refused unless --overwrite. An interrupted run writes no output: its answers are
in the answer cache, so the rerun asks nothing twice either."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from alignx.atomic import write_json
from alignx.errors import OptionError

META_SUFFIX = ".meta.json"  # as alignx generate's sidecar


def meta_path(output: str | Path) -> Path:
    return Path(str(output) + META_SUFFIX)


def run_settings(config: Any) -> dict[str, Any]:
    """What the output depends on: the records read and who filled them."""
    return {"data": config.data, "split": config.split, "limit": config.limit, "annotator": config.annotator,
            "annotator_url": config.annotator_url, "reannotate": config.reannotate, "describe": config.describe}


def resume_from(config: Any) -> str | None:
    """The existing --output to continue from; None to start from --data (no output, or --overwrite, or
    --reannotate, which asks every item again: the cache keeps that from costing twice)."""
    output = Path(config.output)
    if config.overwrite or not output.exists():
        return None
    meta = meta_path(output)
    saved = json.loads(meta.read_text()) if meta.is_file() else None
    if saved != run_settings(config):
        why = "with other settings" if saved is not None else f"without its sidecar {meta.name}"
        raise OptionError(f"--output {output} exists, written {why}; pass --overwrite to replace it, or choose "
                          "another --output")
    return None if config.reannotate else str(output)


def write_meta(config: Any) -> None:
    write_json(meta_path(config.output), run_settings(config), indent=2)
