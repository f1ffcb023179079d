"""Reaching the Hugging Face hub: one `Unreachable` line instead of a library's retries and traceback.

Models, datasets and benchmark files named by hub id go through `hub_errors`. Without network the hub
client retries for 25-50 s and then raises from deep inside transformers or datasets; we look the hub's
host up first (instant when there is no network) and turn whatever the download raises into one line
that names what could not be reached and how to use a local copy.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from alignx.errors import Unreachable


def _host_resolves(url: str) -> bool:
    host = urlparse(url).hostname
    if not host:
        return True  # not ours to judge; let the client try
    try:
        socket.getaddrinfo(host, 443)
    except (socket.gaierror, UnicodeError):
        return False
    return True


def _cached(name: str, repo_type: str) -> bool:
    """Whether the hub client's cache holds a snapshot of `name` (it can load it without network)."""
    from huggingface_hub import snapshot_download

    try:
        snapshot_download(name, repo_type=repo_type, local_files_only=True)
    except Exception:  # whatever the failure, the cache cannot serve it
        return False
    return True


def ensure_reachable(kind: str, name: str, *, repo_type: str = "model") -> None:
    """`Unreachable` at once when `name` is a hub id (not a local path), the hub's host does not resolve,
    and the client could not fall back on its cache (not in offline mode, no cached snapshot)."""
    if Path(name).expanduser().exists():
        return
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE or _host_resolves(constants.ENDPOINT) or _cached(name, repo_type):
        return
    raise Unreachable(kind, name, ConnectionError(f"cannot resolve {urlparse(constants.ENDPOINT).hostname}"))


@contextmanager
def hub_errors(kind: str, name: str, *, repo_type: str = "model",
               errors: tuple[type[BaseException], ...] = (OSError,)) -> Iterator[None]:
    """Run a download of hub id `name`; `Unreachable` if `ensure_reachable` says so or the download raises
    one of `errors`. A local path is left alone: its errors are not about reaching anything."""
    if Path(name).expanduser().exists():
        yield
        return
    ensure_reachable(kind, name, repo_type=repo_type)
    try:
        yield
    except errors as e:
        raise Unreachable(kind, name, e) from None
