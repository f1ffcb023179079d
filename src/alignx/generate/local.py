"""Batched generation with a local transformers model: left padding, KV cache, stop at EOS.

Prompts are sorted longest-first (an out-of-memory shows on the first batch, and batches hold prompts
of similar length, so little padding) and generated `batch_size` at a time; results come back per
batch with their original indices. Each batch draws from its own seed, derived from the run's seed
and the batch's item ids, so a rerun of the same batch draws the same texts. Greedy when temperature 0.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from alignx.models import LoadedModel


@dataclass(frozen=True)
class Sampling:
    max_new_tokens: int
    temperature: float = 0.0  # 0: greedy
    top_k: int = 0  # 0: all tokens
    top_p: float = 1.0


@dataclass(frozen=True)
class Generated:
    text: str
    tokens: int  # generated tokens, the EOS that ended it included


def batch_seed(seed: int, ids: Sequence[str]) -> int:
    digest = hashlib.sha256("\x1f".join([str(seed), *ids]).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1  # torch seeds are < 2**63


def eos_ids(loaded: LoadedModel) -> list[int]:
    eos = loaded.model.generation_config.eos_token_id
    ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    if loaded.tokenizer.eos_token_id is not None:
        ids.add(loaded.tokenizer.eos_token_id)
    return sorted(ids)


def generate_kwargs(loaded: LoadedModel, sampling: Sampling) -> dict[str, Any]:
    """The `model.generate` arguments of `sampling`; greedy unsets the checkpoint's sampling defaults."""
    tok = loaded.tokenizer
    kwargs: dict[str, Any] = {"max_new_tokens": sampling.max_new_tokens, "use_cache": True,
                              "eos_token_id": eos_ids(loaded),
                              "pad_token_id": tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id}
    if sampling.temperature > 0:
        kwargs.update(do_sample=True, temperature=sampling.temperature, top_k=sampling.top_k or None,
                      top_p=sampling.top_p)
    else:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    return kwargs


def finish(loaded: LoadedModel, new_tokens: list[int], stop: set[int]) -> Generated:
    """The text of one row's new tokens, cut after the first EOS (later positions are padding)."""
    end = next((i + 1 for i, t in enumerate(new_tokens) if t in stop), len(new_tokens))
    return Generated(loaded.tokenizer.decode(new_tokens[:end], skip_special_tokens=True), end)


class LocalGenerator:
    """Generates for rendered prompts (`alignx.prompts.render`) with one loaded model."""

    def __init__(self, loaded: LoadedModel, *, batch_size: int = 8, progress: bool = True):
        self.loaded, self.batch_size, self.progress = loaded, batch_size, progress
        self.tokens_generated = 0
        self.seconds = 0.0

    def generate(self, prompts: Sequence[str], sampling: Sampling, *, seed: int = 0,
                 ids: Sequence[str] | None = None,
                 description: str = "generating") -> Iterator[list[tuple[int, Generated]]]:
        """Per batch, [(index into `prompts`, Generated)]; every index once, longest prompts first."""
        import torch

        from alignx.progress import ProgressBar

        if not prompts:
            return
        ids = list(ids) if ids is not None else [str(i) for i in range(len(prompts))]
        tok, model, device = self.loaded.tokenizer, self.loaded.model, self.loaded.device
        encoded = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts]  # the template writes BOS
        order = sorted(range(len(prompts)), key=lambda i: -len(encoded[i]))
        kwargs = generate_kwargs(self.loaded, sampling)
        pad, stop = kwargs["pad_token_id"], set(kwargs["eos_token_id"])
        bar = ProgressBar(description, len(prompts), unit="tok", enabled=self.progress)
        start = time.perf_counter()
        with bar, torch.inference_mode():
            for at in range(0, len(order), self.batch_size):
                batch = order[at:at + self.batch_size]
                width = max(len(encoded[i]) for i in batch)
                input_ids = torch.full((len(batch), width), pad, dtype=torch.long)  # (B, T), left-padded
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for row, i in enumerate(batch):
                    input_ids[row, width - len(encoded[i]):] = torch.tensor(encoded[i])
                    mask[row, width - len(encoded[i]):] = 1
                torch.manual_seed(batch_seed(seed, [ids[i] for i in batch]))
                out = model.generate(input_ids=input_ids.to(device), attention_mask=mask.to(device), **kwargs)
                new = out[:, width:].tolist()  # (B, T_new); rows that stopped early are padded
                results = [(i, finish(self.loaded, new[row], stop)) for row, i in enumerate(batch)]
                tokens = sum(g.tokens for _, g in results)
                self.tokens_generated += tokens
                bar.advance(len(batch), work=tokens)
                yield results
        self.seconds += time.perf_counter() - start
