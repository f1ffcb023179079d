"""The settings of an evaluation: how a persona becomes a reward and how accuracy is summarised
(`RewardSettings`, `EvalSettings`), what to score on (`RunSettings`), and `alignx eval`'s options (`EvalConfig`).
Declared once as dataclass fields; the CLI, the report spec and the analyses read them (alignx.options)."""

from __future__ import annotations

from dataclasses import dataclass, field

from alignx.errors import OptionError
from alignx.eval import rewards
from alignx.models import DTYPES
from alignx.options import check_options
from alignx.personas import Persona
from alignx.prompts import PromptKind

DEFAULT_BETA = 0.1
BUILTIN_REFERENCES = ("none", "base", "raw")  # any other --reference is a model spec


@dataclass
class RewardSettings:
    """How a persona becomes a reward and how accuracy is summarised: shared by `alignx eval`, the rows of
    `alignx report` and the analyses (declared once, see alignx.options)."""

    reward: str = field(default="dpo", metadata={
        "help": "How the persona becomes a reward: dpo (the released protocol, with --reference) or a "
                "zero-training reward; zero-shot is the one recommended for untrained models (docs/rewards.md)."})
    reference: str = field(default="none", metadata={
        "help": "For --reward dpo: none (same model, universal prompt: persona lift) | base (the adapter's "
                "base) | raw (no reference) | a model spec."})
    beta: float = field(default=DEFAULT_BETA, metadata={"help": "β of the dpo reward.", "above": 0})
    bootstrap: int = field(default=1000, metadata={"help": "Bootstrap rounds of each 95% interval.", "min": 0})
    seed: int = field(default=0, metadata={"help": "Seeds the bootstrap (and an analysis's random draws)."})

    def __post_init__(self) -> None:
        check_options(self)
        reward = rewards.get(self.reward)
        if not reward.uses_reference and self.reference != "none":
            raise OptionError(f"--reward {reward.name} is scored by the model alone; leave --reference out")


@dataclass
class EvalSettings(RewardSettings):
    """What one evaluation run reads (a row of a table); the report records these and the provenance."""

    persona: str = field(default=Persona.ALL.value, metadata={
        "help": "ugc | pair | demo | profile | stated | all | none: what the model is told about the user."})
    prompt: str | None = field(default=None, metadata={
        "help": "ica | pba: how the persona is put to the model.",
        "default_text": "pba for profile and stated, else ica"})

    def __post_init__(self) -> None:
        persona = Persona.parse(self.persona)
        self.persona = persona.value
        self.prompt = PromptKind.for_persona(persona, self.prompt).value
        reward = rewards.get(self.reward)
        if persona not in reward.personas:
            raise OptionError(f"--reward {reward.name} is defined for persona "
                              f"{', '.join(p.value for p in reward.personas)}; not {persona}")
        RewardSettings.__post_init__(self)
        if persona is Persona.NONE and self.reference == "none" and reward.uses_reference:
            raise OptionError("--persona none with --reference none compares the universal prompt with itself; "
                              "use --reference raw for the universal baseline")

    @property
    def persona_type(self) -> Persona:
        return Persona(self.persona)


@dataclass
class RunSettings:
    """What to score on and how: the data, the model, batching and precision (shared by `alignx eval` and
    the analyses; declared once, see alignx.options)."""

    data: str = field(default="demo", metadata={
        "help": "Benchmark (demo, alignx-test, p-soups, prism, uf-p-4, prefeval), a PrefEval checkout, file, folder "
                "or hub dataset id."})
    split: str | None = field(default=None, metadata={
        "help": "Split to read; default: the data's only split, else 'test'.", "default_text": "test"})
    model: str = field(default="default", metadata={
        "help": "'default' (the embedded SmolLM2-135M-Instruct), a hub id, a model or adapter folder."})
    limit: int | None = field(default=None, metadata={"help": "Use the first N records only.", "min": 1})
    batch_size: int = field(default=8, metadata={"help": "Sequences per forward pass.", "min": 1})
    dtype: str | None = field(default=None, metadata={
        "help": "fp32 | bf16 | fp16 for the model.", "default_text": "bf16 on GPUs that have it, else fp32",
        "choices": tuple(DTYPES)})
    device: str | None = field(default=None, metadata={
        "help": "torch device: cpu, cuda or cuda:N.",
        "default_text": "cuda if any (a launcher's process: its own GPU), else cpu"})
    progress: bool = field(default=True, metadata={"help": "Show progress bars with tokens/s on stderr."})

    def __post_init__(self) -> None:
        check_options(self)


@dataclass
class EvalConfig(EvalSettings, RunSettings):
    """`alignx eval`: one run's settings plus what to run them on (declared once, see alignx.options)."""

    output: str | None = field(default=None, metadata={"help": "Write the full JSON report here (atomically)."})
    overwrite: bool = field(default=False, metadata={"help": "Replace an existing --output report."})

    def __post_init__(self) -> None:
        EvalSettings.__post_init__(self)
        RunSettings.__post_init__(self)
