"""PrefEval (amazon-science/PrefEval) read from a local checkout into AlignX records.

Each question comes in four forms, one file per form and topic under `benchmark_dataset/`, in the same
order in all four. A question becomes three records: the post is the question, `chosen` its first
multiple-choice option (the one that follows the preference) and `rejected` each other option. Every
record carries the user as PrefEval knows them: the choice-based conversation as PAIR items (the option
the user picked over each one they passed over), the persona-driven conversation's user turns as their
own texts (UGC, each under the assistant turn it answers), the conversation's `persona` line as DEMO, and
the preference in the user's own words (`stated`). `question_id` groups the three records of a question
for multiple-choice accuracy.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from alignx.errors import InputNotFound, OptionError, UserError
from alignx.records import Choice, Comment, Record, RecordError

ROOT_ENV = "ALIGNX_PREFEVAL_ROOT"
FORMS = {
    "explicit": "explicit_preference",
    "choice": "implicit_preference/choice-based",
    "persona": "implicit_preference/persona-driven",
    "mcq": "mcq_options",
}
OPTIONS = "classification_task_options"


def is_checkout(path: str | os.PathLike) -> bool:
    """Whether `path` is a folder laid out like the PrefEval repository (it has benchmark_dataset/mcq_options)."""
    return (Path(path).expanduser() / "benchmark_dataset" / FORMS["mcq"]).is_dir()


def root() -> Path:
    """The checkout `--data prefeval` reads: $ALIGNX_PREFEVAL_ROOT; a one-line error when unset or wrong."""
    value = os.environ.get(ROOT_ENV)
    if not value:
        raise InputNotFound(f"benchmark prefeval reads a local checkout of amazon-science/PrefEval: set {ROOT_ENV} "
                            "to its folder, or pass the folder as --data")
    if not is_checkout(value):
        raise InputNotFound(f"{ROOT_ENV}={value}: not a PrefEval checkout (no benchmark_dataset/{FORMS['mcq']})")
    return Path(value).expanduser()


def topics(checkout: str | os.PathLike) -> list[str]:
    """The topics of a checkout: the multiple-choice files it holds, sorted."""
    return sorted(p.stem for p in (Path(checkout).expanduser() / "benchmark_dataset" / FORMS["mcq"]).glob("*.json"))


def chosen_topics(checkout: str | os.PathLike, split: str | None) -> list[str]:
    """`split` read as a comma-separated list of topics (all of them when None); OptionError naming the
    topics for an unknown one."""
    available = topics(checkout)
    if not available:
        raise InputNotFound(f"{checkout}: no topics in benchmark_dataset/{FORMS['mcq']}")
    if split is None:
        return available
    wanted = [t.strip() for t in split.split(",") if t.strip()]
    unknown = [t for t in wanted if t not in available]
    if unknown or not wanted:
        raise OptionError(f"PrefEval has no topic {', '.join(unknown) or repr(split)}; --split takes topics "
                          f"separated by commas: {', '.join(available)}")
    return wanted


def iter_prefeval(checkout: str | os.PathLike, split: str | None = None) -> Iterator[Record]:
    """Records of every question of the chosen topics (`split`: comma-separated topics; all when None)."""
    for topic in chosen_topics(checkout, split):
        yield from topic_records(Path(checkout).expanduser(), topic)


def topic_records(checkout: Path, topic: str) -> Iterator[Record]:
    """The topic's questions in file order. The four files list the same questions in the same order (their
    `preference` wording differs in a few rows, so the question and the position match them); the stated
    preference is the explicit form's."""
    forms = {form: _load(checkout / "benchmark_dataset" / folder / f"{topic}.json") for form, folder in FORMS.items()}
    paths = {form: path for form, (path, _) in forms.items()}
    mcq_rows = forms["mcq"][1]
    for path, rows in forms.values():
        if len(rows) != len(mcq_rows):
            raise UserError(f"{path}: {len(rows)} questions, but {paths['mcq']} has {len(mcq_rows)}; the four "
                            "forms of a topic list the same questions in the same order")
    for number in range(1, len(mcq_rows) + 1):
        row = {form: rows[number - 1] for form, (_, rows) in forms.items()}
        question = _question(paths["mcq"], number, row["mcq"])
        for form in ("explicit", "choice", "persona"):
            if _question(paths[form], number, row[form]) != question:
                raise RecordError(str(paths[form]), number, "question",
                                  f"differs from record {number} of {paths['mcq']}")
        options = _options(paths["mcq"], number, row["mcq"])
        stated = _text(paths["explicit"], number, row["explicit"], "preference")
        pairs = _choices(paths["choice"], number, row["choice"])
        ugc = _user_turns(paths["persona"], number, row["persona"])
        demographic = _text(paths["persona"], number, row["persona"], "persona", required=False)
        for rejected in options[1:]:
            yield Record(prompt=question, chosen=options[0], rejected=rejected, demographic=demographic or None,
                         ugc=ugc, pairs=pairs, stated=stated,
                         extra={"topic": topic, "question_id": f"{topic}/{number}"})


def _load(path: Path) -> tuple[Path, list]:
    if not path.is_file():
        raise InputNotFound(f"{path}: missing; a PrefEval checkout has every topic in all four forms "
                            f"({', '.join(FORMS.values())})")
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: invalid JSON: {e}") from None
    if not isinstance(rows, list):
        raise UserError(f"{path}: must hold a JSON array of questions, got {type(rows).__name__}")
    return path, rows


def _question(path: Path, number: int, row: object) -> str:
    if not isinstance(row, Mapping):
        raise RecordError(str(path), number, "(record)", f"must be a JSON object, got {type(row).__name__}")
    return _text(path, number, row, "question")


def _text(path: Path, number: int, row: Mapping, name: str, *, required: bool = True) -> str:
    value = row.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        problem = "missing" if value is None else "is empty" if isinstance(value, str) else \
            f"must be text, got {type(value).__name__}"
        raise RecordError(str(path), number, name, problem)
    return value


def _options(path: Path, number: int, row: Mapping) -> list[str]:
    options = row.get(OPTIONS)
    if not isinstance(options, list) or len(options) < 2:
        raise RecordError(str(path), number, OPTIONS, "must be a list of at least two answers, the first one "
                                                      "following the preference")
    for i, option in enumerate(options, 1):
        if not isinstance(option, str) or not option.strip():
            raise RecordError(str(path), number, f"{OPTIONS} item {i}", "must be non-empty text")
    if len(set(options)) != len(options):
        raise RecordError(str(path), number, OPTIONS, "holds the same answer twice")
    return options


def _choices(path: Path, number: int, row: Mapping) -> tuple[Choice, ...]:
    """The user's pick in the choice-based conversation, as one Choice against each option passed over."""
    conversation = row.get("conversation")
    if not isinstance(conversation, Mapping):
        raise RecordError(str(path), number, "conversation", "must be an object with the query and options")
    query = _text(path, number, conversation, "query") if "query" in conversation else \
        _text(path, number, row, "implicit_query")
    picked = _text(path, number, row, "aligned_op")
    options = row.get("options")
    if not isinstance(options, list) or not all(isinstance(o, str) and o.strip() for o in options):
        raise RecordError(str(path), number, "options", "must be a list of non-empty texts")
    if picked not in options:
        raise RecordError(str(path), number, "aligned_op", "is not one of 'options'")
    return tuple(Choice(prompt=query, chosen=picked, rejected=o) for o in options if o != picked)


def _user_turns(path: Path, number: int, row: Mapping) -> tuple[Comment, ...]:
    """The user's messages of the persona-driven conversation, each under the assistant turn it answers
    (the first one under no post)."""
    conversation = row.get("conversation")
    if not isinstance(conversation, Mapping) or not conversation:
        raise RecordError(str(path), number, "conversation", "must be an object of turns \"0\" … \"N\"")
    try:
        order = sorted(conversation, key=int)
    except ValueError:
        raise RecordError(str(path), number, "conversation", "turn keys must be numbers \"0\" … \"N\"") from None
    comments, previous = [], ""
    for key in order:
        turn = conversation[key]
        if not isinstance(turn, Mapping):
            raise RecordError(str(path), number, f"conversation.{key}", "must be an object with user and assistant")
        user = _text(path, number, turn, "user")
        comments.append(Comment(prompt=previous, comment=user))
        previous = _text(path, number, turn, "assistant", required=False)
    return tuple(comments)
