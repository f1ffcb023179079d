"""A checked connection to an OpenAI-compatible server, shared by the annotator, the judge and upstream
generation (`alignx generate` and the service's chat): one way to build the official client, check the model,
ask (plain or streamed), and say in one line what went wrong.

`connect` builds the client (local servers need no key; the OpenAI API does), lists the server's models
once, and raises the caller's `UserError` subclass naming the spec, the URL and what to do. `create`
asks for one chat completion: a failure of that request alone (refused, timed out, rate limited, a
server error, after the client's own retries with backoff) is `RequestFailed`, which the caller records
for that item; one every later request would repeat (unreachable, refused key, unknown model) is the
caller's one-line error (`fatal`). The `openai` package loads at the first connection, so commands that only
name `DEFAULT_KEY_ENV` in their options keep `alignx --help` instant.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from alignx.errors import UserError

if TYPE_CHECKING:
    import openai

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_KEY_ENV = "OPENAI_API_KEY"  # where every OpenAI-compatible client finds its key unless told another
NO_KEY = "none"  # local servers (vLLM, llama.cpp) need no key, but the client insists on one
SHOWN_MODELS = 10


def one_line(text: object, limit: int = 200) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[:limit] + "..."


def message(error: openai.APIError) -> str:
    """The server's own words, without the client's "Error code: N - " prefix (the status is said already)."""
    return one_line(re.sub(r"^Error code: \d+ - ", "", str(getattr(error, "message", error))))


def answer_text(response: Any) -> str:
    """The text of a chat completion's first choice; "" when the server sent no choice or no content."""
    content = response.choices[0].message.content if response.choices else None
    return content or ""


def answered(ask: Callable[[T], R], items: Sequence[T], *, workers: int, name: str) -> Iterator[tuple[int, R]]:
    """ask(item) for every item on `workers` threads, yielded as (index, result) in the order the answers
    arrive, so each can be stored at once. An exception from `ask` ends the iteration, and so does a caller
    that stops reading; either way the requests not yet sent are dropped."""
    pool = ThreadPoolExecutor(workers, thread_name_prefix=name)
    try:
        futures = {pool.submit(ask, item): index for index, item in enumerate(items)}
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class Tally(Counter):
    """A Counter the worker threads of `answered` add to (requests, re-asked, failed, tokens, ...)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def add(self, what: str, n: int = 1) -> None:
        with self._lock:
            self[what] += n


class RequestFailed(Exception):
    """One request that failed after the client's retries; the message is the item's failure reason, `error`
    the client's exception."""

    def __init__(self, reason: str, error: openai.APIError):
        super().__init__(reason)
        self.error = error


@dataclass
class Server:
    """The client of one model on one server, and how its errors are worded (`where` starts each message)."""

    client: openai.OpenAI
    model: str
    where: str  # e.g. "openai:gpt-4o-mini: http://127.0.0.1:8000/v1" or "--upstream http://..."
    key_env: str
    timeout: float
    retries: int  # the client's own, on 429 / 5xx / timeouts
    error: type[UserError]

    @property
    def url(self) -> str:
        return str(self.client.base_url).rstrip("/")

    def check_model(self) -> None:
        """The caller's error unless the server answers and offers the model (servers without /models pass)."""
        import openai

        try:
            offered = sorted(m.id for m in self.client.models.list().data)
        except openai.NotFoundError:
            return  # no /models endpoint; a wrong model shows at the first request
        except openai.APIError as e:
            raise self.fatal(e, "GET /models") from None
        if self.model not in offered:
            shown = ", ".join(offered[:SHOWN_MODELS]) + (f", ... ({len(offered)} in all)"
                                                         if len(offered) > SHOWN_MODELS else "")
            raise self.error(f"{self.where} offers no model {self.model!r}; it offers: {shown or 'none'}")

    def create(self, **request):
        """One chat completion of `self.model`, unless `request` names another (`request`: messages, sampling,
        response_format, stream, ...); with `stream=True`, the client's stream of chunks."""
        import openai

        tries = "1 try" if self.retries == 0 else f"{self.retries + 1} tries"
        try:
            return self.client.chat.completions.create(**{"model": self.model, **request})
        except (openai.BadRequestError, openai.UnprocessableEntityError) as e:
            raise RequestFailed(f"the server refused the request ({e.status_code}): {message(e)}", e) from None
        except openai.APITimeoutError as e:
            raise RequestFailed(f"timed out after {self.timeout:g} s ({tries})", e) from None
        except openai.RateLimitError as e:
            raise RequestFailed(f"rate limited (429) ({tries})", e) from None
        except openai.InternalServerError as e:
            raise RequestFailed(f"server error {e.status_code} ({tries}): {message(e)}", e) from None
        except openai.APIError as e:
            raise self.fatal(e, "POST /chat/completions") from None

    def fatal(self, error: openai.APIError, request: str) -> UserError:
        """The one-line error for a failure that every later request would repeat."""
        import openai

        where = self.where
        if isinstance(error, openai.APITimeoutError):
            return self.error(f"{where}: cannot reach it: no answer to {request} within {self.timeout:g} s")
        if isinstance(error, openai.APIConnectionError):
            cause = error.__cause__ or error
            return self.error(f"{where}: cannot reach it ({type(cause).__name__}: {one_line(cause, 160)})")
        if isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
            return self.error(f"{where} refused the key from ${self.key_env} ({error.status_code}): "
                              f"{message(error)}")
        if isinstance(error, openai.NotFoundError):
            return self.error(f"{where} answered 404 to {request} ({message(error)}): no model {self.model!r}, "
                              "or not an OpenAI-compatible base URL (most end in /v1)")
        status = getattr(error, "status_code", None)
        return self.error(f"{where} answered {status or 'an error'} to {request}: {message(error)}")

    def close(self) -> None:
        self.client.close()


def connect(model: str, *, base_url: str | None, api_key: str | None, key_env: str, timeout: float,
            retries: int, error: type[UserError], label: str, url_option: str, check_model: bool = True) -> Server:
    """A `Server`, checked (`check_model`) by listing the server's models. `label` names the caller in messages
    (a spec such as `openai:MODEL`, or an option such as `--upstream`); `url_option` is the option that gives
    a server URL, for the missing-key hint."""
    if not api_key:
        if base_url is None:
            raise error(f"{label}: no API key: set the environment variable {key_env} "
                        f"(or give {url_option} for a server that needs none)")
        api_key = NO_KEY
    import openai

    client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=retries)
    url = str(client.base_url).rstrip("/")
    where = f"{label} {url}" if label.startswith("--") else f"{label}: {url}"
    server = Server(client, model, where, key_env, timeout, retries, error)
    try:
        if check_model:
            server.check_model()
    except BaseException:
        client.close()
        raise
    return server


class ServerBackend:
    """What the openai annotator and the openai judge share: a checked `Server`, our re-asks of unreadable
    answers (`retries`; the client has its own for transport errors), the workers, and the run's `Tally`.
    A subclass names its error class and the option that gives its server's URL."""

    error: type[UserError]
    url_option: str

    def __init__(self, server: Server, *, spec: str, workers: int, retries: int):
        self.server, self.model, self.url, self.spec = server, server.model, server.url, spec
        self.workers, self.retries = workers, retries
        self.stats = Tally()  # requests (ours; the client's own retries are not seen), re-asked, failed, tokens

    @classmethod
    def connect(cls, model: str, *, spec: str, base_url: str | None, api_key: str | None, key_env: str,
                workers: int, timeout: float, retries: int):
        """A client for `model` at `base_url` (None: the OpenAI API), checked by listing the server's models."""
        server = connect(model, base_url=base_url, api_key=api_key, key_env=key_env, timeout=timeout,
                         retries=retries, error=cls.error, label=spec, url_option=cls.url_option)
        return cls(server, spec=spec, workers=workers, retries=retries)
