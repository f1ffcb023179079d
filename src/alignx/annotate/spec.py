"""Pick an annotator backend from a spec string, like `--model` picks a model.

    local:DIR        a learned inferencer folder (`alignx annotate train` writes one)
    openai:MODEL     MODEL on an OpenAI-compatible chat server (--annotator-url; key from an env variable)

`AnnotatorSettings` holds the options every command that annotates shares (`alignx annotate`,
`alignx serve --annotator`); commands inherit it so the options are declared once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from alignx.annotate.base import Annotator
from alignx.errors import OptionError
from alignx.models import DTYPES
from alignx.openai_server import DEFAULT_KEY_ENV
from alignx.options import check_options

BACKENDS = ("local", "openai")
# The options of a local inferencer's placement, for every command that loads one.
INFERENCER_DEVICE = {"help": "torch device of a local inferencer.", "default_text": "cuda if any, else cpu"}
INFERENCER_DTYPE = {"help": "fp32 | bf16 | fp16 of a local inferencer.", "choices": tuple(DTYPES),
                    "default_text": "bf16 where the hardware has it, else fp32"}


@dataclass
class AnnotatorSettings:
    annotator: str | None = field(default=None, metadata={
        "help": "local:DIR (an inferencer folder from `alignx annotate train`) or openai:MODEL (an "
                "OpenAI-compatible server, see --annotator-url)."})
    annotator_url: str | None = field(default=None, metadata={
        "help": "Base URL of the OpenAI-compatible server of openai:MODEL, e.g. http://127.0.0.1:8080/v1.",
        "default_text": "the OpenAI API"})
    annotator_key_env: str = field(default=DEFAULT_KEY_ENV, metadata={
        "help": "Environment variable holding the openai backend's API key."})
    annotator_workers: int = field(default=8, metadata={"help": "Concurrent requests of the openai backend.", "min": 1})
    annotator_timeout: float = field(default=60.0, metadata={"help": "Seconds per openai request.", "above": 0})
    annotator_retries: int = field(default=3, metadata={
        "help": "openai: retries of a request after a 429/5xx/timeout or an answer that does not parse.", "min": 0})

    def check_annotator(self) -> None:
        """OptionError for settings that cannot work, before anything is loaded."""
        check_options(self)
        if self.annotator is not None:
            split_spec(self.annotator)
        if self.annotator_url is not None and not self.annotator_url.startswith(("http://", "https://")):
            raise OptionError(f"--annotator-url {self.annotator_url!r} must be an http(s) URL such as "
                              "http://127.0.0.1:8080/v1")


def split_spec(spec: str) -> tuple[str, str]:
    """`openai:gpt-4o-mini` -> ("openai", "gpt-4o-mini"); OptionError for anything else."""
    kind, sep, rest = spec.partition(":")
    if not sep or kind not in BACKENDS or not rest:
        raise OptionError(f"--annotator {spec!r}: write local:DIR (a trained inferencer folder) or openai:MODEL")
    return kind, rest


def load_annotator(settings: AnnotatorSettings, *, device: str | None = None, dtype: str | None = None) -> Annotator:
    """The backend `settings.annotator` names, checked: AnnotatorError (one line naming the spec) when it
    cannot be used: a missing key, an unreachable server, an unknown model, a folder that is no inferencer."""
    if settings.annotator is None:
        raise OptionError("--annotator is required: local:DIR or openai:MODEL")
    settings.check_annotator()
    kind, rest = split_spec(settings.annotator)
    if kind == "local":
        from alignx.annotate.local import LocalInferencer

        return LocalInferencer.load(rest, spec=settings.annotator, device=device, dtype=dtype)
    from alignx.annotate.openai_backend import OpenAIAnnotator

    key = os.environ.get(settings.annotator_key_env)
    return OpenAIAnnotator.connect(
        rest, spec=settings.annotator, base_url=settings.annotator_url, api_key=key,
        key_env=settings.annotator_key_env, workers=settings.annotator_workers,
        timeout=settings.annotator_timeout, retries=settings.annotator_retries,
    )
