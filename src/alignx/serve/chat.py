"""Personalized chat: turn a conversation into the evaluation prompts, and generate with a backend.

The last user message is the task post; ICA shows the user's recent history (`ica_evaluation_messages`,
the released evaluation prompt), PBA their profile (`pba_messages`), the universal answer neither.
Backends: a local transformers model (streamed through `TextIteratorStreamer`) or any
OpenAI-compatible server over HTTP, to which we only add the persona.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from alignx.errors import UserError
from alignx.personas import PersonaView
from alignx.prompts import Messages, PromptKind, ica_evaluation_messages, pba_messages, universal_messages

STATED_PREFERENCES = "Stated preferences: "


@dataclass(frozen=True)
class GenParams:
    max_tokens: int
    temperature: float | None = None  # None or 0: greedy
    top_p: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # other OpenAI fields, forwarded upstream only


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str  # "stop" | "length"
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass(frozen=True)
class Delta:
    text: str
    finish_reason: str | None = None  # set on the last delta only


class ChatBackend(Protocol):
    name: str

    def accepts(self, model: str) -> bool: ...
    def complete(self, messages: Messages, params: GenParams) -> Completion: ...
    def stream(self, messages: Messages, params: GenParams) -> Iterator[Delta]: ...
    def close(self) -> None: ...


class BackendError(RuntimeError):
    """The generation backend failed (an upstream answered an error or could not be reached)."""


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


# ---------------------------------------------------------------- local model


class _Cancel:
    """A StoppingCriteria-shaped callable: stops generation once the client has gone."""

    def __init__(self):
        self.event = threading.Event()

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


class LocalBackend:
    """A transformers model in this process; one generation at a time (they would only share the cores)."""

    def __init__(self, spec: str = "default", *, device: str | None = None, dtype: str | None = None,
                 threads: int | None = None):
        from alignx.models import DEFAULT_MODEL, EMBEDDED_NAME, load

        self.loaded = load(spec, device=device, dtype=dtype)
        if threads:
            import torch

            # On a CPU shared with other work, fewer threads than cores avoids OpenMP threads spinning on each other.
            torch.set_num_threads(threads)
        self.name = EMBEDDED_NAME if spec == DEFAULT_MODEL else spec
        self._names = {DEFAULT_MODEL, spec, self.name}
        self._lock = threading.Lock()

    def accepts(self, model: str) -> bool:
        return model in self._names

    def _prepare(self, messages: Messages, params: GenParams) -> tuple[Any, dict[str, Any]]:
        from alignx.prompts import render

        tok = self.loaded.tokenizer
        # The chat template already writes any BOS the model expects.
        inputs = tok(render(tok, messages), return_tensors="pt", add_special_tokens=False).to(self.loaded.device)
        sample = bool(params.temperature)
        kwargs: dict[str, Any] = {
            "max_new_tokens": params.max_tokens,
            "do_sample": sample,
            "pad_token_id": tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
        }
        if sample:
            kwargs["temperature"] = params.temperature
            kwargs["top_p"] = params.top_p if params.top_p is not None else 1.0
        else:  # greedy; unset the checkpoint's sampling defaults so transformers does not warn
            kwargs.update(temperature=None, top_p=None, top_k=None)
        return inputs, kwargs

    def _finish(self, new_tokens: int, last_token: int | None, params: GenParams) -> str:
        eos = self.loaded.model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos]) | {self.loaded.tokenizer.eos_token_id}
        return "length" if new_tokens >= params.max_tokens and last_token not in eos_ids else "stop"

    def complete(self, messages: Messages, params: GenParams) -> Completion:
        import torch

        inputs, kwargs = self._prepare(messages, params)
        with self._lock, torch.inference_mode():
            out = self.loaded.model.generate(**inputs, **kwargs)
        prompt_len = inputs["input_ids"].shape[1]
        new = out[0, prompt_len:]  # (T_new,)
        text = self.loaded.tokenizer.decode(new, skip_special_tokens=True)
        last = int(new[-1]) if len(new) else None
        return Completion(text, self._finish(len(new), last, params), prompt_len, len(new))

    def stream(self, messages: Messages, params: GenParams) -> Iterator[Delta]:
        import torch
        from transformers import StoppingCriteriaList, TextIteratorStreamer

        inputs, kwargs = self._prepare(messages, params)
        streamer = TextIteratorStreamer(self.loaded.tokenizer, skip_prompt=True, skip_special_tokens=True)
        cancel = _Cancel()
        result: dict[str, Any] = {}

        def run():
            try:
                with self._lock, torch.inference_mode():
                    result["out"] = self.loaded.model.generate(
                        **inputs, **kwargs, streamer=streamer, stopping_criteria=StoppingCriteriaList([cancel])
                    )
            except BaseException as e:  # surfaced to the consumer below
                result["error"] = e
                streamer.end()

        thread = threading.Thread(target=run, name="alignx-generate", daemon=True)
        thread.start()
        try:
            for text in streamer:
                if text:
                    yield Delta(text)
        finally:
            cancel.event.set()  # a client that went away stops the generation at the next token
            if threading.current_thread() is not thread:  # the garbage collector may close us from any thread
                thread.join()
        if "error" in result:
            raise BackendError(f"generation failed: {result['error']}") from result["error"]
        new = result["out"][0, inputs["input_ids"].shape[1]:]
        yield Delta("", self._finish(len(new), int(new[-1]) if len(new) else None, params))

    def rank(self, responses: list[str], terms: list) -> Any:
        """`alignx.generate.best_of.pick_best` of `responses` under reward `terms`, scored by this model (under
        the generation lock: one use of the model at a time); scaffold echoes rank last."""
        from alignx.eval.evaluator import scored
        from alignx.generate.best_of import pick_best

        with self._lock:
            if getattr(self, "_scored", None) is None:
                self._scored = scored(self.loaded, self.name, progress=False)
            return pick_best(responses, terms, self._scored, scaffold_filter=True)

    def close(self) -> None:
        pass


# ---------------------------------------------------------------- upstream server


class UpstreamBackend:
    """Any OpenAI-compatible server (vLLM, llama.cpp, a hosted API): we forward the personalized messages."""

    def __init__(self, base_url: str, *, model: str | None = None, api_key: str | None = None,
                 timeout: float = 120.0):
        import httpx

        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = model or "upstream"
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def accepts(self, model: str) -> bool:
        return True  # the upstream knows its own model names

    def _body(self, messages: Messages, params: GenParams, stream: bool) -> dict[str, Any]:
        body = {k: v for k, v in params.extra.items() if v is not None}
        model = body.pop("model", None)
        if model in (None, "default"):
            model = self.model or model
        body.update(model=model, messages=messages, stream=stream, max_tokens=params.max_tokens)
        if params.temperature is not None:
            body["temperature"] = params.temperature
        if params.top_p is not None:
            body["top_p"] = params.top_p
        return body

    def _check(self, response) -> None:
        if response.is_error:
            response.read()
            raise BackendError(f"upstream {self.base_url} answered {response.status_code}: {response.text[:300]}")

    def complete(self, messages: Messages, params: GenParams) -> Completion:
        import httpx

        try:
            response = self._client.post("/chat/completions", json=self._body(messages, params, False))
        except httpx.HTTPError as e:
            raise BackendError(f"upstream {self.base_url} unreachable: {e}") from e
        self._check(response)
        try:
            payload = response.json()
            choice = payload["choices"][0]
            usage = payload.get("usage") or {}
            return Completion(choice["message"].get("content") or "", choice.get("finish_reason") or "stop",
                              usage.get("prompt_tokens"), usage.get("completion_tokens"))
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise BackendError(f"upstream {self.base_url} sent a malformed completion: {e}") from e

    def stream(self, messages: Messages, params: GenParams) -> Iterator[Delta]:
        import httpx

        finish = None
        try:
            with self._client.stream("POST", "/chat/completions", json=self._body(messages, params, True)) as r:
                self._check(r)
                for line in r.iter_lines():
                    if not line.startswith("data:"):
                        continue  # SSE comments, event names, keep-alives
                    data = line[len("data:"):].strip()
                    if data == "[DONE]":
                        break
                    choice = (json.loads(data).get("choices") or [{}])[0]
                    finish = choice.get("finish_reason") or finish
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        yield Delta(text)
        except httpx.HTTPError as e:
            raise BackendError(f"upstream {self.base_url} failed: {e}") from e
        except (ValueError, AttributeError) as e:
            raise BackendError(f"upstream {self.base_url} sent a malformed stream: {e}") from e
        yield Delta("", finish or "stop")

    def close(self) -> None:
        self._client.close()


def make_backend(config) -> ChatBackend:
    """The backend a ServeConfig names: `--upstream URL`, else the local `--model`."""
    if config.upstream:
        model = None if config.model == "default" else config.model
        return UpstreamBackend(config.upstream, model=model, api_key=config.upstream_api_key,
                               timeout=config.upstream_timeout)
    return LocalBackend(config.model, device=config.device, dtype=config.dtype, threads=config.threads)
