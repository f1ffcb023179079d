"""Who is calling: the operator's admin token or one user's API key, and what each may open.

A user key opens its own user only; any other user id answers 404 whether or not it exists,
so keys cannot probe for users. The admin token (from $ALIGNX_ADMIN_TOKEN) opens everything.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from alignx.serve.deps import Config, Store
from alignx.serve.store import MemoryStore


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str | None  # None: the admin

    @property
    def is_admin(self) -> bool:
        return self.user_id is None


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("missing Authorization: Bearer <api key> header")
    return token.strip()


def principal(request: Request, config: Config, store: Store) -> Principal:
    token = bearer_token(request)
    admin = config.admin_token
    if admin and hmac.compare_digest(token.encode(), admin.encode()):
        return Principal(None)
    user = store.user_for_key(token)
    if user is None:
        raise _unauthorized("unknown API key")
    return Principal(user.id)


Caller = Annotated[Principal, Depends(principal)]


def require_admin(caller: Caller) -> Principal:
    if not caller.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this needs the admin token ($ALIGNX_ADMIN_TOKEN)")
    return caller


def open_user(caller: Principal, user_id: str, store: MemoryStore) -> str:
    """`user_id` if the caller may open it and it exists; 404 otherwise (the same answer for both)."""
    if caller.user_id == user_id:  # the key was looked up in this request, so its user exists
        return user_id
    if caller.is_admin and store.get_user(user_id) is not None:
        return user_id
    raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user {user_id!r} for this key")


Admin = Annotated[Principal, Depends(require_admin)]


def path_user(user_id: str, caller: Caller, store: Store) -> str:
    """The `{user_id}` of a route, once the caller may open it."""
    return open_user(caller, user_id, store)


UserId = Annotated[str, Depends(path_user)]
