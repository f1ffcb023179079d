"""Options of `alignx analyze`: the settings every analysis shares (`AnalyzeSettings`) and one config per
analysis; validation in `__post_init__` names the option, and `eval_settings` is the `EvalSettings` row a
variant is scored with (so reward / reference pairings are checked exactly as `alignx eval` checks them)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from alignx.errors import OptionError
from alignx.eval.settings import EvalSettings, RewardSettings, RunSettings
from alignx.options import parse_option
from alignx.space import UnknownDimension, parse_dimensions

RESULT_FREE = ("output", "overwrite", "progress", "device", "batch_size")  # how a run goes, not what it finds


@dataclass
class AnalyzeSettings(RewardSettings, RunSettings):
    """What every analysis reads and how it scores: the options of `alignx eval` but the persona, which
    each analysis varies itself (declared once, see alignx.options)."""

    output: str = field(kw_only=True, metadata={
        "short": "-o", "help": "Folder for the report NAME.json and its plot NAME.png (NAME: the analysis)."})
    overwrite: bool = field(default=False, kw_only=True, metadata={"help": "Replace an existing NAME.json and "
                                                                   "NAME.png in --output."})

    def __post_init__(self) -> None:
        RewardSettings.__post_init__(self)
        RunSettings.__post_init__(self)
        if not str(self.output).strip():
            raise OptionError("--output must name a folder for the report and the plot")

    def eval_settings(self, persona: str, prompt: str | None = None, *, reference: str | None = None) -> EvalSettings:
        """The evaluation row of one variant: this run's reward, β, bootstrap and seed on `persona`."""
        return EvalSettings(persona=persona, prompt=prompt, reward=self.reward,
                            reference=self.reference if reference is None else reference,
                            beta=self.beta, bootstrap=self.bootstrap, seed=self.seed)

    def provenance(self) -> dict:
        """What the report's settings record besides the analysis's own options."""
        return {"data": self.data, "split": self.split, "limit": self.limit, "model": self.model,
                "reward": self.reward, "reference": self.reference, "beta": self.beta, "seed": self.seed,
                "bootstrap": self.bootstrap, "dtype": self.dtype}

    def options(self) -> dict:
        """The options the report depends on; it records them, so a rerun with the same finds it done."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in RESULT_FREE}

    def finished(self, name: str) -> dict | None:
        """This analysis's report in --output when it was made with these options (nothing to compute again);
        None when there is none or with --overwrite; OptionError when a report or plot made otherwise is there."""
        from alignx.outputs import finished_report, refuse_existing

        out = Path(self.output)
        if not (out / f"{name}.json").exists():
            refuse_existing(out / f"{name}.png", self.overwrite)
        return finished_report(out / f"{name}.json", self.overwrite, self.options(), lambda report: report["options"])


class HistoryReading(str, Enum):
    HISTORY = "history"  # ICA: the shown items themselves
    PROFILE = "profile"  # PBA: the profile rendered from the shown items' directions

    @property
    def persona(self) -> str:
        return "all" if self is HistoryReading.HISTORY else "profile"


@dataclass
class HistorySizeConfig(AnalyzeSettings):
    """`alignx analyze history-size`."""

    persona: str = field(default="history", metadata={
        "help": "How the shown items are read: history (the ICA prompt shows them; no DEMO) or profile (the PBA "
                "prompt shows the profile rendered from their directions)."})
    draws: int = field(default=1, metadata={"min": 1, "help": "Random draws of the shown items per record and size."})

    def __post_init__(self) -> None:
        super().__post_init__()
        self.persona = parse_option(HistoryReading, self.persona, "--persona").value
        self.eval_settings(self.reading.persona)  # the reward must be defined for this persona

    @property
    def reading(self) -> HistoryReading:
        return HistoryReading(self.persona)


@dataclass
class ControllabilityConfig(AnalyzeSettings):
    """`alignx analyze controllability`: the profile persona through the PBA prompt."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.eval_settings("profile")


@dataclass
class NovelConfig(AnalyzeSettings):
    """`alignx analyze novel`."""

    persona: str = field(default="all", metadata={
        "help": "ugc | pair | demo | profile | all: what the model is told about the user."})
    prompt: str | None = field(default=None, metadata={
        "help": "ica | pba: how the persona is put to the model.", "default_text": "pba for profile, else ica"})
    unseen: str | None = field(default=None, metadata={
        "default_text": "the model's --exclude-dimensions",
        "help": "Comma-separated dimension indices (0-89) or pole labels held out of training; default: those a "
                "model trained with alignx train --exclude-dimensions recorded in its alignx_training.json."})
    unseen_fraction: float | None = field(default=None, metadata={"above": 0, "below": 1,
        "help": "Instead of --unseen: draw this share of the dimensions the data's target directions use, "
                "with --seed."})

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.persona == "none":
            raise OptionError("--persona none shows the model nothing about the user; choose a persona type")
        self.persona = self.eval_settings(self.persona, self.prompt).persona
        self.prompt = self.eval_settings(self.persona, self.prompt).prompt
        if self.unseen is not None and self.unseen_fraction is not None:
            raise OptionError("--unseen names the dimensions and --unseen-fraction draws them; pass one")
        if self.unseen is not None:
            try:
                self.unseen = ",".join(map(str, parse_dimensions(self.unseen)))
            except UnknownDimension as e:
                raise OptionError(f"--unseen: {e}") from None
