"""What the app holds in `app.state` (config, store, chat backend, inference worker) as per-request dependencies.

`create_app` sets the state; routes and auth declare `config: Config`, `store: Store`,
`backend: Backend` or `inference: Inference` instead of reaching into `request.app.state` themselves.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from alignx.serve.chat import ChatBackend
from alignx.serve.config import ServeConfig
from alignx.serve.inference import InferenceWorker
from alignx.serve.store import MemoryStore


def app_config(request: Request) -> ServeConfig:
    return request.app.state.config


def app_store(request: Request) -> MemoryStore:
    return request.app.state.store


def app_backend(request: Request) -> ChatBackend | None:
    """The chat backend, or None when the server has none (set at startup when given a factory)."""
    return request.app.state.backend


def app_inference(request: Request) -> InferenceWorker | None:
    """The background annotator of direction-less feedback and content, or None without --annotator."""
    return request.app.state.inference


Config = Annotated[ServeConfig, Depends(app_config)]
Store = Annotated[MemoryStore, Depends(app_store)]
Backend = Annotated[ChatBackend | None, Depends(app_backend)]
Inference = Annotated[InferenceWorker | None, Depends(app_inference)]
