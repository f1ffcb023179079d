"""The training view of AlignX records as an Arrow-backed `datasets.Dataset`, tokenized for TRL.

Each record gets its own seeded draw of history (DESIGN.md §2), so the data never depends on
read order and `--resume` sees the same examples. Tokens follow the evaluation convention
(`alignx.scoring.encode_*`): prompt and response tokenized apart, BOS once, EOS after the response.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

from alignx.personas import PersonaError, PersonaView, sample_training_view
from alignx.prompts import Messages, ica_training_messages, pba_messages, render
from alignx.records import Record, demo_path, iter_records
from alignx.scoring import encode_prompt, encode_response
from alignx.training.config import Method, TrainConfig


def view_rng(seed: int, index: int) -> random.Random:
    """The random stream of record `index`: `random` hashes a str seed with SHA-512, so it depends on
    (seed, index) alone, not on PYTHONHASHSEED, the process or how many records were read before."""
    return random.Random(f"alignx-train:{seed}:{index}")


def training_view(record: Record, index: int, *, seed: int, with_demographic: bool = False) -> PersonaView:
    """The history drawn for record `index` (0-based): 0-4 UGC and 0-4 PAIR items, their profile."""
    return sample_training_view(record, view_rng(seed, index), with_demographic=with_demographic)


def training_messages(record: Record, index: int, method: Method | str, *, seed: int,
                      with_demographic: bool = False, source: str = "data") -> Messages:
    """The chat messages the policy reads for record `index` (0-based) under `method`."""
    method = Method.parse(method)
    view = training_view(record, index, seed=seed, with_demographic=with_demographic)
    where = f"{source}: record {index + 1}"
    if method.prompt == "pba":
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
              stamp: Any = None) -> Any:
    """Rows of the training view; `stamp` only feeds the cache fingerprint (see `_source_stamp`)."""
    for index, record in enumerate(iter_records(source, split)):
        messages = training_messages(record, index, method, seed=seed, with_demographic=with_demographic,
                                     source=source)
        yield {"index": index, "messages": messages, "chosen": record.chosen, "rejected": record.rejected}


def _source_stamp(source: str, split: str | None) -> str:
    """What makes a cached view stale: a local file's path, size and mtime; a hub id is taken as is.
    A string, never a list: `from_generator` splits list-valued gen_kwargs into shards."""
    path = demo_path(split or "train") if source == "demo" else Path(source)
    if path.is_file():
        stat = path.stat()
        return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    return source


def _tokenize(row: dict[str, Any], tokenizer: Any, max_prompt_length: int, sft: bool) -> dict[str, Any]:
    prompt = render(tokenizer, row["messages"])
    prompt_ids = encode_prompt(tokenizer, prompt, max_prompt_length)
    chosen_ids = encode_response(tokenizer, row["chosen"])
    if sft:
        return {"prompt": prompt, "input_ids": prompt_ids + chosen_ids,
                "completion_mask": [0] * len(prompt_ids) + [1] * len(chosen_ids)}
    return {"prompt": prompt, "prompt_ids": prompt_ids, "chosen_ids": chosen_ids,
            "rejected_ids": encode_response(tokenizer, row["rejected"])}


def build_dataset(config: TrainConfig, tokenizer: Any, *, cache_dir: str | os.PathLike | None = None):
    """The tokenized training set: columns index, prompt, chosen, rejected and TRL's token columns
    (prompt_ids / chosen_ids / rejected_ids for DPO; input_ids / completion_mask for SFT)."""
    import datasets

    render(tokenizer, [{"role": "user", "content": "x"}])  # fail before reading data when there is no template
    kwargs = {"source": config.data, "split": config.split, "method": config.method, "seed": config.seed,
              "with_demographic": config.with_demographic, "stamp": _source_stamp(config.data, config.split)}
    try:
        dataset = datasets.Dataset.from_generator(_generate, gen_kwargs=kwargs,
                                                  cache_dir=str(cache_dir) if cache_dir else None)
    except datasets.exceptions.DatasetGenerationError as e:
        # `datasets` wraps whatever the generator raised; the user needs the record-level message.
        cause = e.__cause__
        while isinstance(cause, datasets.exceptions.DatasetGenerationError) and cause.__cause__ is not None:
            cause = cause.__cause__
        if isinstance(cause, ValueError | FileNotFoundError):
            raise cause from None
        raise
    if len(dataset) == 0:
        raise ValueError(f"{config.data}: no records to train on")
    if config.subset_size is not None:
        if config.subset_size > len(dataset):
            raise ValueError(f"--subset-size {config.subset_size} exceeds the {len(dataset)} records of {config.data}")
        dataset = dataset.shuffle(seed=config.seed).select(range(config.subset_size)).flatten_indices()
    sft = not config.method_enum.is_dpo
    return dataset.map(
        _tokenize,
        fn_kwargs={"tokenizer": tokenizer, "max_prompt_length": config.max_prompt_length, "sft": sft},
        remove_columns=["messages"],
        num_proc=config.dataset_num_proc,
        desc="Rendering and tokenizing",
    )
