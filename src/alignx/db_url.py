"""How a database URL is shown in messages: the one place its password is masked."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import URL


def redact(url: str | URL) -> str:
    """`url` as SQLAlchemy renders it with the password as `***`; a text SQLAlchemy cannot read as a URL (it then
    has no `user:password@` part) is shown as given."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return str(url)
