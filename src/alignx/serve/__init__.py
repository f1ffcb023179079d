"""The personalization cycle as a service: preference memory, personalized chat, feedback, profile page.

`create_app(ServeConfig(...))` builds the FastAPI app; `alignx serve` runs it under uvicorn.
Memory lives in a SQLite file (the default; one process) or PostgreSQL (by URL; any number of replicas).
"""

from alignx.serve.config import ServeConfig

__all__ = ["ServeConfig", "create_app"]


def create_app(*args, **kwargs):  # imported lazily: FastAPI is an optional extra
    from alignx.serve.app import create_app as _create_app

    return _create_app(*args, **kwargs)
