"""The training view of AlignX records as an Arrow-backed `datasets.Dataset`, tokenized for TRL.

Each record gets its own seeded draw of history (the released recipe: 0–4 UGC, 0–4 PAIR), so the data never depends on
read order and `--resume` sees the same examples. Tokens follow the evaluation convention
(`alignx.eval.scoring.encode_*`): prompt and response tokenized apart, BOS once, EOS after the response.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alignx.distributed import is_main
from alignx.errors import UserError, record_prefix
from alignx.eval.scoring import encode_prompt, encode_response
from alignx.personas import PersonaError, PersonaView, sample_training_view
from alignx.prompts import Messages, PromptKind, ica_training_messages, pba_messages, render
from alignx.records import Choice, Record
from alignx.registry import data_key, iter_data
from alignx.sources import TRAIN_SPLIT
from alignx.space import touches
from alignx.training.config import Method, TrainConfig
from alignx.training.contrast import contrast_key, contrast_order


def view_rng(seed: int, index: int, target: int = 0) -> random.Random:
    """The random stream of record `index` (and of its `target`-th history target, 0 being the record's
    own pair): `random` hashes a str seed with SHA-512, so it depends on these numbers alone, not on
    PYTHONHASHSEED, the process or how many records were read before."""
    return random.Random(f"alignx-train:{seed}:{index}" + (f":{target}" if target else ""))


def training_view(record: Record, index: int, *, seed: int, with_demographic: bool = False,
                  target: int = 0) -> PersonaView:
    """The history drawn for record `index` (0-based): 0-4 UGC and 0-4 PAIR items, their profile."""
    return sample_training_view(record, view_rng(seed, index, target), with_demographic=with_demographic)


def history_targets(record: Record) -> Iterator[Record]:
    """The record once per PAIR history item, that item being the pair to learn and the rest of the
    user's history, the record's own pair included, being what the persona is drawn from.

    Why: where each post is the target of one user only (as in the demo set), DPO can fit a record by
    its post and responses alone and never needs the persona. Other users' PAIR items can hold the
    same posts under the opposite preference; learning them too leaves the persona as the only way
    to tell whose choice is whose (`alignx.training.contrast` puts such opposites in one step)."""
    own = Choice(record.prompt, record.chosen, record.rejected, record.direction)
    for j, item in enumerate(record.pairs):
        rest = record.pairs[:j] + record.pairs[j + 1:]
        yield dataclasses.replace(record, prompt=item.prompt, chosen=item.chosen, rejected=item.rejected,
                                  direction=item.direction, pairs=(own, *rest))


def training_examples(record: Record, with_history_targets: bool) -> Iterator[tuple[int, Record]]:
    """(target, record to learn): target 0 is the record itself, 1.. its history targets."""
    yield 0, record
    if with_history_targets:
        yield from enumerate(history_targets(record), start=1)


def training_messages(record: Record, index: int, method: Method | str, *, seed: int,
                      with_demographic: bool = False, source: str = "data", target: int = 0) -> Messages:
    """The chat messages the policy reads for record `index` (0-based; `target` as in
    `training_examples`) under `method`."""
    method = Method.parse(method)
    view = training_view(record, index, seed=seed, with_demographic=with_demographic, target=target)
    where = record_prefix(source, index + 1)
    if method.prompt is PromptKind.PBA:
        if view.profile is None:
            raise PersonaError(f"{where}: --method {method.value} needs 'Preference Direction' on the UGC / PAIR "
                               "items (the profile is rendered from the drawn items); these items have none. "
                               "Use --method ica, or add directions to the history items")
        return pba_messages(record.prompt, view.profile, evaluation=False)
    if not (view.ugc or view.pairs or view.demographic):
        hint = "" if with_demographic else " (or DEMO with --with-demographic)"
        raise PersonaError(f"{where}: --method {method.value} needs UGC or PAIR history{hint}; this record has none")
    return ica_training_messages(record.prompt, view)


def _generate(source: str, split: str | None, method: str, seed: int, with_demographic: bool,
              with_history_targets: bool, stamp: Any = None, exclude: str | None = None) -> Any:
    """Rows of the training view; `stamp` only feeds the cache fingerprint (see `_cache_stamp`). A row whose
    target direction touches a dimension of `exclude` (comma-separated indices) is marked `excluded`."""
    excluded = [int(i) for i in exclude.split(",")] if exclude else []
    for index, record in enumerate(iter_data(source, split, default_split=TRAIN_SPLIT)):
        for target, example in training_examples(record, with_history_targets):
            messages = training_messages(example, index, method, seed=seed, with_demographic=with_demographic,
                                         source=source, target=target)
            key, side = contrast_key(example.prompt, example.chosen, example.rejected)
            yield {"index": index, "target": target, "messages": messages, "chosen": example.chosen,
                   "rejected": example.rejected, "contrast_key": key, "contrast_side": side,
                   "excluded": touches(example.direction, excluded)}


def _cache_stamp(source: str, split: str | None) -> str:
    """What makes a cached view stale: the data actually read (`registry.data_key`) and the code and
    tables that draw and render it: every file of the installed alignx package and its version, which
    `datasets` does not hash by itself. A string, never a list: `from_generator` splits list-valued
    gen_kwargs into shards."""
    from alignx import __version__

    code = hashlib.sha256(__version__.encode())
    package = Path(__file__).resolve().parents[1]
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".tsv") and "__pycache__" not in path.parts:
            code.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return f"{data_key(source, split, default_split=TRAIN_SPLIT)}:{code.hexdigest()[:16]}"


def _tokenize(row: dict[str, Any], tokenizer: Any, max_prompt_length: int, sft: bool) -> dict[str, Any]:
    prompt = render(tokenizer, row["messages"])
    prompt_ids = encode_prompt(tokenizer, prompt, max_prompt_length)
    chosen_ids = encode_response(tokenizer, row["chosen"])
    if sft:
        return {"prompt": prompt, "input_ids": prompt_ids + chosen_ids,
                "completion_mask": [0] * len(prompt_ids) + [1] * len(chosen_ids)}
    return {"prompt": prompt, "prompt_ids": prompt_ids, "chosen_ids": chosen_ids,
            "rejected_ids": encode_response(tokenizer, row["rejected"])}


def drop_excluded(dataset: Any, config: TrainConfig) -> Any:
    """The rows whose target direction stays off --exclude-dimensions (the `excluded` column goes)."""
    if config.exclude_dimensions:
        before = len(dataset)
        dataset = dataset.filter(lambda excluded: not excluded, input_columns="excluded",
                                 desc="Dropping excluded dimensions")
        if len(dataset) == 0:
            raise UserError(f"--exclude-dimensions {config.exclude_dimensions}: every one of the {before} training "
                            f"examples of {config.data} has a target direction on these dimensions; nothing is left "
                            "to train on")
        if is_main():
            print(f"--exclude-dimensions {config.exclude_dimensions}: dropped {before - len(dataset)} of {before} "
                  f"training examples whose target direction touches them", file=sys.stderr)
    return dataset.remove_columns("excluded")


def build_dataset(config: TrainConfig, tokenizer: Any, *, cache_dir: str | os.PathLike | None = None,
                  global_batch: int | None = None):
    """The tokenized training set: columns index (the record), target (see `training_examples`), prompt,
    chosen, rejected, contrast_key / contrast_side (see `alignx.training.contrast`) and TRL's token
    columns (prompt_ids / chosen_ids / rejected_ids for DPO; input_ids / completion_mask for SFT).

    With `config.contrast_batches` the rows come in contrast order for optimizer steps of
    `global_batch` examples (default: the config's batch x accumulation x processes), to be read
    sequentially."""
    import datasets

    render(tokenizer, [{"role": "user", "content": "x"}])  # fail before reading data when there is no template
    kwargs = {"source": config.data, "split": config.split, "method": config.method, "seed": config.seed,
              "with_demographic": config.with_demographic, "with_history_targets": config.history_targets,
              "stamp": _cache_stamp(config.data, config.split), "exclude": config.exclude_dimensions}
    try:
        dataset = datasets.Dataset.from_generator(_generate, gen_kwargs=kwargs,
                                                  cache_dir=str(cache_dir) if cache_dir else None)
    except datasets.exceptions.DatasetGenerationError as e:
        # `datasets` wraps whatever the generator raised; the user needs the record-level message.
        cause = e.__cause__
        while isinstance(cause, datasets.exceptions.DatasetGenerationError) and cause.__cause__ is not None:
            cause = cause.__cause__
        if isinstance(cause, UserError):
            raise cause from None
        raise
    if len(dataset) == 0:
        raise UserError(f"{config.data}: no records to train on")
    if config.subset_size is not None:
        n_records = dataset[-1]["index"] + 1
        if config.subset_size > n_records:
            raise UserError(f"--subset-size {config.subset_size} exceeds the {n_records} records of {config.data}")
        keep = set(random.Random(config.seed).sample(range(n_records), config.subset_size))
        dataset = dataset.filter(lambda index: index in keep, input_columns="index", desc="Drawing the subset")
    dataset = drop_excluded(dataset, config)
    if config.contrast_batches:
        global_batch = global_batch or config.batch_size * config.grad_accum * config.num_processes
        order = contrast_order(dataset["contrast_key"], dataset["contrast_side"], global_batch=global_batch,
                               seed=config.seed)
        dataset = dataset.select(order)
    sft = not config.method_enum.is_dpo
    return dataset.map(
        _tokenize,
        fn_kwargs={"tokenizer": tokenizer, "max_prompt_length": config.max_prompt_length, "sft": sft},
        remove_columns=["messages"],
        num_proc=config.dataset_num_proc,
        desc="Rendering and tokenizing",
    )
