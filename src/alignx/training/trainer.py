"""Wire a `TrainConfig` to TRL: DPOTrainer (ica, pba) or SFTTrainer (sft-*), PEFT LoRA, checkpoints.

`run_training` runs in every data-parallel process (one, or N under torchrun / accelerate launch) and
leaves the output folder `alignx eval --model OUT` loads: adapter or weights, tokenizer,
`alignx_training.json` (config + base model spec), `train_log.jsonl` and `checkpoint-N/` folders.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accelerate.utils import is_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback, ProgressCallback, TrainerCallback
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR
from trl import DPOConfig, DPOTrainer, SFTConfig, SFTTrainer
from trl.trainer import utils as trl_utils
from trl.trainer.utils import global_then_local_main_first

from alignx.atomic import atomic_write
from alignx.errors import UserError
from alignx.models import DEFAULT_MODEL, TRAINING_CONFIG, ModelSpecError, pick_device, resolve
from alignx.prompts import render
from alignx.training.callbacks import LOG_FILE, JsonlLog, StepProgress
from alignx.training.config import TrainConfig, resume_mismatches
from alignx.training.data import build_dataset
from alignx.training.prefix_sharing import share_prefixes


@contextmanager
def completions_only_lm_head_on_cpu() -> Iterator[None]:
    """While the block runs, TRL's fused LM head projects only the completion positions on CPU, as it does
    on GPUs; the private function it patches is restored on exit.

    TRL (1.16) projects the hidden states of *every* position through the LM head on devices without
    Triton and masks the prompt positions afterwards, so that accelerators that compile per shape keep
    one shape. On a CPU that costs the vocabulary projection, its log-softmax and their backward on
    the whole prompt: with ICA prompts (hundreds of tokens before a ~30-token response) that was 40%
    of a training step. Eager CPU code has nothing to recompile, so select the completion positions
    first; the values are the same (tests/test_train.py checks them against a plain forward pass).
    TRL is pinned to the minor version this was written for; another layout keeps TRL's behaviour.
    """
    device_rule = getattr(trl_utils, "_use_triton", None)
    if device_rule is None:
        yield
        return

    def compact_on_cpu(device):
        return device.type == "cpu" or device_rule(device)

    trl_utils._use_triton = compact_on_cpu
    try:
        yield
    finally:
        trl_utils._use_triton = device_rule


class PretokenizedDPOTrainer(DPOTrainer):
    """DPOTrainer that takes prompt_ids / chosen_ids / rejected_ids as given.

    TRL tokenizes prompt+response as one string (BOS from the tokenizer, tokens may merge across the
    boundary); the AlignX evaluation tokenizes them apart. Training on the evaluation's tokens keeps
    what the model learns and what `alignx eval` scores the same sequences. `_prepare_dataset` is a
    private TRL method: TRL is pinned to the tested minor version, and tests/test_train.py checks that
    the method still exists with this signature.
    """

    def __init__(self, *args, prefix_sharing: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if prefix_sharing:  # on the fused forward TRL has just installed (see alignx.training.prefix_sharing)
            share_prefixes(self.model.get_base_model() if is_peft_model(self.model) else self.model)
            if self.ref_model is not None:
                share_prefixes(self.accelerator.unwrap_model(self.ref_model))

    def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
        if "prompt_ids" in dataset.column_names:
            return dataset
        return super()._prepare_dataset(dataset, processing_class, args, dataset_name)


@dataclass(frozen=True)
class TrainResult:
    output: Path
    world_size: int  # processes the trainer reported, not the flag passed
    global_step: int
    metrics: dict[str, Any]

    def summary(self) -> str:
        """The line `alignx train` ends with, in one process or as the main one of several."""
        processes = "process" if self.world_size == 1 else "processes"
        return (f"{self.world_size} {processes} ran (world size reported by the trainer); "
                f"{self.global_step} steps; saved to {self.output}")


def base_model_spec(spec: str) -> str:
    """What `alignx_training.json` records as the base: 'default', an absolute folder, or a hub id."""
    if spec == DEFAULT_MODEL:
        return spec
    path = Path(spec).expanduser()
    return str(path.resolve()) if path.is_dir() else spec


def last_complete_checkpoint(out: Path) -> str | None:
    """The newest checkpoint-N that holds trainer_state.json: the Trainer writes that file last, so a
    run killed while saving leaves a folder without it, which cannot be resumed from."""
    steps = []
    for path in out.glob(f"{PREFIX_CHECKPOINT_DIR}-*") if out.is_dir() else ():
        suffix = path.name.removeprefix(f"{PREFIX_CHECKPOINT_DIR}-")
        if suffix.isdigit() and (path / TRAINER_STATE_NAME).is_file():
            steps.append((int(suffix), str(path)))
    return max(steps)[1] if steps else None


def check_output(config: TrainConfig) -> str | None:
    """Validate --output against --resume / --overwrite; the checkpoint to resume from, if any."""
    out = Path(config.output)
    saved = out / TRAINING_CONFIG
    has_run = saved.is_file() or (out.is_dir() and any(out.glob(f"{PREFIX_CHECKPOINT_DIR}-*")))
    if config.resume:
        last = last_complete_checkpoint(out)
        if last is None:
            raise UserError(f"--resume: {out} holds no complete {PREFIX_CHECKPOINT_DIR}-N folder; "
                             "run without --resume")
        if saved.is_file():
            problems = resume_mismatches(json.loads(saved.read_text()).get("config", {}), config)
            if problems:
                raise UserError(f"--resume: options differ from the run in {out}: {'; '.join(problems)}; "
                                 "pass the same options, or a new --output")
        return last
    if has_run and not config.overwrite:
        raise UserError(f"{out} already holds a training run; pass --resume to continue it, "
                         "--overwrite to start over, or another --output")
    return None


def clear_output(out: Path) -> None:
    """--overwrite: remove the previous run's checkpoints and log (other files are left alone)."""
    for path in out.glob(f"{PREFIX_CHECKPOINT_DIR}-*"):
        shutil.rmtree(path)
    for name in (LOG_FILE, TRAINING_CONFIG):
        (out / name).unlink(missing_ok=True)


def load_tokenizer(config: TrainConfig):
    resolved = resolve(config.model)
    if resolved.is_adapter:
        raise ModelSpecError(f"--model {config.model} is an adapter; train from its base model "
                             f"({resolved.base}) or merge the adapter into it first")
    tokenizer = AutoTokenizer.from_pretrained(resolved.path)
    render(tokenizer, [{"role": "user", "content": "x"}])  # ChatTemplateError now, not after loading data
    return resolved, tokenizer


def uses_bf16(config: TrainConfig) -> bool:
    """--dtype bf16, or no --dtype and an accelerate config that asks for bf16 (the shipped GPU configs do)."""
    if config.dtype is not None:
        return config.dtype.lower() in ("bf16", "bfloat16")
    return os.environ.get("ACCELERATE_MIXED_PRECISION") == "bf16"


def trainer_args(config: TrainConfig, *, use_cpu: bool) -> DPOConfig | SFTConfig:
    """TRL's config for the run. Creating it starts the distributed state, so it comes before the model."""
    report_to = [r.strip() for r in config.report_to.split(",") if r.strip()] or ["none"]
    common: dict[str, Any] = dict(
        output_dir=str(config.output),
        learning_rate=config.lr,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps or -1,
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_ratio,  # < 1 is read as a share of the steps
        logging_steps=config.logging_steps,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        seed=config.seed,
        report_to=report_to,
        bf16=uses_bf16(config),  # TRL defaults to bf16=True; CPUs and old GPUs want fp32
        use_cpu=use_cpu,
        disable_tqdm=not config.progress,  # transformers' own bars; ours is StepProgress
        max_length=config.max_length,
        dataset_num_proc=config.dataset_num_proc,
        train_sampling_strategy="sequential" if config.contrast_batches else "random",
    )
    # TRL defaults gradient checkpointing to on; transformers 5 renamed the option activation_checkpointing.
    names = {f.name for f in dataclasses.fields(DPOConfig)}
    common["activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"] = (
        config.gradient_checkpointing)
    if config.method_enum.is_dpo:
        return DPOConfig(**common, beta=config.beta, precompute_ref_log_probs=config.precompute_ref_log_probs)
    return SFTConfig(**common, completion_only_loss=True, packing=False)


def lora_config(config: TrainConfig):
    from peft import LoraConfig

    return LoraConfig(r=config.lora_rank, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=config.target_modules, task_type="CAUSAL_LM")


def write_training_config(config: TrainConfig, status: str, **extra: Any) -> None:
    from alignx import __version__

    record = {"base_model": base_model_spec(config.model), "method": config.method, "status": status,
              "learning_rate": config.lr, "alignx_version": __version__, "config": config.to_dict(), **extra}
    with atomic_write(Path(config.output) / TRAINING_CONFIG) as tmp:
        Path(tmp).write_text(json.dumps(record, indent=2) + "\n")


def run_training(config: TrainConfig, *, cache_dir: str | Path | None = None,
          callbacks: list[TrainerCallback] | None = None) -> TrainResult:
    """Train per `config` in this process (one of the world's processes when launched in parallel)."""
    import torch
    from accelerate import PartialState

    checkpoint = check_output(config)  # before anything loads
    resolved, tokenizer = load_tokenizer(config)
    args = trainer_args(config, use_cpu=pick_device(config.device).type == "cpu")  # OptionError: no CUDA
    PartialState().wait_for_everyone()  # every process has checked the folder before the main one writes to it
    out = Path(config.output)
    if args.process_index == 0:
        out.mkdir(parents=True, exist_ok=True)
        if config.overwrite:
            clear_output(out)
        if checkpoint is None:
            (out / LOG_FILE).unlink(missing_ok=True)
            write_training_config(config, "running")

    with global_then_local_main_first():  # the main process fills the datasets cache, the others read it
        dataset = build_dataset(config, tokenizer, cache_dir=cache_dir,
                                global_batch=args.train_batch_size * args.gradient_accumulation_steps * args.world_size)

    # LoRA freezes the base, so a bf16 base costs nothing; full fine-tuning keeps fp32 master weights
    # (a 5e-7 step vanishes in bf16) and lets mixed precision / DeepSpeed cast.
    dtype = torch.bfloat16 if uses_bf16(config) and config.lora else torch.float32
    model = AutoModelForCausalLM.from_pretrained(resolved.path, dtype=dtype)
    model.config.use_cache = False  # no generation while training; the cache only costs memory
    peft_config = lora_config(config) if config.lora else None
    trainer_cls, extra = ((PretokenizedDPOTrainer, {"prefix_sharing": config.prefix_sharing})
                          if config.method_enum.is_dpo else (SFTTrainer, {}))
    trainer = trainer_cls(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                          peft_config=peft_config, **extra)
    trainer.remove_callback(ProgressCallback)
    trainer.remove_callback(PrinterCallback)
    for callback in [StepProgress(config.progress), JsonlLog(out), *(callbacks or [])]:
        trainer.add_callback(callback)

    start = time.perf_counter()
    with completions_only_lm_head_on_cpu():
        output = trainer.train(resume_from_checkpoint=checkpoint)
    trainer.save_model(str(out))  # adapter or full weights, and the tokenizer
    world_size = trainer.args.world_size
    if trainer.is_world_process_zero():
        write_training_config(config, "done", world_size=world_size, global_step=trainer.state.global_step,
                              resumed_from=Path(checkpoint).name if checkpoint else None,
                              train_seconds=round(time.perf_counter() - start, 2), examples=len(dataset))
    return TrainResult(out, world_size, trainer.state.global_step, dict(output.metrics))
