"""The generation interface: `Generator`, the `Settings` that decide the texts, and what comes back.

Like lm-evaluation-harness's `LM`, one narrow protocol with two implementations (`alignx.generation.local`,
`alignx.generation.upstream`), so callers never ask which one they hold. A request is the chat messages the
model reads (its chat template, or the server, turns them into a prompt); `ids` name the requests for seeding.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from alignx.errors import UserError
from alignx.prompts import Messages


@dataclass(frozen=True)
class Settings:
    """What decides the generated texts, for either implementation."""

    max_new_tokens: int
    temperature: float | None = 0.0  # 0: greedy; None: greedy locally, the server's default upstream
    top_k: int | None = None  # 0: every token; None: the checkpoint's own default locally, none upstream
    top_p: float | None = 1.0  # None: 1.0 locally, the server's default upstream
    # None: unseeded. Else each batch (local) or request (upstream) draws from a seed derived from this one and
    # its requests' ids (`seed_for`), so a rerun of the same requests draws the same texts.
    seed: int | None = None
    # The weight w of the user's evidence in steered decoding (`alignx.generation.steering`); 0: off. Local only:
    # a request that is a `Steered` is decoded with it, a plain one as usual.
    steer: float = 0.0
    steer_plausibility: float = 0.0  # steering chooses only tokens this share as likely as the universal top one
    steer_length: float = 0.0  # steering raises the end's score by this times the request's length lean
    extra: Mapping[str, Any] = field(default_factory=dict)  # other OpenAI fields: forwarded upstream, unused locally

    @property
    def sampling(self) -> bool:
        return bool(self.temperature)

    def seed_for(self, ids: Sequence[str]) -> int | None:
        """The seed of the requests named `ids`, below 2**63 as torch wants; None when unseeded."""
        if self.seed is None:
            return None
        digest = hashlib.sha256("\x1f".join([str(self.seed), *ids]).encode()).digest()
        return int.from_bytes(digest[:8], "big") >> 1


@dataclass(frozen=True)
class Generated:
    text: str
    tokens: int  # generated tokens, the EOS that ended it included
    finish_reason: str = "stop"  # "stop" (an EOS or a stop sequence) | "length" (max_new_tokens reached)
    prompt_tokens: int | None = None  # None: not reported


@dataclass(frozen=True)
class Delta:
    """A piece of a streamed answer; the last one has no text and the finish reason."""

    text: str
    finish_reason: str | None = None


class GenerationError(UserError):
    """Generation cannot go on: one line naming the generator (an upstream unreachable or refusing the key, a
    request that failed after its retries, a stream that broke off)."""


class Generator(Protocol):
    """Chat requests in, texts out.

    `generate` yields (index into `requests`, Generated or the Exception that request alone failed with) once
    per request, in the order they finish (a local model: longest prompts first, a batch at a time; a server:
    as its answers arrive); a problem every request would repeat raises GenerationError. `stream` yields one
    request's answer as it is generated, ending with the Delta that carries the finish reason; a failure
    raises GenerationError, possibly after some text. Stopping to read a stream stops its generation.
    """

    name: str  # the model, as the service names it to clients
    where: str  # how error messages name this generator, e.g. "--upstream http://127.0.0.1:8000/v1"
    tokens_generated: int

    def generate(self, requests: Sequence[Messages], settings: Settings, *, ids: Sequence[str] | None = None,
                 description: str = "generating") -> Iterator[tuple[int, Generated | Exception]]: ...

    def stream(self, messages: Messages, settings: Settings) -> Iterator[Delta]: ...

    def close(self) -> None: ...


def generate_each(generator: Generator, requests: Sequence[Messages], settings: Settings) -> list[Generated]:
    """Every request's answer in request order; GenerationError naming the generator when one fails."""
    out: dict[int, Generated] = {}
    for index, result in generator.generate(requests, settings, ids=[str(i) for i in range(len(requests))]):
        if isinstance(result, Exception):
            raise GenerationError(f"{generator.where}: {result}") from result
        out[index] = result
    return [out[i] for i in range(len(requests))]
