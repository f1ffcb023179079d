"""Accuracy against the number of history items shown (k = 0..4): UGC only, PAIR only, and both (k of each).
Each record gets seeded random orders of its items (per draw); the point (series, k) shows the first k, so
a larger k extends a smaller one. k = 0 is the universal prompt (see `k0_settings` and docs/analysis.md)."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from alignx.analyze.common import Checkpoints, load_evaluator, load_records, margin, title
from alignx.analyze.config import HistoryReading, HistorySizeConfig
from alignx.eval.evaluator import Evaluator
from alignx.eval.rewards import get as get_reward
from alignx.eval.settings import EvalSettings
from alignx.eval.stats import summary
from alignx.personas import MAX_HISTORY_ITEMS, Persona
from alignx.records import Record

NAME = "history_size"
SERIES = ("ugc", "pair", "both")
SIZES = tuple(range(MAX_HISTORY_ITEMS + 1))


def usable(record: Record, reading: HistoryReading) -> tuple[list[int], list[int]]:
    """Positions of the UGC and PAIR items that may be shown: all of them, or for the profile reading those
    carrying a direction (the profile is rendered from directions)."""
    every = reading is HistoryReading.HISTORY
    return ([i for i, c in enumerate(record.ugc) if every or c.direction is not None],
            [i for i, p in enumerate(record.pairs) if every or p.direction is not None])


def draw_orders(record: Record, position: int, *, seed: int, draw: int,
                reading: HistoryReading = HistoryReading.HISTORY) -> tuple[list[int], list[int]]:
    """The random order of record `position`'s UGC and PAIR items in draw `draw`: a string seed (hashed
    with SHA-512 by `random`) of the seed, position and draw alone, so no result depends on read order."""
    rng = random.Random(f"alignx-history-size:{seed}:{position}:{draw}")
    ugc, pairs = usable(record, reading)
    return rng.sample(ugc, len(ugc)), rng.sample(pairs, len(pairs))


def shown(orders: tuple[list[int], list[int]], series: str, k: int) -> tuple[list[int], list[int]]:
    """The UGC and PAIR positions point (series, k) shows: the first k of each order the series uses
    (all a record has when it has fewer than k)."""
    ugc, pairs = orders
    return (ugc[:k] if series in ("ugc", "both") else [], pairs[:k] if series in ("pair", "both") else [])


def shown_record(record: Record, ugc: list[int], pairs: list[int]) -> Record:
    """A copy of `record` whose history is the shown items, with no DEMO text and no supplied profile (the
    profile persona then renders the shown items' directions)."""
    return dataclasses.replace(record, ugc=tuple(record.ugc[i] for i in ugc),
                               pairs=tuple(record.pairs[i] for i in pairs), demographic=None, profile=None)


def in_series(orders: tuple[list[int], list[int]], series: str) -> bool:
    """A record belongs to a series when it has at least one usable item of each kind the series shows."""
    ugc, pairs = orders
    return bool(ugc) if series == "ugc" else bool(pairs) if series == "pair" else bool(ugc and pairs)


def k0_settings(config: HistorySizeConfig) -> tuple[EvalSettings | None, str]:
    """How k = 0 is scored, and why. Nothing shown is the universal prompt (persona none). Under persona lift
    (--reference none) the reward compares that prompt with itself and every example would tie, so k = 0
    reports the universal baseline, log π(chosen) > log π(rejected) (reference raw); other references keep
    theirs. A reward undefined without a persona (the zero-training ones) leaves k = 0 undefined."""
    if Persona.NONE not in get_reward(config.reward).personas:
        return None, f"undefined: --reward {config.reward} needs a persona"
    if config.reference == "none":
        return (config.eval_settings("none", reference="raw"),
                "universal prompt, reference raw (persona lift would tie every example)")
    return config.eval_settings("none"), f"universal prompt, reference {config.reference}"


def run_history_size(config: HistorySizeConfig, evaluator: Evaluator | None = None) -> dict[str, Any]:
    """Score every point and return the report (settings, the k = 0 rule, 3 series of 5 points)."""
    records = load_records(config)
    evaluator = evaluator or load_evaluator(config)
    saved = Checkpoints(evaluator, config, NAME)
    provenance = {"data": config.data, "split": config.split, "limit": config.limit, "dtype": config.dtype}
    reading = config.reading
    orders = {(i, d): draw_orders(r, i, seed=config.seed, draw=d, reading=reading)
              for i, r in enumerate(records) for d in range(config.draws)}

    k0, k0_rule = k0_settings(config)
    k0_rows = None
    if k0 is not None:
        k0_rows = saved.run(records, k0, source=config.data, provenance=provenance)
    settings = config.eval_settings(reading.persona)
    series_out = {}
    for series in SERIES:
        members = [i for i in range(len(records)) if in_series(orders[i, 0], series)]
        points = [k0_point(members, k0_rows, config)]
        for k in SIZES[1:]:
            cases = [(i, d, *shown(orders[i, d], series, k)) for i in members for d in range(config.draws)]
            rows = saved.run([shown_record(records[i], u, p) for i, _, u, p in cases], settings,
                             source=config.data, provenance=provenance) if cases else []
            points.append(point(k, cases, rows, config))
        series_out[series] = {"records": len(members), "points": points}
    return {
        "analysis": "history-size",
        "settings": {**config.provenance(), "model": evaluator.policy.name, "persona": config.persona,
                     "eval_persona": settings.persona, "prompt": settings.prompt, "draws": config.draws},
        "k0": k0_rule,
        "records": len(records),
        "series": series_out,
        "title": title(config),
    }


def k0_point(members: list[int], rows: list[dict] | None, config: HistorySizeConfig) -> dict[str, Any]:
    correct = [float(rows[i]["correct"]) for i in members] if rows is not None else []
    stats = summary(correct, config.bootstrap, config.seed) if rows is not None else \
        {"mean": None, "ci95": None, "n": len(members)}
    return {"k": 0, "accuracy": stats["mean"], "ci95": stats["ci95"], "n": len(members), "examples": len(correct),
            "mean_ugc_shown": 0.0, "mean_pair_shown": 0.0, "mean_items_shown": 0.0,
            "shown": [{"index": i, "draw": None, "ugc": [], "pairs": [],
                       "margin": margin(rows[i]) if rows is not None else None,
                       "correct": rows[i]["correct"] if rows is not None else None} for i in members]}


def point(k: int, cases: list[tuple], rows: list[dict], config: HistorySizeConfig) -> dict[str, Any]:
    """One (series, k) point: accuracy over records (each record's mean over its draws), its bootstrap
    interval over records, and how many items were actually shown on average."""
    per_record: dict[int, list[float]] = {}
    for (i, _, _, _), row in zip(cases, rows, strict=True):
        per_record.setdefault(i, []).append(float(row["correct"]))
    stats = summary([sum(v) / len(v) for v in per_record.values()], config.bootstrap, config.seed)
    n_ugc = [len(u) for _, _, u, _ in cases]
    n_pair = [len(p) for _, _, _, p in cases]
    return {"k": k, "accuracy": stats["mean"], "ci95": stats["ci95"], "n": len(per_record), "examples": len(rows),
            "mean_ugc_shown": _mean(n_ugc), "mean_pair_shown": _mean(n_pair),
            "mean_items_shown": _mean([a + b for a, b in zip(n_ugc, n_pair, strict=True)]),
            "shown": [{"index": i, "draw": d, "ugc": u, "pairs": p, "margin": margin(row), "correct": row["correct"]}
                      for (i, d, u, p), row in zip(cases, rows, strict=True)]}


def _mean(values: list[int]) -> float:
    return sum(values) / len(values) if values else 0.0
