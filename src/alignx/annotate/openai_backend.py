"""The `openai:MODEL` backend: any OpenAI-compatible chat server (vLLM, llama.cpp, a hosted API, `alignx serve`).

Transport troubles (429, 5xx, timeouts) are the official client's to retry, with its backoff and the
server's Retry-After; what still fails is that item's failed answer, with the reason, so one bad
request never ends a long run. Answers that do not read are ours to re-ask, showing the model why.
Problems that would fail every item (a refused key, no such model, a server that is gone) end the
run as one `AnnotatorError` naming the spec.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import openai

from alignx.annotate.base import Annotation, AnnotatorError, Item
from alignx.annotate.chat_prompt import (
    RESPONSE_FORMAT,
    Messages,
    annotation_messages,
    correction_messages,
    describe_messages,
    parse_answer,
    prompt_version,
)
from alignx.openai_server import RequestFailed, Server, ServerBackend, answer_text, answered
from alignx.reask import ask_until_read


class OpenAIAnnotator(ServerBackend):
    """Asks a chat model which of the 90 poles each item shows; `connect` builds a checked one."""

    can_describe = True
    error, url_option = AnnotatorError, "--annotator-url"

    def __init__(self, server: Server, *, spec: str, workers: int, retries: int):
        super().__init__(server, spec=spec, workers=workers, retries=retries)
        self.json_schema = True  # until the server refuses response_format; then the prompt alone asks for JSON

    @property
    def identity(self) -> str:
        return f"openai:{self.model}@{self.url}#prompt-{prompt_version()}"

    def annotate(self, items: Sequence[Item]) -> Iterator[tuple[int, Annotation]]:
        yield from answered(self._annotate_one, items, workers=self.workers, name="alignx-openai")

    def describe(self, items: Sequence[Item]) -> str:
        if not items:
            raise AnnotatorError(f"{self.spec}: no UGC or PAIR items to describe the user from")
        try:
            text, _ = self._chat(describe_messages(items), json_answer=False)
        except RequestFailed as e:
            raise AnnotatorError(f"{self.spec}: describe: {e}") from None
        if not text.strip():
            raise AnnotatorError(f"{self.spec}: describe: the model answered nothing")
        return text.strip()

    def close(self) -> None:
        self.server.close()

    def _annotate_one(self, item: Item) -> Annotation:
        """Ask, re-asking up to `retries` times while the answer does not read; failed with the last reason."""
        asked = ask_until_read(lambda messages: self._chat(messages, json_answer=True), annotation_messages(item),
                               parse_answer,
                               lambda text, reason: correction_messages(annotation_messages(item), text, reason),
                               retries=self.retries, stats=self.stats)
        if asked.value is None:
            return Annotation.failed(asked.error, asked.tokens)
        return Annotation(direction=asked.value, tokens=asked.tokens)

    def _chat(self, messages: Messages, *, json_answer: bool) -> tuple[str, int]:
        """The answer text and its tokens; RequestFailed for this request, AnnotatorError for the run."""
        schema = json_answer and self.json_schema
        extra = {"response_format": RESPONSE_FORMAT} if schema else {}
        self.stats.add("requests")
        try:
            response = self.server.create(messages=messages, **extra)
        except RequestFailed as e:
            if schema and _refuses_response_format(e.error):
                self.json_schema = False
                return self._chat(messages, json_answer=json_answer)
            raise
        usage = response.usage
        tokens = (usage.prompt_tokens or 0) + (usage.completion_tokens or 0) if usage else 0
        self.stats.add("tokens", tokens)
        return answer_text(response), tokens


def _refuses_response_format(error: openai.APIStatusError) -> bool:
    text = str(error).lower()
    return "response_format" in text or "json_schema" in text
