"""Personalized chat: turn a conversation into the evaluation prompts, and the model that answers them.

The last user message is the task post; ICA shows the user's recent history (`ica_evaluation_messages`,
the released evaluation prompt), PBA their profile (`pba_messages`), the universal answer neither.
`ChatModel` is the service's `alignx.generation` generator: a local transformers model, or any
OpenAI-compatible server (`--upstream`), to which we only add the persona.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from alignx.errors import UserError
from alignx.generation.base import Generator
from alignx.openai_server import DEFAULT_KEY_ENV
from alignx.personas import PersonaView
from alignx.prompts import Messages, PromptKind, ica_evaluation_messages, pba_messages, universal_messages

if TYPE_CHECKING:
    from alignx.eval.terms import Term
    from alignx.generate.best_of import Pick
    from alignx.generation.local import LocalGenerator
    from alignx.serve.config import ServeConfig

STATED_PREFERENCES = "Stated preferences: "


# ---------------------------------------------------------------- prompts


def personalize(
    messages: Messages,
    *,
    mode: PromptKind | str,
    view: PersonaView,
    profile: str,
    universal: bool = False,
) -> Messages:
    """The messages the model reads.

    The last message must be the user's: it becomes the task post of the ICA / PBA / universal
    builder. Earlier user and assistant turns stay, in order, between the builder's system message
    and its user message, so the model sees the conversation; client system messages are appended
    to the builder's system text. A single-turn request without a system message therefore reads
    exactly the evaluation prompt. The view's `stated` text (the user's explicit edits, `stated_text`)
    follows the demographic text in the ICA history, so edits steer ICA as well as PBA.
    """
    turns = [m for m in messages if m["role"] in ("user", "assistant")]
    if not turns or turns[-1]["role"] != "user":
        raise UserError("messages: the last message must have role 'user' (it is the task)")
    post = turns[-1]["content"]
    if universal:
        built = universal_messages(post)
    elif PromptKind(mode) is PromptKind.PBA:
        built = pba_messages(post, profile) if profile else universal_messages(post)
    else:
        built = universal_messages(post) if view.is_empty else ica_evaluation_messages(post, view)
    system = "\n".join([built[0]["content"], *(m["content"] for m in messages if m["role"] == "system")])
    return [{"role": "system", "content": system}, *turns[:-1], built[1]]


def stated_text(labels: list[str]) -> str | None:
    """The user's explicit edits as the `stated` persona part: what they said they want, in words."""
    return STATED_PREFERENCES + ", ".join(labels) if labels else None


# ---------------------------------------------------------------- the model


class Ranker:
    """Best-of-N with the local model: `alignx.generate.best_of.pick_best` of candidates under reward terms,
    scored by the generating model's weights (under its lock: one use of the model at a time)."""

    def __init__(self, generator: LocalGenerator):
        self.generator = generator
        self._scored = None

    def rank(self, responses: list[str], terms: Sequence[Term], copies: Sequence[bool]) -> Pick:
        """The candidate to answer with; candidates that copy their prompt (`copies`) rank last."""
        from alignx.eval.evaluator import scored
        from alignx.generate.best_of import pick_best

        with self.generator.lock:
            if self._scored is None:
                self._scored = scored(self.generator.loaded, self.generator.name, progress=False)
            return pick_best(responses, terms, self._scored, copies=copies)


@dataclass
class ChatModel:
    """The service's generator, the model names a request may ask for, and the best-of ranker (local only)."""

    generator: Generator
    names: frozenset[str] | None = None  # None: any name (an upstream knows its own models)
    ranker: Ranker | None = None

    @property
    def name(self) -> str:
        return self.generator.name

    @property
    def is_local(self) -> bool:
        """Whether the model runs in this process (steering and best-of score with its weights)."""
        return self.ranker is not None

    def accepts(self, model: str) -> bool:
        return self.names is None or model in self.names

    @classmethod
    def local(cls, spec: str = "default", *, device: str | None = None, dtype: str | None = None,
              threads: int | None = None) -> ChatModel:
        """A transformers model in this process; it answers to 'default', its spec and its name."""
        from alignx.generation.local import LocalGenerator
        from alignx.models import DEFAULT_MODEL

        if threads:
            import torch

            # On a CPU shared with other work, fewer threads than cores avoids OpenMP threads spinning on each other.
            torch.set_num_threads(threads)
        generator = LocalGenerator.load(spec, device=device, dtype=dtype, progress=False)
        return cls(generator, frozenset({DEFAULT_MODEL, spec, generator.name}), Ranker(generator))

    @classmethod
    def upstream(cls, base_url: str, *, model: str | None = None, api_key: str | None = None,
                 key_env: str = DEFAULT_KEY_ENV, timeout: float = 120.0, retries: int = 2) -> ChatModel:
        """An OpenAI-compatible server, checked at once; without `model`, each request's own goes to it."""
        from alignx.generation.upstream import UpstreamGenerator

        generator = UpstreamGenerator.connect(base_url, model or "default", api_key=api_key, key_env=key_env,
                                              workers=1, timeout=timeout, retries=retries,
                                              check_model=model is not None, name=model or "upstream")
        return cls(generator)

    def close(self) -> None:
        self.generator.close()


def load_chat(config: ServeConfig) -> ChatModel:
    """The model a ServeConfig names: `--upstream URL`, else the local `--model`."""
    import os

    if config.upstream:
        model = None if config.model == "default" else config.model
        return ChatModel.upstream(config.upstream, model=model, api_key=os.environ.get(config.upstream_key_env),
                                  key_env=config.upstream_key_env, timeout=config.upstream_timeout,
                                  retries=config.upstream_retries)
    return ChatModel.local(config.model, device=config.device, dtype=config.dtype, threads=config.threads)
