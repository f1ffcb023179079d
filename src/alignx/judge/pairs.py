"""What is judged: pairs of responses to one post for one user, from two generation files or from the records'
own chosen / rejected responses (calibration), with the persona text the judge is shown.

Generation files follow the contract of `alignx generate`: JSONL, one line per (record, sample) with
{"key", "record", "sample", "prompt", "response", "tokens", "messages"} ("messages", the prompt the response
was generated from, is missing from files written before it was recorded), and a sidecar `FILE.meta.json` with
{"settings", "data", "split", "settings_hash"}.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alignx.errors import OptionError, UserError
from alignx.generate.files import read_generations
from alignx.held_out import held_out_view
from alignx.judge.copy_rate import row_copies
from alignx.personas import PersonaError, PersonaView, history_profile
from alignx.prompts import history_text
from alignx.records import Record
from alignx.space import render_direction

JUDGE_PERSONAS = ("auto", "profile", "pair", "ugc", "demo", "all", "held-out")
GROUND_TRUTH_FIELD = "ground_truth_persona"  # P-Soups records carry the persona they were written for
ROW_FIELDS = ("key", "record", "sample", "response")


@dataclass(frozen=True)
class Pair:
    """One post, one user, two responses: side a (file A, or the user's chosen) and side b."""

    key: str
    record: int
    sample: int
    post: str
    persona: str
    persona_source: str
    a: str
    b: str
    a_tokens: int | None = None
    b_tokens: int | None = None
    a_copies: bool | None = None  # does the answer copy its prompt (None: the row does not record its prompt)
    b_copies: bool | None = None
    direction: tuple[float, ...] | None = None  # the record's 'Preference Direction' (the user's poles)
    held_out: PersonaView | None = None  # the evidence `alignx generate --hold-out` keeps from the generator


def generation_pairs(path_a: str, path_b: str, persona: str, *, limit: int | None = None,
                     records: list[Record] | None = None) -> tuple[list[Pair], dict[str, Any]]:
    """The pairs of two generation files over the same records, matched by (key, sample), and what they were
    made from; UserError naming both files when they are not over the same records."""
    from alignx import registry

    meta_a, rows_a = read_generations(path_a)
    meta_b, rows_b = read_generations(path_b)
    for name in ("data", "split"):
        if meta_a.get(name) != meta_b.get(name):
            raise UserError(f"{path_a} and {path_b} were generated from different {name}: "
                            f"{meta_a.get(name)!r} vs {meta_b.get(name)!r}; judge files over the same records")
    by_a, by_b = _index(path_a, rows_a), _index(path_b, rows_b)
    if by_a.keys() != by_b.keys():
        only_a, only_b = sorted(by_a.keys() - by_b.keys()), sorted(by_b.keys() - by_a.keys())
        example = f"e.g. {only_a[0]} only in {path_a}" if only_a else f"e.g. {only_b[0]} only in {path_b}"
        raise UserError(f"{path_a} and {path_b} are not over the same records and samples: {len(only_a)} (key, "
                        f"sample) only in the first, {len(only_b)} only in the second ({example})")
    if records is None:
        records = registry.load(meta_a["data"], meta_a.get("split"))
    keys = sorted(by_a, key=lambda k: (by_a[k]["record"], k[1]))
    if limit is not None:
        chosen = sorted({by_a[k]["record"] for k in keys})[:limit]
        keys = [k for k in keys if by_a[k]["record"] in set(chosen)]
    pairs = []
    for k in keys:
        row_a, row_b = by_a[k], by_b[k]
        if row_a["record"] != row_b["record"]:
            raise UserError(f"{path_a} and {path_b}: key {k[0]} is record {row_a['record']} in one and "
                            f"{row_b['record']} in the other")
        index = row_a["record"]
        if not isinstance(index, int) or not 0 <= index < len(records):
            raise UserError(f"{path_a}: key {k[0]}: record {index} is not in {meta_a['data']} "
                            f"({len(records)} records); was the data changed since generating?")
        source, text = persona_text(records[index], persona, where=f"{meta_a['data']}: record {index + 1}")
        pairs.append(Pair(key=k[0], record=index, sample=k[1], post=records[index].prompt, persona=text,
                          persona_source=source, a=row_a["response"], b=row_b["response"],
                          a_tokens=row_a.get("tokens"), b_tokens=row_b.get("tokens"),
                          a_copies=row_copies(row_a), b_copies=row_copies(row_b),
                          direction=records[index].direction, held_out=held_out_view(records[index])))
    about = {"data": meta_a["data"], "split": meta_a.get("split"),
             "a": _about(path_a, meta_a), "b": _about(path_b, meta_b)}
    return pairs, about


def _about(path: str, meta: dict[str, Any]) -> dict[str, Any]:
    return {"file": str(path), "settings": meta.get("settings"), "settings_hash": meta.get("settings_hash")}


def _index(path: str, rows: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for row in rows:
        k = (str(row["key"]), int(row["sample"]))
        if k in out:
            raise UserError(f"{path}: key {k[0]} sample {k[1]} appears twice")
        out[k] = row
    return out


def calibration_pairs(records: list[Record], persona: str, *, data: str) -> list[Pair]:
    """The records' own choices: side a is the user's chosen response, side b the rejected one."""
    pairs = []
    for index, record in enumerate(records):
        source, text = persona_text(record, persona, where=f"{data}: record {index + 1}")
        pairs.append(Pair(key=f"record-{index}", record=index, sample=0, post=record.prompt, persona=text,
                          persona_source=source, a=record.chosen, b=record.rejected,
                          held_out=held_out_view(record)))
    return pairs


def persona_text(record: Record, persona: str, *, where: str = "record") -> tuple[str, str]:
    """(where the text came from, the text the judge reads about the user) for `--judge-persona`.

    profile: the record's ground truth first (a P-Soups `ground_truth_persona`, else the record's own
    'Preference Direction' as profile text), then a supplied `profile`, then the profile of the history's
    directions. auto: profile when the record has one, else the PAIR history. held-out: only the evidence
    `alignx generate --hold-out` kept from the generator (`alignx.held_out`), what the reward judge reads."""
    if persona not in JUDGE_PERSONAS:
        raise OptionError(f"unknown --judge-persona {persona!r}; choose one of {', '.join(JUDGE_PERSONAS)}")
    try:
        if persona in ("auto", "profile"):
            try:
                return _profile(record)
            except PersonaError:
                if persona == "profile":
                    raise
            if record.pairs:
                return "pair", history_text(PersonaView(pairs=record.pairs)).strip()
            raise PersonaError("it has no ground-truth persona, no direction or profile and no PAIR history; choose "
                               "--judge-persona ugc, demo or all")
        view = {"pair": PersonaView(pairs=record.pairs), "ugc": PersonaView(ugc=record.ugc),
                "demo": PersonaView(demographic=record.demographic), "held-out": held_out_view(record),
                "all": PersonaView(ugc=record.ugc, pairs=record.pairs, demographic=record.demographic)}[persona]
        if view.is_empty:
            raise PersonaError(f"it has no {persona} persona")
        return persona, history_text(view).strip()
    except PersonaError as e:
        raise PersonaError(f"{where}: --judge-persona {persona}: {e}") from None


def _profile(record: Record) -> tuple[str, str]:
    truth = record.extra.get(GROUND_TRUTH_FIELD)
    if isinstance(truth, str) and truth.strip():
        return "ground truth", truth.strip()
    if record.direction is not None and any(v != 0.5 for v in record.direction):
        return "direction", f"This user's preferences: {render_direction(record.direction)}."
    if record.profile:
        return "profile", f"This user's preferences: {record.profile}"
    text = history_profile(record.ugc + record.pairs)
    if text is None:
        raise PersonaError("it has no ground-truth persona, non-neutral 'Preference Direction', 'profile' or "
                           "history directions")
    return "history profile", f"This user's preferences: {text}."
