"""`GenerateConfig`: every setting of `alignx generate`, validated in `__post_init__` (options, help, docs).

Defaults are the released sampling settings (gen_ica.py / gen_pba.py): temperature 0.9, top-k 10,
top-p 0.95, 512 new tokens. `generation_settings` is the part that decides the texts; it is written
to the output's sidecar, and a rerun with other values refuses to mix them into the same file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from alignx.errors import OptionError
from alignx.generation.steering import DEFAULT_LENGTH_WEIGHT, DEFAULT_PLAUSIBILITY, DEFAULT_WEIGHT
from alignx.held_out import METHOD
from alignx.models import DTYPES, untrained
from alignx.openai_server import DEFAULT_KEY_ENV
from alignx.options import check_options, parse_option
from alignx.personas import Persona
from alignx.prompts import PromptKind


class Candidates(str, Enum):
    """Which prompt best-of-N samples its candidates from."""

    UNIVERSAL = "universal"
    PERSONA = "persona"
    BOTH = "both"

    def __str__(self) -> str:
        return self.value


STEERED_PERSONAS = (Persona.PAIR, Persona.ALL)  # personas that hold PAIR choices to steer by


@dataclass
class GenerateConfig:
    """`alignx generate`: what to answer, with which model and sampling, and where to write."""

    # what to answer
    data: str = field(default="demo", metadata={
        "help": "Benchmark (demo, alignx-test, p-soups, prism, uf-p-4, prefeval), a PrefEval checkout, file, folder "
                "or hub dataset id."})
    split: str | None = field(default=None, metadata={
        "help": "Split to answer; default: the data's only split, else 'test'.", "default_text": "test"})
    limit: int | None = field(default=None, metadata={"min": 1, "help": "Answer the first N records only."})
    persona: str = field(default=Persona.ALL.value, metadata={
        "help": "ugc | pair | demo | profile | stated | all | none: what the model is told about the user; none "
                "gives the universal answer."})
    prompt: str | None = field(default=None, metadata={
        "help": "ica | pba: how the persona is put to the model (the evaluation prompts).",
        "default_text": "pba for profile and stated, else ica"})
    output: str = field(kw_only=True, metadata={  # required: no default
        "help": "The JSONL file to write (resumed when it exists); settings go to OUTPUT.meta.json.",
        "short": "-o"})
    overwrite: bool = field(default=False, metadata={
        "help": "Replace OUTPUT: start it over (a rerun with the same settings resumes it instead; one with other "
                "settings is refused without this)."})
    # sampling (the released defaults)
    samples: int = field(default=1, metadata={"min": 1, "help": "Responses per record."})
    temperature: float = field(default=0.9, metadata={"min": 0, "help": "Sampling temperature; 0 decodes greedily."})
    top_k: int = field(default=10, metadata={"min": 0, "help": "Sample from the K most likely tokens (0: all)."})
    top_p: float = field(default=0.95, metadata={"above": 0, "max": 1, "help": "Nucleus sampling mass."})
    max_new_tokens: int = field(default=512, metadata={"min": 1, "help": "Most tokens per response."})
    seed: int = field(default=0, metadata={"help": "Seed of every draw (each batch or request has its own)."})
    # best-of-N
    best_of: int = field(default=1, metadata={"min": 1,
        "help": "Sample N candidates per response and keep the one --reward ranks first (scored by --model)."})
    reward: str = field(default="zero-shot", metadata={
        "help": "The personalized reward that ranks best-of-N candidates (docs/rewards.md)."})
    candidates: str = field(default=Candidates.BOTH.value, metadata={
        "help": "universal | persona | both: the prompt(s) best-of-N samples from (both: alternating)."})
    copy_filter: bool = field(default=True, metadata={
        "help": "Best-of-N: rank candidates that copy their prompt (8 consecutive tokens of it that are not in the "
                "post) below every one that does not."})
    hold_out: bool = field(default=False, metadata={
        "help": "Show the model only part of each user's evidence (every other PAIR choice; without PAIR, no stated "
                "preference), so that alignx judge --judge reward:SPEC can judge on the part held out."})
    steer: float | None = field(default=None, metadata={"min": 0,
        "default_text": f"{DEFAULT_WEIGHT:g} for an untrained local model with --persona pair or all, else 0",
        "help": "Steer decoding by the user's PAIR choices with weight W (0: off, the persona prompt): the answer "
                "reads only the universal prompt, and each token's log-probability gains W x (its log-probability "
                "after the user's chosen responses - after their rejected ones). Local model, --persona pair or all "
                "(only the PAIR choices steer)."})
    plausibility: float | None = field(default=None, metadata={"min": 0, "max": 1,
        "default_text": f"{DEFAULT_PLAUSIBILITY:g} when steering",
        "help": "--steer: choose only tokens at least this share as likely, under the universal prompt alone, as "
                "its most likely one, or the end of the answer (contrastive decoding's plausibility constraint; "
                "0: any token)."})
    steer_length: float | None = field(default=None, metadata={"min": 0,
        "default_text": f"{DEFAULT_LENGTH_WEIGHT:g} when steering",
        "help": "--steer: raise the score of ending the answer by this much per unit of the user's length lean "
                "(+1 when every shown choice took the shorter text by half again or more, -1 the longer, 0 "
                "neither), so their answers end sooner or later (0: off)."})
    # local model
    model: str = field(default="default", metadata={
        "help": "'default' (the embedded SmolLM2-135M-Instruct), a hub id, a model or adapter folder."})
    batch_size: int = field(default=8, metadata={"min": 1, "help": "Sequences generated together (local model)."})
    dtype: str | None = field(default=None, metadata={"choices": tuple(DTYPES),
        "help": "fp32 | bf16 | fp16 for the local model.", "default_text": "bf16 on GPUs that have it, else fp32"})
    device: str | None = field(default=None, metadata={
        "help": "cpu | cuda | cuda:N for the local model.", "default_text": "cuda when present"})
    # upstream server
    upstream: str | None = field(default=None, metadata={
        "help": "Base URL of an OpenAI-compatible server (vLLM, llama.cpp, a hosted API; most end in /v1) to "
                "generate with instead of the local model."})
    upstream_model: str | None = field(default=None, metadata={"help": "The model name the upstream serves."})
    upstream_key_env: str = field(default=DEFAULT_KEY_ENV, metadata={
        "help": "Environment variable holding the upstream's API key (a local server needs none)."})
    workers: int = field(default=8, metadata={"min": 1, "help": "Concurrent upstream requests."})
    timeout: float = field(default=120.0, metadata={"above": 0, "help": "Seconds to wait for one upstream answer."})
    retries: int = field(default=2, metadata={"min": 0,
        "help": "Retries of a failed upstream request (429, 5xx, timeouts), with the client's backoff."})
    progress: bool = field(default=True, metadata={"help": "Show a progress bar with tokens/s on stderr."})

    def __post_init__(self) -> None:
        check_options(self)
        persona = Persona.parse(self.persona)
        self.persona = persona.value
        if persona is Persona.NONE:
            if self.prompt is not None:
                PromptKind.parse(self.prompt)
            self.prompt = None  # the universal prompt has no kind
        else:
            self.prompt = PromptKind.for_persona(persona, self.prompt).value
        self.candidates = parse_option(Candidates, self.candidates, "--candidates").value
        if (self.upstream is None) != (self.upstream_model is None):
            raise OptionError("--upstream and --upstream-model go together: the server's URL and the model it serves")
        if self.upstream is not None and not self.upstream.startswith(("http://", "https://")):
            raise OptionError(f"--upstream {self.upstream!r} is not an http(s) URL; e.g. http://127.0.0.1:8000/v1")
        if self.hold_out and persona is Persona.NONE:
            raise OptionError("--hold-out hides part of the user's evidence from the model; --persona none shows none")
        if self.best_of > 1:
            self._check_best_of(persona)
        if self.steer is None:
            self.steer = DEFAULT_WEIGHT if self._steers_by_default(persona) else 0.0
        if self.steer:
            self._check_steer(persona)
            self.plausibility = DEFAULT_PLAUSIBILITY if self.plausibility is None else self.plausibility
            self.steer_length = DEFAULT_LENGTH_WEIGHT if self.steer_length is None else self.steer_length
        elif self.plausibility:
            raise OptionError("--plausibility bounds what --steer may choose; it needs --steer")
        elif self.steer_length:
            raise OptionError("--steer-length biases the end of a steered answer; it needs --steer")
        else:
            self.plausibility = self.steer_length = 0.0

    def _steers_by_default(self, persona: Persona) -> bool:
        """An untrained local model copies the persona prompt (docs/generate.md): it steers instead, where the
        persona holds PAIR choices and no best-of was asked for."""
        return (persona in STEERED_PERSONAS and self.upstream is None and self.best_of == 1
                and untrained(self.model))

    def _check_steer(self, persona: Persona) -> None:
        if persona not in STEERED_PERSONAS:
            raise OptionError("--steer reads the user's chosen and rejected responses: it needs --persona pair or all")
        if self.upstream is not None:
            raise OptionError("--steer scores every token under three contexts: it needs the local model")
        if self.best_of > 1:
            raise OptionError("--steer and --best-of do not combine: steer one answer, or rank several")

    def _check_best_of(self, persona: Persona) -> None:
        from alignx.eval.settings import EvalSettings

        if persona is Persona.NONE:
            raise OptionError("--best-of ranks candidates by a personalized reward; it needs a --persona, not none")
        EvalSettings(persona=self.persona, prompt=self.prompt, reward=self.reward)  # the reward must read it
        if self.temperature == 0 and self.candidates != Candidates.BOTH.value:
            raise OptionError("--best-of with --temperature 0 would draw the same candidate N times; sample "
                              "(--temperature > 0) or use --candidates both")

    @property
    def persona_type(self) -> Persona:
        return Persona(self.persona)

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def generation_settings(self) -> dict[str, Any]:
        """What decides the texts (written to the sidecar and hashed): a rerun must match these. Batch size,
        workers and timeouts are left out: they change how fast, not what (but sampled draws are seeded per
        batch, so a sampled rerun with another --batch-size draws other, equally valid, texts)."""
        settings: dict[str, Any] = {
            "persona": self.persona, "prompt": self.prompt, "samples": self.samples,
            "temperature": self.temperature, "top_k": self.top_k, "top_p": self.top_p,
            "max_new_tokens": self.max_new_tokens, "seed": self.seed,
            "backend": "upstream" if self.upstream else "local",
            "model": self.upstream_model if self.upstream else self.model,
            "upstream": self.upstream, "dtype": None if self.upstream else self.dtype,
            "best_of": self.best_of,
        }
        if self.hold_out:  # only when on: files made before the option keep their settings' hash
            settings["hold_out"] = METHOD
        if self.steer:  # likewise only when on
            settings["steer"] = self.steer
            if self.plausibility:
                settings["plausibility"] = self.plausibility
            if self.steer_length:
                settings["steer_length"] = self.steer_length
        if self.best_of > 1:
            settings.update(reward=self.reward, candidates=self.candidates, scorer=self.model,
                            copy_filter=self.copy_filter)
        return settings
