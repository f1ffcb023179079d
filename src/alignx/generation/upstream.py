"""`UpstreamGenerator`: any OpenAI-compatible server (vLLM at scale, llama.cpp, a hosted API) through the official
`openai` client (`alignx.openai_server`), plain or streamed, with its retries, timeouts and one-line errors.

`generate` sends `workers` requests at a time; one that still fails after the client's retries is that
request's failure (the others go on); problems every request would repeat (no server, a refused key, no such
model) raise `UpstreamError` at once. `openai_fields` is the one place `Settings` become request fields:
top-k and the per-request seed as the fields vLLM reads (`top_k` in the body, `seed`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from alignx.generation.base import Delta, Generated, GenerationError, Settings
from alignx.openai_server import RequestFailed, Server, Tally, answer_text, answered, connect, one_line
from alignx.prompts import Messages


class UpstreamError(GenerationError):
    """The upstream cannot serve (unreachable, refused key, no such model), or a request of the service failed."""


def openai_fields(settings: Settings, ids: Sequence[str]) -> dict[str, Any]:
    """The chat-completion fields of `settings` for the requests named `ids`: `extra` first (a request's own
    `model` among them: "default" leaves the server's), ours over it; fields left None are the server's."""
    body = {k: v for k, v in settings.extra.items() if v is not None}
    model = body.pop("model", None)
    fields: dict[str, Any] = {"max_tokens": settings.max_new_tokens}
    if model not in (None, "default"):
        fields["model"] = model
    if settings.temperature is not None:
        fields["temperature"] = settings.temperature
    if settings.top_p is not None:
        fields["top_p"] = settings.top_p
    if settings.top_k and settings.sampling:
        body["top_k"] = settings.top_k
    seed = settings.seed_for(ids)
    if seed is not None:
        fields["seed"] = seed % 2**31  # servers read a 32-bit seed
    if body:
        fields["extra_body"] = body
    return fields


class UpstreamGenerator:
    """Chat completions of one model on one server; `connect` builds a checked one."""

    def __init__(self, server: Server, *, name: str, workers: int):
        self.server, self.name, self.workers = server, name, workers
        self.where = server.where
        self.stats = Tally()  # tokens, added by the worker threads

    @classmethod
    def connect(cls, base_url: str, model: str, *, api_key: str | None, key_env: str, workers: int, timeout: float,
                retries: int, check_model: bool = True, name: str | None = None) -> UpstreamGenerator:
        """A client for `model` at `base_url`, checked by listing the server's models unless `check_model` is
        False (the service without --model forwards each request's own); `name` defaults to `model`."""
        server = connect(model, base_url=base_url, api_key=api_key, key_env=key_env, timeout=timeout,
                         retries=retries, error=UpstreamError, label="--upstream", url_option="--upstream",
                         check_model=check_model)
        return cls(server, name=name or model, workers=workers)

    @property
    def tokens_generated(self) -> int:
        return self.stats["tokens"]

    def generate(self, requests: Sequence[Messages], settings: Settings, *, ids: Sequence[str] | None = None,
                 description: str = "generating") -> Iterator[tuple[int, Generated | RequestFailed]]:
        """(index, Generated or the RequestFailed of that request) as answers arrive."""
        ids = list(ids) if ids is not None else [str(i) for i in range(len(requests))]

        def ask(index: int) -> Generated | RequestFailed:
            try:
                return self._one(requests[index], settings, ids[index])
            except RequestFailed as e:  # that request's failure; an UpstreamError ends the run
                return e

        yield from answered(ask, range(len(requests)), workers=self.workers, name="alignx-generate")

    def _one(self, messages: Messages, settings: Settings, id_: str) -> Generated:
        response = self.server.create(messages=messages, stream=False, **openai_fields(settings, [id_]))
        usage = response.usage
        tokens = usage.completion_tokens if usage and usage.completion_tokens is not None else 0
        self.stats.add("tokens", tokens)
        reason = (response.choices[0].finish_reason if response.choices else None) or "stop"
        return Generated(answer_text(response), tokens, reason, usage.prompt_tokens if usage else None)

    def stream(self, messages: Messages, settings: Settings) -> Iterator[Delta]:
        """The server's stream (`stream=True`) relayed as Deltas."""
        import httpx
        import openai

        try:
            chunks = self.server.create(messages=messages, stream=True, **openai_fields(settings, []))
        except RequestFailed as e:
            raise UpstreamError(f"{self.where}: {e}") from e
        finish = None
        try:
            with chunks:
                for chunk in chunks:
                    choice = chunk.choices[0] if chunk.choices else None
                    if choice is None:
                        continue  # usage-only or keep-alive chunks
                    finish = choice.finish_reason or finish
                    if choice.delta is not None and choice.delta.content:
                        yield Delta(choice.delta.content)
        except (openai.APIError, httpx.HTTPError) as e:  # the SDK reads the stream with httpx
            raise UpstreamError(f"{self.where}: the stream broke off: {one_line(e)}") from e
        yield Delta("", finish or "stop")

    def close(self) -> None:
        self.server.close()
