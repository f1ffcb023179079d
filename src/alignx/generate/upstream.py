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
from concurrent.futures import ThreadPoolExecutor, as_completed

from alignx.errors import UserError
from alignx.generate.local import Generated, Sampling, batch_seed
from alignx.openai_server import RequestFailed, Server, connect
from alignx.prompts import Messages


class UpstreamError(UserError):
    """The upstream cannot serve this run (unreachable, refused key, no such model)."""


class UpstreamGenerator:
    """Chat completions from `model` at `base_url`; `connect` builds a checked one."""

    def __init__(self, server: Server, *, workers: int):
        self.server, self.model, self.workers, self.url = server, server.model, workers, server.url
        self.tokens_generated = 0

    @classmethod
    def connect(cls, base_url: str, model: str, *, api_key: str | None, key_env: str, workers: int,
                timeout: float, retries: int) -> UpstreamGenerator:
        """A client for `model` at `base_url`, checked by listing the server's models."""
        server = connect(model, base_url=base_url, api_key=api_key, key_env=key_env, timeout=timeout,
                         retries=retries, error=UpstreamError, label="--upstream", url_option="--upstream")
        return cls(server, workers=workers)

    def generate(self, messages: Sequence[Messages], sampling: Sampling, *, seed: int = 0,
                 ids: Sequence[str] | None = None) -> Iterator[tuple[int, Generated | RequestFailed]]:
        """(index, Generated or the RequestFailed of that item) as answers arrive; UpstreamError ends the run."""
        ids = list(ids) if ids is not None else [str(i) for i in range(len(messages))]
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="alignx-generate")
        try:
            futures = {pool.submit(self._one, m, sampling, batch_seed(seed, [ids[i]]) % 2**31): i
                       for i, m in enumerate(messages)}
            for future in as_completed(futures):
                try:
                    yield futures[future], future.result()
                except RequestFailed as e:
                    yield futures[future], e
        finally:  # an UpstreamError, or a caller that stops reading, drops the requests not yet sent
            pool.shutdown(wait=True, cancel_futures=True)

    def _one(self, messages: Messages, sampling: Sampling, seed: int) -> Generated:
        extra = {"top_k": sampling.top_k} if sampling.top_k and sampling.temperature > 0 else {}
        response = self.server.create(
            messages=messages, max_tokens=sampling.max_new_tokens, temperature=sampling.temperature,
            top_p=sampling.top_p if sampling.temperature > 0 else 1.0, seed=seed, extra_body=extra or None)
        content = response.choices[0].message.content if response.choices else None
        usage = response.usage
        tokens = usage.completion_tokens if usage and usage.completion_tokens is not None else 0
        self.tokens_generated += tokens
        return Generated(content or "", tokens)

    def close(self) -> None:
        self.server.close()
