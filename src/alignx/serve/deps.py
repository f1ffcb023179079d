"""What the app holds in `app.state` (config, store, chat model, inference worker) as per-request dependencies.

`create_app` sets the state; routes and auth declare `config: Config`, `store: Store`,
`chat: Chat` or `inference: Inference` instead of reaching into `request.app.state` themselves.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from alignx.serve.chat import ChatModel
from alignx.serve.config import ServeConfig
from alignx.serve.inference import InferenceWorker
from alignx.serve.store import MemoryStore


def app_config(request: Request) -> ServeConfig:
    return request.app.state.config


def app_store(request: Request) -> MemoryStore:
    return request.app.state.store


def app_chat(request: Request) -> ChatModel | None:
    """The chat model, or None when the server has none (--no-chat)."""
    return request.app.state.chat


def app_inference(request: Request) -> InferenceWorker | None:
    """The background annotator of direction-less feedback and content, or None without --annotator."""
    return request.app.state.inference


Config = Annotated[ServeConfig, Depends(app_config)]
Store = Annotated[MemoryStore, Depends(app_store)]
Chat = Annotated[ChatModel | None, Depends(app_chat)]
Inference = Annotated[InferenceWorker | None, Depends(app_inference)]
