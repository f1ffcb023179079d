"""Copying: whether an answer repeats a span of the prompt it was generated from.

An untrained model reading a persona prompt often writes back what it read (the scaffold's headers, the user's
own chosen texts) instead of answering; a reward that reads the same texts can then rank the copy first. So a
copy is measured on the text itself, with no model and no list of known headers: an answer *copies* when it
holds `SPAN` consecutive tokens that stand in the prompt but not in the post (repeating the user's question is
not copying). Tokens are words and single punctuation marks, case-folded (`tokens`): plain, fast, offline.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from alignx.prompts import Messages

SPAN = 8  # consecutive tokens that make a copy
_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokens(text: str) -> list[str]:
    """`text` as words (runs of letters, digits, underscore) and single punctuation marks, lowercased."""
    return _TOKEN.findall(text.lower())


def _spans(words: Sequence[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + SPAN]) for i in range(len(words) - SPAN + 1)}


def prompt_text(messages: Messages) -> str:
    """Everything the generator read: the contents of the prompt's messages, joined."""
    return "\n".join(m["content"] for m in messages)


def copied_span(response: str, messages: Messages, post: str) -> str | None:
    """The first `SPAN` tokens of `response` that stand in the prompt `messages` but not in `post`, joined by
    spaces; None when the response copies nothing."""
    words = tokens(response)
    if len(words) < SPAN:
        return None
    copyable = _spans(tokens(prompt_text(messages))) - _spans(tokens(post))
    for i in range(len(words) - SPAN + 1):
        span = tuple(words[i:i + SPAN])
        if span in copyable:
            return " ".join(span)
    return None


def copies_prompt(response: str, messages: Messages, post: str) -> bool:
    """Whether `response` repeats `SPAN` or more consecutive tokens of its prompt that are not in the post."""
    return copied_span(response, messages, post) is not None
