"""The OpenAI-compatible routes: `/v1/models` and `/v1/chat/completions`, plain or streamed (SSE).

A completion is personalized from the caller's memory: the profile and recent history go into
the prompt the chat model sees (`chat.personalize`); `add_routes` at the end is the path table.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import StreamingResponse

from alignx.generate.copying import copies_prompt
from alignx.generation.base import Delta, Generated, GenerationError, Settings, generate_each
from alignx.generation.steering import DEFAULT_LENGTH_WEIGHT, DEFAULT_PLAUSIBILITY, Steered
from alignx.personas import PersonaView
from alignx.prompts import Messages
from alignx.serve.auth import Caller, open_user
from alignx.serve.chat import ChatModel, personalize, stated_text
from alignx.serve.config import ServeConfig
from alignx.serve.deps import Chat, Config, Store
from alignx.serve.memory import Event, UserProfile, build_profile, history_view
from alignx.serve.schemas import ChatRequest
from alignx.space import dimension


def models(_: Caller, chat: Chat) -> dict[str, Any]:
    name = chat.name if chat is not None else None
    return {"object": "list", "data": [{"id": n, "object": "model", "owned_by": "alignx"}
                                       for n in dict.fromkeys(("default", name)) if n]}


def chat_completions(body: ChatRequest, caller: Caller, config: Config, store: Store, chat: Chat):
    if chat is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "this server has no chat backend")
    if not chat.accepts(body.model):
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"model {body.model!r} is not served here; use 'default' or {chat.name!r}")
    if caller.is_admin and not body.user:
        raise HTTPException(422, "body.user: with the admin token, name the user whose memory to use")
    user_id = open_user(caller, caller.user_id or body.user, store)
    max_tokens = body.max_tokens or body.max_completion_tokens or config.max_tokens
    if max_tokens > config.max_tokens_limit:
        raise HTTPException(422, f"body.max_tokens: at most {config.max_tokens_limit} on this server")

    events = store.events(user_id)
    extra = body.model_dump(exclude={"messages", "stream", "max_tokens", "max_completion_tokens", "temperature",
                                     "top_p", "user", "personalize", "n"})
    settings = Settings(max_tokens, body.temperature, top_p=body.top_p, extra=extra)
    meta = {"user_id": user_id, "mode": "universal" if not body.personalize else config.mode}
    ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    done = None
    if config.steer and body.personalize and chat.is_local:
        request, settings = _steered(body, events, config, settings, meta)
    else:
        request = _personalized(body, events, config)
        if config.best_of > 1 and body.personalize and chat.is_local:
            done = _best_of(body, events, config, chat, request, settings, meta)
    if body.stream:
        deltas = _deltas_of(done) if done is not None else chat.generator.stream(request, settings)
        return StreamingResponse(_sse(chat.name, deltas, ident, created, meta), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    if done is None:
        [done] = generate_each(chat.generator, [request], settings)
        if body.personalize:
            meta["copies"] = copies_prompt(done.text, _read(request), _post(body))
    return _completion(done, ident, created, chat.name, meta)


def _personalized(body: ChatRequest, events: list[Event], config: ServeConfig) -> Messages:
    """The request's messages with the user's profile, stated overrides and history put in (the universal
    messages, which read none of them, for `"personalize": false`)."""
    messages = [m.plain() for m in body.messages]
    if not body.personalize:
        return personalize(messages, mode=config.mode, view=PersonaView(), profile="", universal=True)
    profile = build_profile(events, guarded=config.guarded, half_life_days=config.half_life_days)
    return personalize(messages, mode=config.mode, view=_view(events, config, profile), profile=profile.text)


def _view(events: list[Event], config: ServeConfig, profile: UserProfile) -> PersonaView:
    """The user's recent history and, as their stated preference, the labels of their explicit edits."""
    stated = [dimension(i).positive if v > 0.5 else dimension(i).negative
              for i, v in sorted(profile.overrides.items()) if v != 0.5]
    return replace(history_view(events, config.history_items), stated=stated_text(stated))


def _post(body: ChatRequest) -> str:
    return [m for m in body.messages if m.role == "user"][-1].plain()["content"]


def _read(request: Messages | Steered) -> Messages:
    """Every message the model read for an answer: a steered answer's three contexts."""
    return [*request.messages, *request.toward, *request.away] if isinstance(request, Steered) else request


def _steered(body: ChatRequest, events: list[Event], config: ServeConfig, settings: Settings,
             meta: dict[str, Any]) -> tuple[Messages | Steered, Settings]:
    """The steered request (`alignx.generation.steering`): the universal messages, shifted by the user's last
    `history_items` feedback choices as the zero-shot PAIR reward reads them; the universal request when the
    memory holds no choice yet."""
    universal = _personalized(body.model_copy(update={"personalize": False}), events, config)
    pairs = history_view(events, config.history_items).pairs
    steered = Steered.by_choices(universal, _post(body), pairs)
    meta["steer"] = {"weight": config.steer, "choices": len(pairs), "length_lean": steered.lean}
    if not pairs:
        return universal, settings
    return steered, replace(settings, steer=config.steer, steer_plausibility=DEFAULT_PLAUSIBILITY,
                            steer_length=DEFAULT_LENGTH_WEIGHT)


def _best_of(body: ChatRequest, events: list[Event], config: ServeConfig, chat: ChatModel, messages: Messages,
             settings: Settings, meta: dict[str, Any]) -> Generated | None:
    """The best of `config.best_of` sampled candidates, persona and universal prompts alternating, under the
    zero-shot reward of the user's memory (candidates that copy their prompt last); None when the memory gives it
    nothing to read."""
    from alignx.eval import rewards
    from alignx.eval.settings import DEFAULT_BETA
    from alignx.eval.terms import RewardContext
    from alignx.generate.best_of import candidate_requests, candidate_sources
    from alignx.generate.config import Candidates
    from alignx.personas import Persona
    from alignx.prompts import PromptKind

    kind = PromptKind(config.mode)
    profile = build_profile(events, guarded=config.guarded, half_life_days=config.half_life_days)
    if kind is PromptKind.PBA:
        view, persona = PersonaView(profile=profile.text or None), Persona.PROFILE
    else:
        view, persona = _view(events, config, profile), Persona.ALL
    post = _post(body)
    context = RewardContext(post, view, persona, kind, "none", DEFAULT_BETA)
    terms = [] if view.is_empty else rewards.get("zero-shot").terms(context)
    if not terms:
        return None
    universal = _personalized(body.model_copy(update={"personalize": False}), events, config)
    sampled = replace(settings, temperature=settings.temperature or 0.9, top_p=settings.top_p or 0.95)
    sources = candidate_sources(config.best_of, Candidates.BOTH)
    requests = candidate_requests(messages, universal, sources)
    candidates = generate_each(chat.generator, requests, sampled)
    copies = [copies_prompt(c.text, m, post) for c, m in zip(candidates, requests, strict=True)]
    pick = chat.ranker.rank([c.text for c in candidates], terms, copies)
    meta["best_of"] = {"n": config.best_of, "chosen_from": sources[pick.index],
                       "rewards": [round(r, 4) for r in pick.rewards], "copies": copies}
    meta["copies"] = copies[pick.index]
    return candidates[pick.index]


def _deltas_of(done: Generated) -> Iterator[Delta]:
    """A finished answer in the shape `_sse` streams from."""
    yield Delta(done.text)
    yield Delta("", done.finish_reason)


def _completion(done: Generated, ident: str, created: int, model: str, meta: dict[str, Any]) -> dict[str, Any]:
    usage = None
    if done.prompt_tokens is not None:
        usage = {"prompt_tokens": done.prompt_tokens, "completion_tokens": done.tokens,
                 "total_tokens": done.prompt_tokens + done.tokens}
    return {
        "id": ident, "object": "chat.completion", "created": created, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": done.text},
                     "finish_reason": done.finish_reason}],
        "usage": usage, "alignx": meta,
    }


def _sse(model: str, deltas: Iterator[Delta], ident: str, created: int, meta: dict[str, Any]) -> Iterator[str]:
    """OpenAI's streaming format: a role chunk, content chunks, a finish chunk, then `data: [DONE]`."""

    def chunk(delta: dict[str, str], finish: str | None = None) -> str:
        body = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], "alignx": meta}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    try:
        for delta in deltas:
            if delta.text:
                yield chunk({"content": delta.text})
            if delta.finish_reason:
                yield chunk({}, delta.finish_reason)
    except GenerationError as e:  # the status line is already sent; report in-band as OpenAI servers do
        yield f"data: {json.dumps({'error': {'message': str(e), 'type': 'backend_error'}})}\n\n"
    yield "data: [DONE]\n\n"


def add_routes(router: APIRouter) -> None:
    """Put these routes on `router`, the app's own (see create_app)."""
    router.get("/v1/models")(models)
    router.post("/v1/chat/completions")(chat_completions)
