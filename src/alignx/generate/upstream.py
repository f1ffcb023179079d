"""Generation through any OpenAI-compatible server (vLLM at scale, llama.cpp, a hosted API), with the
official `openai` client: `workers` concurrent requests, the client's retries and backoff for 429, 5xx
and timeouts, one-line errors.

A request that still fails after its retries is that item's failure (the others go on, and what they
answered is written); problems every request would repeat (no server, a refused key, no such model)
end the run at once. The settings travel as OpenAI fields; top-k and the per-request seed as the
fields vLLM reads (`top_k` in the body, `seed`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed

import openai

from alignx.errors import UserError
from alignx.generate.local import Generated, Sampling, batch_seed
from alignx.prompts import Messages

NO_KEY = "none"  # local servers need no key, but the client insists on one
SHOWN_MODELS = 10


class UpstreamError(UserError):
    """The upstream cannot serve this run (unreachable, refused key, no such model)."""


class RequestFailed(Exception):
    """One request that failed after the client's retries; the message says why."""


def _one_line(text: object, limit: int = 200) -> str:
    flat = re.sub(r"^Error code: \d+ - ", "", " ".join(str(text).split()))  # the status is said already
    return flat if len(flat) <= limit else flat[:limit] + "..."


class UpstreamGenerator:
    """Chat completions from `model` at `base_url`; `connect` builds a checked one."""

    def __init__(self, client: openai.OpenAI, model: str, *, workers: int, timeout: float, retries: int,
                 key_env: str):
        self.client, self.model, self.workers = client, model, workers
        self.timeout, self.retries, self.key_env = timeout, retries, key_env
        self.url = str(client.base_url).rstrip("/")
        self.tokens_generated = 0

    @classmethod
    def connect(cls, base_url: str, model: str, *, api_key: str | None, key_env: str, workers: int,
                timeout: float, retries: int) -> UpstreamGenerator:
        client = openai.OpenAI(base_url=base_url, api_key=api_key or NO_KEY, timeout=timeout, max_retries=retries)
        generator = cls(client, model, workers=workers, timeout=timeout, retries=retries, key_env=key_env)
        try:
            generator.check()
        except BaseException:
            client.close()
            raise
        return generator

    def check(self) -> None:
        """UpstreamError unless the server answers and offers the model (servers without /models pass)."""
        try:
            offered = sorted(m.id for m in self.client.models.list().data)
        except openai.NotFoundError:
            return
        except openai.APIError as e:
            raise self._fatal(e, "GET /models") from None
        if self.model not in offered:
            shown = ", ".join(offered[:SHOWN_MODELS]) + (f", ... ({len(offered)} in all)"
                                                         if len(offered) > SHOWN_MODELS else "")
            raise UpstreamError(f"--upstream {self.url} offers no model {self.model!r}; it offers: {shown or 'none'}")

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
        try:
            response = self.client.chat.completions.create(
                model=self.model, messages=messages, max_tokens=sampling.max_new_tokens,
                temperature=sampling.temperature, top_p=sampling.top_p if sampling.temperature > 0 else 1.0,
                seed=seed, extra_body=extra or None)
        except openai.APITimeoutError:
            raise RequestFailed(f"timed out after {self.timeout:g} s ({self._tries})") from None
        except openai.RateLimitError:
            raise RequestFailed(f"rate limited (429) ({self._tries})") from None
        except openai.InternalServerError as e:
            raise RequestFailed(f"server error {e.status_code} ({self._tries}): {_one_line(e.message)}") from None
        except (openai.BadRequestError, openai.UnprocessableEntityError) as e:
            raise RequestFailed(f"the server refused the request ({e.status_code}): {_one_line(e.message)}") from None
        except openai.APIError as e:
            raise self._fatal(e, "POST /chat/completions") from None
        content = response.choices[0].message.content if response.choices else None
        usage = response.usage
        tokens = usage.completion_tokens if usage and usage.completion_tokens is not None else 0
        self.tokens_generated += tokens
        return Generated(content or "", tokens)

    @property
    def _tries(self) -> str:
        return "1 try" if self.retries == 0 else f"{self.retries + 1} tries"

    def _fatal(self, error: openai.APIError, request: str) -> UpstreamError:
        where = f"--upstream {self.url}"
        if isinstance(error, openai.APITimeoutError):
            return UpstreamError(f"{where}: cannot reach it: no answer to {request} within {self.timeout:g} s")
        if isinstance(error, openai.APIConnectionError):
            cause = error.__cause__ or error
            return UpstreamError(f"{where}: cannot reach it ({type(cause).__name__}: {_one_line(cause, 160)})")
        if isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
            return UpstreamError(f"{where} refused the key from ${self.key_env} ({error.status_code}): "
                                 f"{_one_line(error.message)}")
        if isinstance(error, openai.NotFoundError):
            return UpstreamError(f"{where} answered 404 to {request} ({_one_line(error.message)}): no model "
                                 f"{self.model!r}, or not an OpenAI-compatible base URL (most end in /v1)")
        status = getattr(error, "status_code", None)
        return UpstreamError(f"{where} answered {status or 'an error'} to {request}: {_one_line(error.message)}")

    def close(self) -> None:
        self.client.close()
