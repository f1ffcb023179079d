"""Errors a user can fix, apart from bugs.

Everything alignx raises because of its input (a bad record, an unknown option value, a model or
dataset that cannot be reached, a guard refusal) is a `UserError`: the CLI, the training launcher
and the service catch this class alone and answer with one line (exit 2) or a 4xx naming the field.
Any other exception is a bug and keeps its traceback. `UserError` subclasses `ValueError` because
each is a bad value, and so that pydantic validators turn it into a 422 as they do a `ValueError`.
"""

from __future__ import annotations


class UserError(ValueError):
    """An error the user can fix; its message says what was wrong and, where there is one, the fix."""


class OptionError(UserError):
    """An option or setting with a value outside what it accepts; the message names the option."""


class InputNotFound(UserError):
    """A file, folder or dataset named by the user that does not exist."""


class Unreachable(UserError):
    """A hub name (model or dataset) that could not be fetched: no network, or no such name."""

    def __init__(self, kind: str, name: str, cause: BaseException | None = None):
        self.kind, self.name = kind, name
        detail = f" ({type(cause).__name__})" if cause is not None else ""
        super().__init__(f"cannot reach {kind} {name!r} on the Hugging Face hub{detail}; without network, "
                         f"download it elsewhere and pass its local folder instead")


def record_prefix(source: object, number: int) -> str:
    """The `file: record N` prefix every message about one record of a data source starts with."""
    return f"{source}: record {number}"
