"""`alignx annotate train`: fine-tune a small model into a local inferencer on items that carry directions.

Every item of every record (the record's own choice, its UGC comments, its PAIR choices) that has a
`Preference Direction` is an example; equal texts are one example. A choice read the other way round
(rejected over chosen) is explained by the opposite poles, so each choice also teaches its mirror:
the model has to read which response was chosen, not just which dimension the post is about.
The held-out split is by post and response texts, so a choice and its mirror never straddle it.
Training is transformers' Trainer on its sequence-classification model (optionally with a LoRA
adapter, merged before saving); the loss is 90 three-way cross-entropies.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignx.annotate.base import Item, item_key, record_items, strip_direction
from alignx.annotate.local import CLASSES, DEFAULT_MAX_LENGTH, N_CLASSES, class_of, item_text, swap, write_manifest
from alignx.annotate.metrics import macro_f1, pole_scores
from alignx.errors import OptionError, UserError
from alignx.models import TRAINING_DTYPES
from alignx.options import check_options
from alignx.records import Choice, Record
from alignx.space import N_DIMENSIONS


@dataclass
class InferencerTrainConfig:
    data: str = field(metadata={"help": "Records whose items carry directions: demo, a file, a folder or a hub id."})
    output: str = field(metadata={"short": "-o", "help": "Folder for the inferencer (created; must not exist "
                                                         "unless --overwrite)."})
    split: str | None = field(default=None, metadata={
        "help": "Split to read when DATA has several.", "default_text": "train"})
    model: str = field(default="default", metadata={
        "help": "Base model: 'default' (embedded SmolLM2-135M-Instruct), a hub id or a folder."})
    epochs: float = field(default=6.0, metadata={"above": 0, "help": "Passes over the training items."})
    learning_rate: float = field(default=3e-4, metadata={"above": 0, "help": "Peak learning rate (linear decay)."})
    batch_size: int = field(default=8, metadata={"min": 1, "help": "Items per optimizer step."})
    train_layers: int | None = field(default=8, metadata={"min": 0,
        "help": "Fine-tune only the top N transformer blocks (and the head); the rest stay frozen, so a step "
                "costs about half. 0: the head only.", "default_text": "8; all with --lora"})
    pole_weight: float = field(default=10.0, metadata={"above": 0,
        "help": "Loss weight of a positive or negative label against a neutral one (most labels are neutral)."})
    lora: bool = field(default=False, metadata={"help": "Train a LoRA adapter and the head instead of every "
                                                        "weight; the adapter is merged into the saved model."})
    lora_rank: int = field(default=16, metadata={"min": 1, "help": "LoRA rank (with --lora)."})
    max_length: int = field(default=DEFAULT_MAX_LENGTH, metadata={"min": 16,
        "help": "Tokens an item is cut to (from the left, so the responses stay)."})
    eval_fraction: float = field(default=0.1, metadata={"min": 0, "below": 1,
        "help": "Share of items held out for the per-pole precision / recall / F1 in metrics.json."})
    mirror_pairs: bool = field(default=True, metadata={
        "help": "Also learn every choice the other way round, with the opposite poles."})
    limit: int | None = field(default=None, metadata={"help": "The first N records only.", "default_text": "all",
                                                      "min": 1})
    seed: int = field(default=0, metadata={"help": "Seed of the split, the head's initialisation and the order."})
    device: str | None = field(default=None, metadata={"help": "cpu, cuda or cuda:N.", "default_text": "cuda if any"})
    dtype: str | None = field(default=None, metadata={
        "help": "fp32 | bf16: bf16 is mixed precision.", "default_text": "bf16 where the hardware has it, else fp32",
        "choices": TRAINING_DTYPES})
    overwrite: bool = field(default=False, metadata={"help": "Replace an existing output folder."})
    progress: bool = field(default=True, metadata={"help": "Show a progress bar."})

    def __post_init__(self):
        check_options(self)
        if Path(self.output).exists() and not self.overwrite:
            raise OptionError(f"--output {self.output} exists; pass --overwrite to replace it")


@dataclass(frozen=True)
class Example:
    item: Item
    direction: tuple[float, ...]
    group: str  # the held-out split keeps a group together


def mirrored(direction: tuple[float, ...]) -> tuple[float, ...]:
    """The poles that explain the opposite choice: 1 <-> 0, neutral stays."""
    return tuple(1.0 - v for v in direction)


def group_of(item: Item) -> str:
    """Order-free identity of an item's texts: a choice and its mirror share it."""
    texts = [item.prompt, *sorted([item.chosen, item.rejected])] if isinstance(item, Choice) else [
        item.prompt, item.comment]
    return hashlib.sha256("\x1f".join(texts).encode("utf-8")).hexdigest()


def examples_of(records: Iterable[Record], mirror_pairs: bool) -> tuple[list[Example], int]:
    """Distinct labelled items (first direction wins) and how many repeats disagreed with it."""
    seen: dict[str, Example] = {}
    conflicts = 0
    for record in records:
        for item, direction in record_items(record):
            if direction is None:
                continue
            candidates = [(item, direction)]
            if mirror_pairs and isinstance(item, Choice):
                candidates.append((swap(item), mirrored(direction)))
            for it, d in candidates:
                key = item_key(it)
                if key not in seen:
                    seen[key] = Example(strip_direction(it), d, group_of(it))
                elif it is item and seen[key].direction != d:
                    conflicts += 1
    return list(seen.values()), conflicts


def split_examples(examples: list[Example], fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """(train, held out): a fixed share of groups by hash, so the split does not depend on record order."""
    def held(example: Example) -> bool:
        digest = hashlib.sha256(f"{seed}:{example.group}".encode()).digest()
        return int.from_bytes(digest[:4], "big") / 2**32 < fraction

    return [e for e in examples if not held(e)], [e for e in examples if held(e)]


def class_loss(pole_weight: float) -> Callable[..., Any]:
    """The Trainer's loss: each dimension's three-way cross-entropy, a pole label weighing `pole_weight`
    neutral ones (an item names a few poles among 90 dimensions), averaged over items and dimensions."""
    import torch
    import torch.nn.functional as F

    weights = torch.tensor([pole_weight if value != 0.5 else 1.0 for value in CLASSES])

    def loss(outputs: Any, labels: Any, num_items_in_batch: Any = None) -> Any:
        logits = outputs["logits"].float().view(-1, N_CLASSES)
        return F.cross_entropy(logits, labels.view(-1), weight=weights.to(logits.device))

    return loss


def freeze_below(model: Any, top_layers: int) -> None:
    """Leave only the top `top_layers` decoder blocks, the final norm and the head trainable."""
    base = model.base_model
    for parameter in base.parameters():
        parameter.requires_grad_(False)
    blocks = base.layers
    for block in list(blocks)[len(blocks) - top_layers:] if top_layers else []:
        block.requires_grad_(True)
    if top_layers and hasattr(base, "norm"):
        base.norm.requires_grad_(True)


def run_inferencer_training(config: InferencerTrainConfig) -> dict[str, Any]:
    """Train, save the inferencer folder atomically, and return its metrics (also in metrics.json)."""
    import tempfile

    import torch
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments, set_seed

    from alignx import registry
    from alignx.atomic import atomic_write
    from alignx.models import cpu_has_native_bf16, pick_device, use_all_cores
    from alignx.sources import TRAIN_SPLIT

    records = registry.load(config.data, config.split, config.limit, default_split=TRAIN_SPLIT)
    examples, conflicts = examples_of(records, config.mirror_pairs)
    if not examples:
        raise UserError(f"{config.data}: no item carries a 'Preference Direction'; the inferencer learns from "
                        "labelled items (annotate some with an openai:MODEL annotator first)")
    train, held_out = split_examples(examples, config.eval_fraction, config.seed)
    if not train:
        raise UserError(f"{config.data}: all {len(examples)} items fell in the held-out split; lower --eval-fraction")
    set_seed(config.seed)
    device = pick_device(config.device)
    if device.type == "cpu":
        use_all_cores()
    model, tokenizer = _trainable_model(config)
    if config.dtype is not None:
        bf16 = config.dtype.lower() in ("bf16", "bfloat16")
    else:
        bf16 = cpu_has_native_bf16() if device.type == "cpu" else torch.cuda.is_bf16_supported()
    started = time.perf_counter()
    with atomic_write(Path(config.output), directory=True) as tmp, tempfile.TemporaryDirectory() as scratch:
        args = TrainingArguments(
            output_dir=scratch, num_train_epochs=config.epochs, learning_rate=config.learning_rate,
            per_device_train_batch_size=config.batch_size, lr_scheduler_type="linear", warmup_steps=0.1,
            weight_decay=0.0, logging_steps=10, save_strategy="no", report_to=[], seed=config.seed,
            disable_tqdm=not config.progress, use_cpu=device.type == "cpu", dataloader_num_workers=0, bf16=bf16)
        trainer = Trainer(model=model, args=args, train_dataset=_dataset(train, tokenizer, config.max_length),
                          compute_loss_func=class_loss(config.pole_weight),
                          data_collator=DataCollatorWithPadding(tokenizer), processing_class=tokenizer)
        result = trainer.train()
        seconds = time.perf_counter() - started
        (model.merge_and_unload() if config.lora else model).save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        write_manifest(Path(tmp), base_model=config.model, max_length=config.max_length,
                       mirror_pairs=config.mirror_pairs, data=config.data, split=config.split,
                       train_items=len(train), held_out_items=len(held_out))
        metrics: dict[str, Any] = {
            "train_items": len(train), "held_out_items": len(held_out), "label_conflicts": conflicts,
            "train_seconds": round(seconds, 1), "train_loss": round(float(result.training_loss), 5), "bf16": bf16,
            "config": {k: v for k, v in dataclasses.asdict(config).items() if k != "progress"}}
        if held_out:
            metrics["held_out"] = _held_out_metrics(Path(tmp), held_out, str(device))
        (Path(tmp) / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return metrics


def _trainable_model(config: InferencerTrainConfig) -> tuple[Any, Any]:
    """The base model with a fresh 270-logit head, frozen below --train-layers or wrapped in LoRA."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from alignx.hub import hub_errors
    from alignx.models import load_tokenizer, resolve

    resolved = resolve(config.model)
    if resolved.is_adapter:
        raise OptionError(f"--model {config.model}: an adapter folder; pass a full model as the inferencer's base")
    tokenizer = load_tokenizer(resolved)
    tokenizer.truncation_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    with hub_errors("model", resolved.path):
        model = AutoModelForSequenceClassification.from_pretrained(
            resolved.path, num_labels=N_DIMENSIONS * N_CLASSES, dtype=torch.float32)
    model.config.pad_token_id = tokenizer.pad_token_id
    if config.lora:
        from peft import LoraConfig, TaskType, get_peft_model

        lora = LoraConfig(task_type=TaskType.SEQ_CLS, r=config.lora_rank, lora_alpha=2 * config.lora_rank,
                          target_modules="all-linear")
        return get_peft_model(model, lora), tokenizer
    if config.train_layers is not None:
        freeze_below(model, config.train_layers)
    return model, tokenizer


def _held_out_metrics(folder: Path, held_out: list[Example], device: str) -> dict[str, Any]:
    """Per-pole precision / recall / F1 of the saved inferencer on the held-out items."""
    from alignx.annotate.base import annotate_all
    from alignx.annotate.local import LocalInferencer

    inferencer = LocalInferencer.load(folder, device=device)
    predicted = [a.direction for a in annotate_all(inferencer, [e.item for e in held_out])]
    truth = [e.direction for e in held_out]
    scores = pole_scores(truth, predicted)
    exact = sum(p == t for p, t in zip(predicted, truth, strict=True)) / len(truth)
    return {"macro_f1": round(macro_f1(scores), 4), "exact_items": round(exact, 4),
            "poles": [s.to_json() for s in scores]}


def _dataset(examples: list[Example], tokenizer: Any, max_length: int):
    from datasets import Dataset

    encoded = tokenizer([item_text(e.item) for e in examples], truncation=True, max_length=max_length)
    labels = [[class_of(v) for v in e.direction] for e in examples]
    return Dataset.from_dict({**encoded, "labels": labels})

