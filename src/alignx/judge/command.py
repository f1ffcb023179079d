"""`alignx judge --a A.jsonl --b B.jsonl --judge SPEC`: which generation file's responses the judge prefers for each
user; `alignx judge --calibrate --data DATA --judge SPEC`: how often that judge agrees with the users' own choices.

Every ordered judgment is cached (identity of the judge + hash of the chat sent), so a rerun asks nothing;
a calibration is stored under the judge's identity too, and every win-rate report of that judge carries it.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignx.errors import OptionError
from alignx.judge.backends import split_judge_spec
from alignx.judge.pairs import JUDGE_PERSONAS, Pair
from alignx.judge.prompt import content_key, judge_messages
from alignx.judge.verdicts import ORDERS, Summary, combine, side_of, summarize
from alignx.models import DTYPES
from alignx.openai_server import DEFAULT_KEY_ENV
from alignx.options import check_options

CALIBRATIONS_KEY = "calibrations"  # cache key (under the judge's identity) of its stored calibrations
# Options that change how a run goes, not what its report says; the report records the others ("options").
RUN_ONLY = ("output", "overwrite", "progress", "cache", "workers", "retries", "timeout", "batch_size", "device",
            "judge_key_env")


@dataclass(kw_only=True)
class JudgeConfig:
    a: str | None = field(default=None, metadata={"help": "Generation file A (.jsonl from `alignx generate`); "
                                                  "leave out with --calibrate."})
    b: str | None = field(default=None, metadata={"help": "Generation file B, over the same records as A."})
    judge: str = field(default="local:default", metadata={
        "help": "openai:MODEL (an OpenAI-compatible server, see --judge-url), local:SPEC (an alignx model spec: "
                "default, a hub id, a folder) or reward:SPEC (that model's zero-shot reward of the evidence held out "
                "from the generator, see alignx generate --hold-out)."})
    judge_url: str | None = field(default=None, metadata={
        "help": "Base URL of the OpenAI-compatible server of openai:MODEL, e.g. http://127.0.0.1:8080/v1.",
        "default_text": "the OpenAI API"})
    judge_key_env: str = field(default=DEFAULT_KEY_ENV, metadata={
        "help": "Environment variable holding the openai judge's API key."})
    judge_persona: str = field(default="auto", metadata={"choices": JUDGE_PERSONAS,
        "help": "What the judge reads about the user: auto (the ground-truth persona or profile when the record "
                "has one, else the PAIR history) | profile | pair | ugc | demo | all | held-out (only what alignx "
                "generate --hold-out kept from the generator, as reward:SPEC reads)."})
    calibrate: bool = field(default=False, metadata={
        "help": "Judge --data's own chosen / rejected pairs instead (both orders): the judge's agreement with the "
                "users."})
    data: str | None = field(default=None, metadata={
        "help": "With --calibrate: demo, a benchmark, a file, a folder or a hub dataset id."})
    split: str | None = field(default=None, metadata={"help": "Split of --data.", "default_text": "test"})
    limit: int | None = field(default=None, metadata={"help": "The first N records only.", "default_text": "all",
                                                      "min": 1})
    output: str | None = field(default=None, metadata={"short": "-o", "help": "JSON report with every judgment "
                                                       "(written atomically)."})
    overwrite: bool = field(default=False, metadata={
        "help": "Replace an existing --output report (without it, one made with the same options is resumed: "
                "what it judged comes from the cache)."})
    cache: str | None = field(default=None, metadata={
        "help": "SQLite file of judgments already made (reruns ask nothing again).",
        "default_text": "annotations.sqlite in the user cache folder, or $ALIGNX_ANNOTATION_CACHE"})
    workers: int = field(default=8, metadata={"min": 1, "help": "Concurrent requests of the openai judge."})
    retries: int = field(default=2, metadata={"min": 0,
        "help": "openai: retries of a request after a 429/5xx/timeout, and re-asks of an answer that is not A, B "
                "or tie."})
    timeout: float = field(default=60.0, metadata={"above": 0, "help": "Seconds per openai request."})
    batch_size: int = field(default=8, metadata={"min": 1, "help": "local: prompts per forward pass."})
    device: str | None = field(default=None, metadata={"help": "local: torch device.",
                                                       "default_text": "cuda if any, else cpu"})
    dtype: str | None = field(default=None, metadata={"choices": tuple(DTYPES), "help": "local: fp32 | bf16 | fp16.",
                                                      "default_text": "bf16 on GPUs that have it, else fp32"})
    bootstrap: int = field(default=1000, metadata={"min": 0, "help": "Bootstrap rounds of the 95% interval."})
    seed: int = field(default=0, metadata={"help": "Seed of the bootstrap."})
    progress: bool = field(default=True, metadata={"help": "Show a progress bar."})

    def __post_init__(self) -> None:
        check_options(self)
        split_judge_spec(self.judge)
        if self.calibrate and (self.a or self.b):
            raise OptionError("--calibrate judges --data's own pairs; leave out the generation files --a and --b")
        if self.calibrate and self.data is None:
            raise OptionError("--calibrate judges the pairs of --data; pass --data DATA")
        if not self.calibrate and self.data is not None:
            raise OptionError("--data is read by --calibrate; pass --calibrate, or --a and --b to compare generations")
        if not self.calibrate and not (self.a and self.b):
            raise OptionError("give two generation files --a A --b B to compare, or --calibrate --data DATA")
        if not self.calibrate and self.split is not None:
            raise OptionError("--split is for --calibrate --data DATA; generation files name their own data and split")
        if self.judge_url is not None and not self.judge_url.startswith(("http://", "https://")):
            raise OptionError(f"--judge-url {self.judge_url!r} must be an http(s) URL such as http://127.0.0.1:8080/v1")


def run_judge(config: JudgeConfig) -> dict[str, Any]:
    """Pairwise judgments of two generation files over the same records (each pair in both orders; a verdict that
    flips with the order is a tie), or with --calibrate the judge's agreement with the users' own choices."""
    from rich.console import Console

    from alignx.atomic import write_json
    from alignx.outputs import finished_report

    options = {k: v for k, v in dataclasses.asdict(config).items() if k not in RUN_ONLY}
    if config.output and finished_report(config.output, config.overwrite, options, lambda r: r["options"]):
        print(f"resuming {config.output}: the judgments it holds come from the cache; only the rest are asked",
              file=sys.stderr)
    report = {**judge(config), "options": options}
    held_out_judge = config.judge.startswith("reward:") and not config.calibrate
    for side in ("a", "b") if held_out_judge else ():
        settings = report[side]["settings"] or {}
        if settings.get("persona", "none") != "none" and not settings.get("hold_out"):
            print(f"note: {report[side]['file']} was generated without --hold-out: its generator saw the evidence "
                  "this judge reads, so copying it is rewarded", file=sys.stderr)
    table = report_table(report)
    console = Console()
    console.print(table.title, soft_wrap=True)  # title and note in full lines; the table itself is narrow
    table.title, note = None, table.caption
    table.caption = None
    console.print(table)
    console.print(note, soft_wrap=True)
    if config.output:
        write_json(config.output, report)
        print(f"report: {config.output}")
    return report


def judge(config: JudgeConfig, judge_backend: Any = None) -> dict[str, Any]:
    """The report of one run (what `--output` writes); `judge_backend` replaces loading `config.judge`."""
    from alignx import registry
    from alignx.answer_cache import AnswerCache
    from alignx.judge.backends import load_judge
    from alignx.judge.pairs import calibration_pairs, generation_pairs
    from alignx.judge.reward_judge import RewardJudge, reward_judgments

    if config.calibrate:
        records = registry.load(config.data, config.split, config.limit)
        pairs = calibration_pairs(records, config.judge_persona, data=config.data)
        about: dict[str, Any] = {"data": config.data, "split": config.split,
                                 "data_key": registry.data_key(config.data, config.split)}
    else:
        pairs, about = generation_pairs(config.a, config.b, config.judge_persona, limit=config.limit)
    kind, model = split_judge_spec(config.judge)
    if judge_backend is not None:
        backend = judge_backend
    elif kind == "reward":
        backend = RewardJudge(model, spec=config.judge, device=config.device, dtype=config.dtype,
                              batch_size=config.batch_size, progress=config.progress)
    else:
        backend = load_judge(config.judge, url=config.judge_url, key_env=config.judge_key_env,
                             workers=config.workers, timeout=config.timeout, retries=config.retries,
                             device=config.device, dtype=config.dtype, batch_size=config.batch_size)
    start = time.perf_counter()
    try:
        with AnswerCache(config.cache) as cache:
            if isinstance(backend, RewardJudge):
                judgments, cached = reward_judgments(backend, pairs, cache)
            else:
                judgments, cached = _judge_all(backend, pairs, cache, progress=config.progress)
            identity = backend.identity
            summary = _summary(pairs, judgments, config)
            mode = "calibration" if config.calibrate else "pairwise"
            report: dict[str, Any] = {
                "mode": mode,
                "judge": {"spec": config.judge, "identity": identity,
                          "persona": "held-out evidence" if kind == "reward" else config.judge_persona},
                **about, "limit": config.limit,
                "summary": summary.to_dict(),
                "timing": {"seconds": round(time.perf_counter() - start, 3), "cached": cached,
                           "asked": 2 * len(pairs) - cached, **dict(backend.stats)},
            }
            if mode == "calibration":
                _store_calibration(cache, identity, report)
            else:
                report["copy_rate"] = _copy_rates(pairs, config)
                report["attributes"] = _attributes(pairs, config)
            report["calibration"] = _calibrations(cache, identity)
            report["judgments"] = [_row(pair, judgments[i]) for i, pair in enumerate(pairs)]
    finally:
        backend.close()
    return report


def _judge_all(backend: Any, pairs: list[Pair], cache: Any, *, progress: bool) -> tuple[list[dict], int]:
    """Per pair {order: judgment with the messages sent}, answered from the cache where it can be; the number
    of ordered judgments that came from the cache. Only read verdicts are stored (a rerun re-asks the rest)."""
    from alignx.progress import ProgressBar

    chats = []  # (pair index, order, messages, cache key)
    for i, pair in enumerate(pairs):
        for order in ORDERS:
            first, second = (pair.a, pair.b) if order == "ab" else (pair.b, pair.a)
            messages = judge_messages(pair.post, pair.persona, first, second)
            chats.append((i, order, messages, content_key(messages)))
    identity = backend.identity
    stored = cache.get_many(identity, [key for *_, key in chats])
    out: list[dict] = [{} for _ in pairs]
    todo = []
    for i, order, messages, key in chats:
        if key in stored:
            out[i][order] = {"messages": messages, **stored[key], "cached": True}
        else:
            todo.append((i, order, messages, key))
    with ProgressBar("judging", len(todo), enabled=progress and bool(todo)) as bar:
        for index, result in backend.judge([messages for _, _, messages, _ in todo]) if todo else ():
            i, order, messages, key = todo[index]
            if result["verdict"] is not None:
                cache.put(identity, key, result)
            out[i][order] = {"messages": messages, **result, "cached": False}
            bar.advance()
    return out, len(chats) - len(todo)


def _summary(pairs: list[Pair], judgments: list[dict], config: JudgeConfig) -> Summary:
    sides = [tuple(side_of(j[order]["verdict"], order) for order in ORDERS) for j in judgments]
    return summarize([combine(*s) for s in sides], sides, [p.record for p in pairs],
                     [(len(p.a), len(p.b)) for p in pairs], [(p.a_tokens, p.b_tokens) for p in pairs],
                     rounds=config.bootstrap, seed=config.seed)


def _copy_rates(pairs: list[Pair], config: JudgeConfig) -> dict[str, Any]:
    from alignx.judge.copy_rate import copy_rate

    records = [p.record for p in pairs]
    return {side: copy_rate([getattr(p, f"{side}_copies") for p in pairs], records, rounds=config.bootstrap,
                            seed=config.seed) for side in "ab"}


def _attributes(pairs: list[Pair], config: JudgeConfig) -> dict[str, Any]:
    from alignx.judge.attributes import measure_attributes

    return measure_attributes([p.direction for p in pairs], [(p.a, p.b) for p in pairs], [p.record for p in pairs],
                              rounds=config.bootstrap, seed=config.seed)


def _row(pair: Pair, judged: dict) -> dict[str, Any]:
    sides = [side_of(judged[order]["verdict"], order) for order in ORDERS]
    return {"key": pair.key, "record": pair.record, "sample": pair.sample, "persona_source": pair.persona_source,
            "outcome": combine(*sides), "consistent": None if None in sides else sides[0] == sides[1],
            "orders": {order: judged[order] for order in ORDERS}}


def _store_calibration(cache: Any, identity: str, report: dict[str, Any]) -> None:
    s = report["summary"]
    entry = {"data": report["data"], "split": report["split"], "data_key": report["data_key"],
             "limit": report["limit"], "persona": report["judge"]["persona"], "n": s["n"],
             "agreement": s["win_rate"], "ci95": s["ci95"], "strict_agreement": s["strict_win_rate"],
             "position_consistency": s["position_consistency"], "at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    entries = [e for e in cache.get_many(identity, [CALIBRATIONS_KEY]).get(CALIBRATIONS_KEY, [])
               if (e["data_key"], e["limit"], e["persona"]) != (entry["data_key"], entry["limit"], entry["persona"])]
    cache.put(identity, CALIBRATIONS_KEY, [entry, *entries])


def _calibrations(cache: Any, identity: str) -> list[dict[str, Any]]:
    """The calibrations stored for this judge identity, newest first (empty: the judge was never calibrated)."""
    return cache.get_many(identity, [CALIBRATIONS_KEY]).get(CALIBRATIONS_KEY, [])


def _rate_text(figure: dict[str, Any]) -> str:
    """A share with its interval, e.g. "0.250 (0.10–0.40)"; "unknown" when nothing was measured."""
    if figure["rate"] is None:
        return "unknown"
    return f"{figure['rate']:.3f} ({figure['ci95'][0]:.2f}–{figure['ci95'][1]:.2f})"


def report_table(report: dict[str, Any]):
    """The terminal table of a report: one row, and under it the judge's calibration (or that it has none)."""
    from rich.table import Table

    s = report["summary"]
    calibrating = report["mode"] == "calibration"
    where = f"{report['data']}{':' + report['split'] if report.get('split') else ''}"
    if calibrating:
        title = f"judge calibration: {report['judge']['spec']} on {where} (a = the user's chosen response)"
        names = ("n", "agree", "tie", "disagree", "agreement", "95% CI", "consistent", "picks A", "unread")
    else:
        title = f"judge {report['judge']['spec']}: {Path(report['a']['file']).name} (a) vs " \
                f"{Path(report['b']['file']).name} (b) on {where}"
        names = ("n", "win", "tie", "loss", "win rate", "95% CI", "consistent", "picks A", "unread",
                 "len a", "len b")
    row = [str(s["n"]), str(s["wins"]), str(s["ties"]), str(s["losses"]), f"{s['win_rate']:.3f}",
           f"{s['ci95'][0]:.2f}–{s['ci95'][1]:.2f}", f"{s['position_consistency']:.2f}",
           f"{s['first_position_rate']:.2f}", str(s["unread"])]
    if not calibrating:
        tokens, chars = s["mean_tokens"], s["mean_chars"]
        row += [f"{tokens[k]:.0f} tok" if tokens[k] is not None else f"{chars[k] or 0:.0f} ch" for k in "ab"]
        names += ("copies a", "copies b")
        row += [_rate_text(report["copy_rate"][k]) for k in "ab"]
        for attribute, figure in report["attributes"].items():
            names += (f"{attribute} toward pole",)
            row += [_rate_text({"rate": figure["toward"], "ci95": figure["ci95"]}) + f" n={figure['n']}"]
            for pole, means in figure["poles"].items():
                if means["n"]:
                    names += (f"{attribute} a / b, {pole.split()[0].lower()}",)
                    row += [f"{means['mean_a']:.1f} / {means['mean_b']:.1f} {figure['unit']}"]
    # One figure a line: the table fits any terminal.
    table = Table(title=title)
    table.add_column("figure")
    table.add_column("value", justify="right", no_wrap=True)
    for name, value in zip(names, row, strict=True):
        table.add_row(name, value)
    calibrations = report.get("calibration") or []
    if calibrations:
        c = calibrations[0]
        table.caption = (f"this judge agrees with the users' choices {c['agreement']:.3f} "
                         f"(95% CI {c['ci95'][0]:.2f}–{c['ci95'][1]:.2f}, consistency {c['position_consistency']:.2f},"
                         f" n={c['n']}, {c['data']}{':' + c['split'] if c.get('split') else ''}, persona "
                         f"{c['persona']}); 0.5 is chance")
    else:
        table.caption = (f"this judge has no calibration: run alignx judge --calibrate --data DATA --judge "
                         f"{report['judge']['spec']} to see whether it can tell the users' choices apart")
    return table
