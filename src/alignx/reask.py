"""Re-asking a chat model whose answer does not read, shared by the annotator and the judge.

The model is asked; while its answer does not read, it is asked again up to `retries` times, shown its own
answer and why it failed (`correct`). Both callers count the same statistics (requests are theirs, `re-asked`
and `failed` here) and word the last failure the same way ("... (asked 3 times)").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from alignx.openai_server import RequestFailed, Tally
from alignx.prompts import Messages

T = TypeVar("T")


class Unreadable(ValueError):
    """An answer that does not read; the message is the reason, shown to the model when it is re-asked."""


@dataclass
class Asked(Generic[T]):
    """What asking came to: the value read (None when none did), every answer, the tokens, and why it failed."""

    value: T | None
    answers: list[str] = field(default_factory=list)
    tokens: int = 0
    error: str | None = None  # the request's failure, or the last reason the answer did not read


def ask_until_read(chat: Callable[[Messages], tuple[str, int]], messages: Messages, read: Callable[[str], T],
                   correct: Callable[[str, str], Messages], *, retries: int, stats: Tally,
                   unreadable: str = "failed") -> Asked[T]:
    """Ask `messages`; while `read(answer)` raises `Unreadable`, re-ask `correct(answer, reason)`, at most
    `retries` times. `chat` returns (answer, tokens) or raises RequestFailed, which ends the asking as that
    item's failure (counted `failed`); answers that never read are counted under `unreadable`."""
    asked: Asked[T] = Asked(None)
    for attempt in range(retries + 1):
        if attempt:
            stats.add("re-asked")
        try:
            text, tokens = chat(messages)
        except RequestFailed as e:
            stats.add("failed")
            asked.error = str(e)
            return asked
        asked.answers.append(text)
        asked.tokens += tokens
        try:
            asked.value = read(text)
            return asked
        except Unreadable as e:
            reason = str(e)
            messages = correct(text, reason)
    stats.add(unreadable)
    tries = "once" if retries == 0 else f"{retries + 1} times"
    asked.error = f"{reason} (asked {tries})"
    return asked
