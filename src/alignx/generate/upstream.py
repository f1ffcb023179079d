"""Generation through any OpenAI-compatible server (vLLM at scale, llama.cpp, a hosted API), with the
official `openai` client: `workers` concurrent requests, the client's retries and backoff for 429, 5xx
and timeouts, one-line errors.

A request that still fails after its retries is that item's failure (the others go on, and what they
answered is written); problems every request would repeat (no server, a refused key, no such model)
end the run at once. The settings travel as OpenAI fields; top-k and the per-request seed as the
fields vLLM reads (`top_k` in the body, `seed`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from alignx.errors import UserError
from alignx.generate.local import Generated, Sampling, batch_seed
from alignx.openai_server import RequestFailed, Server, Tally, answer_text, answered, connect
from alignx.prompts import Messages


class UpstreamError(UserError):
    """The upstream cannot serve this run (unreachable, refused key, no such model)."""


class UpstreamGenerator:
    """Chat completions from `model` at `base_url`; `connect` builds a checked one."""

    def __init__(self, server: Server, *, workers: int):
        self.server, self.model, self.workers, self.url = server, server.model, workers, server.url
        self.stats = Tally()  # tokens, added by the worker threads

    @classmethod
    def connect(cls, base_url: str, model: str, *, api_key: str | None, key_env: str, workers: int,
                timeout: float, retries: int) -> UpstreamGenerator:
        """A client for `model` at `base_url`, checked by listing the server's models."""
        server = connect(model, base_url=base_url, api_key=api_key, key_env=key_env, timeout=timeout,
                         retries=retries, error=UpstreamError, label="--upstream", url_option="--upstream")
        return cls(server, workers=workers)

    @property
    def tokens_generated(self) -> int:
        return self.stats["tokens"]

    def generate(self, messages: Sequence[Messages], sampling: Sampling, *, seed: int = 0,
                 ids: Sequence[str] | None = None) -> Iterator[tuple[int, Generated | RequestFailed]]:
        """(index, Generated or the RequestFailed of that item) as answers arrive; UpstreamError ends the run."""
        ids = list(ids) if ids is not None else [str(i) for i in range(len(messages))]

        def ask(index: int) -> Generated | RequestFailed:
            try:
                return self._one(messages[index], sampling, batch_seed(seed, [ids[index]]) % 2**31)
            except RequestFailed as e:  # that item's failure; an UpstreamError ends the run
                return e

        yield from answered(ask, range(len(messages)), workers=self.workers, name="alignx-generate")

    def _one(self, messages: Messages, sampling: Sampling, seed: int) -> Generated:
        extra = {"top_k": sampling.top_k} if sampling.top_k and sampling.temperature > 0 else {}
        response = self.server.create(
            messages=messages, max_tokens=sampling.max_new_tokens, temperature=sampling.temperature,
            top_p=sampling.top_p if sampling.temperature > 0 else 1.0, seed=seed, extra_body=extra or None)
        usage = response.usage
        tokens = usage.completion_tokens if usage and usage.completion_tokens is not None else 0
        self.stats.add("tokens", tokens)
        return Generated(answer_text(response), tokens)

    def close(self) -> None:
        self.server.close()
