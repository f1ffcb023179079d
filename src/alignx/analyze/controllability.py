"""Controllability of the profile (PBA): for every dimension d on which a record's target direction is
non-neutral (one case each), show the record's profile with d set to the target's pole (aligned), to the
opposite pole (flipped) and to neutral (removed), and measure how the margin m = r(chosen) − r(rejected)
moves. Definitions: docs/analysis.md."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from alignx.analyze.common import Checkpoints, load_evaluator, load_records, margin, title
from alignx.analyze.config import ControllabilityConfig
from alignx.errors import OptionError, UserError, record_prefix
from alignx.eval.evaluator import Evaluator
from alignx.eval.rewards import get as get_reward
from alignx.eval.stats import summary
from alignx.personas import Persona
from alignx.records import Record
from alignx.space import N_DIMENSIONS, aggregate, dimension, parse_profile, render_direction, render_means

NAME = "controllability"
NEUTRAL = 0.5


@dataclass(frozen=True)
class Case:
    index: int  # the record's position
    dimension: int
    pole: float  # the target's value on the dimension: 1 (positive pole) or 0 (negative)
    aligned: str  # the three profile texts shown
    flipped: str
    removed: str | None  # None when d's label was the only one (see `edited_profile`)


def base_means(record: Record) -> np.ndarray:
    """The (90,) profile means the record's PROFILE persona shows: a supplied `profile` (parsed) wins over
    the mean of the history items' directions; all neutral when there is neither."""
    if record.profile:
        return np.asarray(parse_profile(record.profile), dtype=np.float32)
    directions = [item.direction for item in record.ugc + record.pairs if item.direction is not None]
    return aggregate(directions).means if directions else np.full(N_DIMENSIONS, NEUTRAL, dtype=np.float32)


def edited_profile(means: np.ndarray, d: int, value: float) -> str | None:
    """Profile text of `means` with dimension d set to `value`. At a pole (1 or 0) this is the released
    rendering (thresholds 0.6 / 0.4; d's label guarantees no fallback). Neutral means the same labels as at
    a pole less d's: rendering the means with d neutral could trigger the released fallback and bring in
    other dimensions' labels, and the variants must differ in d alone. None when d's label was the only one."""
    edited = np.array(means, dtype=np.float32)
    edited[d] = value if value != NEUTRAL else 1.0
    text = render_means(edited)
    if value != NEUTRAL:
        return text
    shown = list(parse_profile(text))
    shown[d] = NEUTRAL
    return render_direction(shown) if any(v != NEUTRAL for v in shown) else None


def cases(records: list[Record], source: str = "data") -> list[Case]:
    """One case per (record, non-neutral dimension of its target direction), in record then dimension order."""
    out = []
    for i, record in enumerate(records):
        if record.direction is None:
            continue
        try:
            means = base_means(record)
        except UserError as e:
            raise UserError(f"{record_prefix(source, i + 1)}: field profile: {e}") from None
        for d, pole in enumerate(record.direction):
            if pole != NEUTRAL:
                out.append(Case(i, d, pole, edited_profile(means, d, pole), edited_profile(means, d, 1.0 - pole),
                                edited_profile(means, d, NEUTRAL)))
    return out


def run_controllability(config: ControllabilityConfig, evaluator: Evaluator | None = None) -> dict[str, Any]:
    records = load_records(config)
    found = cases(records, config.data)
    if not found:
        raise OptionError(f"{config.data}: no record has a target 'Preference Direction' with a non-neutral "
                          "dimension; controllability needs them")
    evaluator = evaluator or load_evaluator(config)
    saved = Checkpoints(evaluator, config, NAME)
    settings = config.eval_settings("profile")
    provenance = {"data": config.data, "split": config.split, "limit": config.limit, "dtype": config.dtype}

    def margins(texts: list[tuple[int, str]]) -> list[float]:
        shown = [dataclasses.replace(records[i], profile=text) for i, text in texts]
        return [margin(row) for row in saved.run(shown, settings, source=config.data, provenance=provenance)]

    aligned = margins([(c.index, c.aligned) for c in found])
    flipped = margins([(c.index, c.flipped) for c in found])
    removed: list[float | None] = [None] * len(found)
    kept = [j for j, c in enumerate(found) if c.removed is not None]
    for j, m in zip(kept, margins([(found[j].index, found[j].removed) for j in kept]), strict=True):
        removed[j] = m
    emptied = [j for j, c in enumerate(found) if c.removed is None]
    for j, m in zip(emptied, universal_margins([records[found[j].index] for j in emptied], config, saved,
                                               provenance), strict=True):
        removed[j] = m
    rows = [{"index": c.index, "dimension": c.dimension, "pole": c.pole, "aligned": c.aligned, "flipped": c.flipped,
             "removed": c.removed, "m_aligned": a, "m_flipped": f, "m_removed": r}
            for c, a, f, r in zip(found, aligned, flipped, removed, strict=True)]
    by_dimension = {}
    for d in sorted({c.dimension for c in found}):
        dim = dimension(d)
        by_dimension[str(d)] = {"positive": dim.positive, "negative": dim.negative,
                                **metrics([r for r in rows if r["dimension"] == d], config)}
    return {
        "analysis": "controllability",
        "settings": {**config.provenance(), "model": evaluator.policy.name, "persona": "profile",
                     "prompt": settings.prompt},
        "records": len(records),
        "records_with_cases": len({c.index for c in found}),
        "overall": metrics(rows, config),
        "dimensions": by_dimension,
        "cases": rows,
        "title": title(config),
    }


def universal_margins(records: list[Record], config: ControllabilityConfig, saved: Checkpoints,
                      provenance: dict[str, Any]) -> list[float | None]:
    """Margins when removing d leaves no label: the model is told nothing, the universal prompt. Under persona
    lift (reference none) the reward compares that prompt with itself, so the margin is exactly 0; a reward
    that needs a persona (the zero-training ones) has none (None)."""
    if not records:
        return []
    if Persona.NONE not in get_reward(config.reward).personas:
        return [None] * len(records)
    if config.reference == "none":
        return [0.0] * len(records)
    rows = saved.run(records, config.eval_settings("none"), source=config.data, provenance=provenance)
    return [margin(row) for row in rows]


def metrics(rows: list[dict[str, Any]], config: ControllabilityConfig) -> dict[str, Any]:
    """moved: m_flipped < m_aligned; reversed: m_flipped < 0 among m_aligned > 0; Δm of the flipped and removed
    variants against the aligned one; aligned_accuracy: m_aligned > 0. Each a mean with its interval."""
    reversible = [r for r in rows if r["m_aligned"] > 0]
    with_removed = [r for r in rows if r["m_removed"] is not None]

    def stat(values: list[float]) -> dict[str, Any]:
        return summary(values, config.bootstrap, config.seed)

    return {
        "cases": len(rows),
        "moved": stat([float(r["m_flipped"] < r["m_aligned"]) for r in rows]),
        "reversed": stat([float(r["m_flipped"] < 0) for r in reversible]),
        "delta_flipped": stat([r["m_flipped"] - r["m_aligned"] for r in rows]),
        "delta_removed": stat([r["m_removed"] - r["m_aligned"] for r in with_removed]),
        "aligned_accuracy": stat([float(r["m_aligned"] > 0) for r in rows]),
    }
