"""What the judge is asked and how its answer is read back.

One chat per ordered pair: the post, what we know of the user, Response A and Response B; the judge answers
exactly "A", "B" or "tie". `parse_verdict` reads a few harmless variants ("**A**", "Response B.", "It's a tie")
and nothing else; an answer it cannot read is re-asked with `correction_messages`.
"""

from __future__ import annotations

import hashlib
import json
import re

Messages = list[dict[str, str]]
VERDICTS = ("A", "B", "tie")

SYSTEM = (
    "You judge responses for one particular user. You are shown a post, what is known about the user who "
    "wrote it, and two responses to the post. Decide which response this user would prefer, going by what is "
    "known about them, not by your own taste, by length or by the order the responses are shown in. If neither "
    "is preferable for this user, say tie. Answer with exactly one word: A, B or tie."
)

USER_TEMPLATE = """\
***Post***

{post}

***The user***

{persona}

***Response A***

{first}

***Response B***

{second}

Which response would this user prefer? Answer with exactly one word: A, B or tie."""

CORRECTION = "Your answer could not be read. Answer with exactly one word: A, B or tie."

_DECORATION = re.compile(r"[*_`\"'\u201c\u201d\u2018\u2019#]")
_ANSWER = re.compile(r"(?:(?:answer|verdict|final answer)\s*:\s*)?(?:(?:response\s+)?(a|b)|(?:its\s+)?(?:a\s+)?(tie))")


def judge_messages(post: str, persona: str, first: str, second: str) -> Messages:
    """The chat for one order: `first` is shown as Response A, `second` as Response B."""
    user = USER_TEMPLATE.format(post=post, persona=persona, first=first, second=second)
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def correction_messages(messages: Messages, answer: str) -> Messages:
    """Re-ask after an answer that did not read, showing the judge what it said."""
    return [*messages, {"role": "assistant", "content": answer}, {"role": "user", "content": CORRECTION}]


def parse_verdict(text: str) -> str | None:
    """"A", "B" or "tie" from the judge's answer (the whole answer, else its first line); None if it does not read."""
    lines = text.strip().splitlines()
    for candidate in (text, lines[0] if lines else ""):
        flat = " ".join(_DECORATION.sub("", candidate).lower().split()).strip(" .!:")
        match = _ANSWER.fullmatch(flat)
        if match:
            return match[1].upper() if match[1] else "tie"
    return None


def prompt_version() -> str:
    """Hash of everything the judge is told: cached judgments key on it, so a changed prompt is asked again."""
    told = [SYSTEM, USER_TEMPLATE, CORRECTION]
    return hashlib.sha256(json.dumps(told).encode("utf-8")).hexdigest()[:12]


def content_key(messages: Messages) -> str:
    """The cache key of one judging chat: a hash of exactly what is sent."""
    return hashlib.sha256(json.dumps(messages, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()
