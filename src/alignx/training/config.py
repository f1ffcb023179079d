"""`TrainConfig`: everything one `alignx train` run needs, validated, with the paper's defaults.

The config is what `alignx_training.json` records beside the trained weights, what `--resume`
compares against, and what the `--num-processes` workers are started from.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from alignx.errors import OptionError
from alignx.eval.scoring import MAX_LENGTH, MAX_NEW_TOKENS
from alignx.eval.settings import DEFAULT_BETA
from alignx.models import DEFAULT_MODEL, TRAINING_DTYPES
from alignx.options import check_options, parse_option
from alignx.prompts import PromptKind
from alignx.space import UnknownDimension, parse_dimensions

# Learning rates. DPO full fine-tuning: the paper's 5e-7. SFT full fine-tuning: TRL's SFT default.
# LoRA trains a few fresh low-rank matrices from zero, which needs a far larger step than full fine-tuning;
# with contrast batches 1e-3 learned to read the persona on the demo where 2e-4 did not (docs/training.md).
DPO_LEARNING_RATE = 5e-7
SFT_LEARNING_RATE = 2e-5
LORA_LEARNING_RATE = 1e-3


class Method(str, Enum):
    ICA = "ica"  # DPO, the prompt holds the drawn UGC / PAIR history
    PBA = "pba"  # DPO, the prompt holds the profile rendered from the drawn history's directions
    SFT_ICA = "sft-ica"  # SFT on chosen, ICA prompt
    SFT_PBA = "sft-pba"  # SFT on chosen, PBA prompt

    @property
    def is_dpo(self) -> bool:
        return self in (Method.ICA, Method.PBA)

    @property
    def prompt(self) -> PromptKind:
        """Which prompt the method reads."""
        return PromptKind.PBA if self in (Method.PBA, Method.SFT_PBA) else PromptKind.ICA

    @classmethod
    def parse(cls, name: str | Method) -> Method:
        return parse_option(cls, name, "--method")


@dataclass
class TrainConfig:
    """The options of `alignx train`, one field each: `alignx.options` makes the command's options, its
    help and the table in docs/training.md from these fields (metadata "help", "short", "default_text").
    A new option is a new field here (validated in `__post_init__`), then its use in `training.trainer`;
    `python tools/options_docs.py docs/training.md` updates the docs table."""

    # What to train, on what
    output: str = field(metadata={"short": "-o", "help": "Folder for the trained adapter or weights, tokenizer, "
                                  "alignx_training.json, train_log.jsonl and checkpoints."})
    method: str = field(default="ica", metadata={"help": "ica or pba (DPO), sft-ica or sft-pba (SFT on chosen)."})
    data: str = field(default="demo", metadata={"help": "A .json/.jsonl/.parquet file, a hub dataset id or a local "
                                                "folder laid out like one, or 'demo'."})
    split: str | None = field(default=None, metadata={
        "help": "Split to train on; default: the data's only split, else 'train' (never 'test' unless named).",
        "default_text": "train"})
    model: str = field(default=DEFAULT_MODEL, metadata={"help": "'default' (the embedded SmolLM2-135M-Instruct), "
                                                        "a hub id or a local model folder."})
    with_demographic: bool = field(default=True, metadata={"help": "ICA prompts also carry the user's DEMO text, as "
                                                           "the evaluation prompt does (persona 'all'); "
                                                           "--no-with-demographic for the released ICA view."})
    history_targets: bool = field(default=True, metadata={"help": "Also learn each PAIR history item as a pair, the "
                                                          "rest of the user's history as its persona (up to 5 "
                                                          "examples per record); --no-history-targets for one "
                                                          "example per record."})
    contrast_batches: bool = field(default=True, metadata={"help": "Order the data so that opposite choices on the "
                                                           "same post fall in one optimizer step; "
                                                           "--no-contrast-batches for a shuffled order."})
    subset_size: int | None = field(default=None, metadata={"default_text": "all", "help": "Train on N records "
                                                            "drawn at random with --seed (each with its history "
                                                            "targets); the paper's 7% subset is 91918.", "min": 1})
    exclude_dimensions: str | None = field(default=None, metadata={
        "default_text": "none", "help": "Comma-separated dimension indices (0-89) or pole labels: drop every "
        "training example whose target direction is non-neutral on one of them, to test generalisation to "
        "unseen dimensions (alignx analyze novel)."})
    seed: int = field(default=42, metadata={"help": "Seeds the history draws, the data order and the adapter's "
                                            "initialisation."})

    # Optimisation (paper: DPO, beta 0.1, lr 5e-7, global batch 128, 1 epoch, max length 8192, cosine).
    # The default global batch is 8 pairs per process (1 x 8 accumulated, so a CPU pads nothing); runs that
    # reproduce the paper set its 128 explicitly (docs/training.md).
    beta: float = field(default=DEFAULT_BETA, metadata={"above": 0, "help": "DPO beta."})
    learning_rate: float | None = field(default=None, metadata={"default_text": "5e-7 DPO, 2e-5 SFT, 1e-3 LoRA",
                                                                "help": "Peak learning rate; the default depends "
                                                                "on --method and --lora.", "above": 0})
    epochs: float = field(default=1.0, metadata={"help": "Passes over the data (--max-steps wins when given).",
                                                 "above": 0})
    max_steps: int | None = field(default=None, metadata={"min": 1, "help": "Stop after N optimizer steps (wins over "
                                                          "--epochs)."})
    batch_size: int = field(default=1, metadata={"min": 1, "help": "Pairs per process per forward pass."})
    grad_accum: int = field(default=8, metadata={"help": "Forward passes per optimizer step; the global batch is "
                                                 "batch-size x grad-accum x processes.", "min": 1})
    max_length: int = field(default=MAX_LENGTH, metadata={"help": "Prompt + response tokens; prompts are cut from "
                                                          "the left to their last max-length - "
                                                          f"{MAX_NEW_TOKENS + 1} tokens.", "above": MAX_NEW_TOKENS + 2})
    warmup_ratio: float = field(default=0.03, metadata={"help": "Share of steps with a linear warmup.",
                                                        "min": 0, "below": 1})
    lr_scheduler: str = field(default="cosine", metadata={"help": "Learning-rate schedule: any transformers "
                                                          "scheduler name."})
    precompute_ref_log_probs: bool = field(default=False, metadata={"help": "Score the reference model once before "
                                                                    "training (DPO), so it is not kept in memory."})

    # LoRA (PEFT)
    prefix_sharing: bool = field(default=True, metadata={
        "help": "DPO reads each prompt once for both responses (one packed sequence, a shared-prefix attention "
                "mask); same loss and gradients. --no-prefix-sharing gives TRL's concatenated forward."})
    lora: bool = field(default=False, metadata={"help": "Train a LoRA adapter (PEFT) instead of all weights."})
    lora_rank: int = field(default=16, metadata={"min": 1, "help": "LoRA rank r."})
    lora_alpha: int = field(default=32, metadata={"min": 1, "help": "LoRA alpha (scale = alpha / r)."})
    lora_dropout: float = field(default=0.0, metadata={"help": "LoRA dropout (DPO disables dropout anyway).",
                                                       "min": 0, "below": 1})
    lora_targets: str = field(default="all-linear", metadata={"help": "'all-linear' or comma-separated module "
                                                              "names, e.g. q_proj,v_proj."})

    # Hardware, checkpoints, logs
    dtype: str | None = field(default=None, metadata={
        "help": "fp32 | bf16: bf16 is mixed precision (GPUs; also CPUs with bf16 instructions).",
        "default_text": "fp32, or bf16 where an accelerate config asks (the shipped GPU configs do)",
        "choices": TRAINING_DTYPES})
    device: str | None = field(default=None, metadata={"help": "cpu | cuda (each process takes its own GPU).",
                                                       "default_text": "cuda if any, else cpu",
                                                       "choices": ("cpu", "cuda")})
    gradient_checkpointing: bool = field(default=False, metadata={"help": "Recompute activations to save memory."})
    save_steps: int = field(default=500, metadata={"min": 1, "help": "Checkpoint every N optimizer steps."})
    save_total_limit: int | None = field(default=None, metadata={"default_text": "all", "help": "Keep only the "
                                                                 "newest N checkpoints.", "min": 1})
    logging_steps: int = field(default=1, metadata={"help": "Log (progress bar, train_log.jsonl, trackers) every "
                                                    "N steps.", "min": 1})
    report_to: str = field(default="none", metadata={"help": "The Trainer's integrations: none, wandb, tensorboard, "
                                                     "... (comma-separated)."})
    num_processes: int = field(default=1, metadata={"help": "Data-parallel processes on this machine (torchrun; "
                                                    "gloo on CPU, NCCL on GPUs).", "min": 1})
    dataset_num_proc: int | None = field(default=None, metadata={"help": "Processes rendering and tokenizing the "
                                                                 "data (default: the main process alone).", "min": 1})
    resume: bool = field(default=False, metadata={"help": "Continue from the last complete checkpoint in --output; "
                                                  "options that would change the run are refused."})
    overwrite: bool = field(default=False, metadata={"help": "Discard a previous run in --output (its checkpoints "
                                                     "and log)."})
    progress: bool = field(default=True, metadata={"help": "Show a progress bar on stderr."})

    def __post_init__(self) -> None:
        check_options(self)
        self.method = Method.parse(self.method).value
        if not str(self.output).strip():
            raise OptionError("--output must name a folder for the trained model")
        if not self.lora_targets.strip():
            raise OptionError("--lora-targets must be 'all-linear' or module names like q_proj,v_proj")
        if self.exclude_dimensions is not None:
            try:  # kept as canonical sorted indices, so "17,3" and "3,17" are the same run for --resume
                self.exclude_dimensions = ",".join(map(str, parse_dimensions(self.exclude_dimensions)))
            except UnknownDimension as e:
                raise OptionError(f"--exclude-dimensions: {e}") from None
        if self.resume and self.overwrite:
            raise OptionError("--resume continues the run in --output and --overwrite discards it; pass one")
        if self.precompute_ref_log_probs and not self.method_enum.is_dpo:
            raise OptionError("--precompute-ref-log-probs is for DPO (--method ica|pba); SFT has no reference model")

    @property
    def method_enum(self) -> Method:
        return Method(self.method)

    @property
    def lr(self) -> float:
        """The learning rate in use: the explicit one, else the default for the method and LoRA."""
        if self.learning_rate is not None:
            return self.learning_rate
        if self.lora:
            return LORA_LEARNING_RATE
        return DPO_LEARNING_RATE if self.method_enum.is_dpo else SFT_LEARNING_RATE

    @property
    def max_prompt_length(self) -> int:
        """Prompts keep their last this-many tokens (after BOS), as the released evaluation cuts them."""
        return self.max_length - MAX_NEW_TOKENS - 1

    @property
    def target_modules(self) -> str | list[str]:
        names = [n.strip() for n in self.lora_targets.split(",") if n.strip()]
        return "all-linear" if names == ["all-linear"] else names

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


# Options that may differ between a run and its --resume without changing what is trained.
RESUME_FREE = frozenset({"resume", "overwrite", "progress", "device", "report_to", "save_steps", "save_total_limit",
                         "logging_steps", "dataset_num_proc", "prefix_sharing"})


def resume_mismatches(saved: dict[str, Any], current: TrainConfig) -> list[str]:
    """Options of `current` that differ from the run saved in the output folder ('--seed 1 (was 2)')."""
    now = current.to_dict()
    return [f"--{key.replace('_', '-')} {now[key]!r} (the run used {saved[key]!r})"
            for key in now if key not in RESUME_FREE and key in saved and saved[key] != now[key]]
