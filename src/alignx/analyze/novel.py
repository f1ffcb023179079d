"""Generalisation to unseen preference dimensions: split the 90 dimensions into seen and unseen (named, drawn,
or read from a model trained with `alignx train --exclude-dimensions`) and compare accuracy on records whose
target direction touches an unseen dimension with records touching only seen ones."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from alignx.analyze.common import Checkpoints, load_evaluator, load_records, title
from alignx.analyze.config import NovelConfig
from alignx.errors import OptionError
from alignx.eval.evaluator import Evaluator
from alignx.eval.stats import summary
from alignx.models import TRAINING_CONFIG
from alignx.records import Record
from alignx.space import dimension, touches

NAME = "novel"
GROUPS = ("unseen", "seen")


def used_dimensions(records: list[Record]) -> list[int]:
    """Dimensions on which at least one record's target direction is non-neutral."""
    return sorted({d for r in records if r.direction is not None for d, v in enumerate(r.direction) if v != 0.5})


def unseen_dimensions(config: NovelConfig, records: list[Record]) -> tuple[tuple[int, ...], str]:
    """The unseen set and where it came from: --unseen, a --unseen-fraction draw among the used dimensions, or
    the --exclude-dimensions a trained model recorded in its alignx_training.json."""
    if config.unseen is not None:
        return tuple(int(i) for i in config.unseen.split(",")), "--unseen"
    if config.unseen_fraction is not None:
        used = used_dimensions(records)
        if len(used) < 2:
            raise OptionError(f"--unseen-fraction: the target directions of {config.data} use {len(used)} "
                              "dimension(s); a seen / unseen split needs at least 2")
        count = min(len(used) - 1, max(1, round(config.unseen_fraction * len(used))))
        drawn = random.Random(f"alignx-novel:{config.seed}").sample(used, count)
        return tuple(sorted(drawn)), f"--unseen-fraction {config.unseen_fraction} of {len(used)} used dimensions"
    saved = Path(config.model).expanduser() / TRAINING_CONFIG
    excluded = json.loads(saved.read_text()).get("config", {}).get("exclude_dimensions") if saved.is_file() else None
    if not excluded:
        raise OptionError("pass --unseen DIMENSIONS or --unseen-fraction F: --model records no "
                          "--exclude-dimensions (only a model trained by alignx train with it does)")
    return tuple(int(i) for i in str(excluded).split(",")), f"{saved} (--exclude-dimensions)"


def group(record: Record, unseen: tuple[int, ...]) -> str | None:
    """'unseen' when the target direction touches an unseen dimension, 'seen' when it is non-neutral on seen
    dimensions only, None when it has no direction or an all-neutral one (such records are left out)."""
    if record.direction is None or all(v == 0.5 for v in record.direction):
        return None
    return "unseen" if touches(record.direction, unseen) else "seen"


def run_novel(config: NovelConfig, evaluator: Evaluator | None = None) -> dict[str, Any]:
    records = load_records(config)
    unseen, origin = unseen_dimensions(config, records)
    labels = [group(r, unseen) for r in records]
    kept = [i for i, label in enumerate(labels) if label is not None]
    if not kept:
        raise OptionError(f"{config.data}: no record has a target 'Preference Direction' with a non-neutral "
                          "dimension; the novel-dimension analysis needs them")
    evaluator = evaluator or load_evaluator(config)
    settings = config.eval_settings(config.persona, config.prompt)
    provenance = {"data": config.data, "split": config.split, "limit": config.limit, "dtype": config.dtype}
    rows = Checkpoints(evaluator, config, NAME).run([records[i] for i in kept], settings, source=config.data,
                                                    provenance=provenance)
    correct = {i: row["correct"] for i, row in zip(kept, rows, strict=True)}
    groups = {}
    for name in GROUPS:
        members = [i for i in kept if labels[i] == name]
        stats = summary([float(correct[i]) for i in members], config.bootstrap, config.seed)
        groups[name] = {"accuracy": stats["mean"], "ci95": stats["ci95"], "n": len(members), "records": members}
    return {
        "analysis": "novel",
        "settings": {**config.provenance(), "model": evaluator.policy.name, "persona": settings.persona,
                     "prompt": settings.prompt, "unseen_fraction": config.unseen_fraction},
        "unseen": [{"index": d, "positive": dimension(d).positive, "negative": dimension(d).negative}
                   for d in unseen],
        "unseen_from": origin,
        "records": len(records),
        "left_out": len(records) - len(kept),  # no target direction, or an all-neutral one
        "groups": groups,
        "title": title(config),
    }
