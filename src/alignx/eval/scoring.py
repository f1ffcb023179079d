"""Response log-likelihoods log π(response | prompt) under a causal LM, by the released convention.

`encode` holds the tokenization convention; `PrefixSharingScorer` runs each prompt once and continues
its KV cache for every response, computing the LM head only where a response token is predicted;
`LoopScorer` is the plain one-forward-pass-per-sequence reference it must agree with.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol

from alignx import distributed
from alignx.errors import UserError
from alignx.models import LoadedModel
from alignx.options import check_options

MAX_LENGTH = 8192
MAX_NEW_TOKENS = 512


@dataclass(frozen=True)
class ScoreRequest:
    """One rendered prompt and the continuations to score after it (chosen, rejected, ...)."""

    prompt: str  # chat template already applied (prompts.render)
    responses: tuple[str, ...]

    def __post_init__(self) -> None:
        if isinstance(self.responses, str):
            raise ValueError("ScoreRequest.responses must be a sequence of strings, not one string; wrap it in (...,)")
        object.__setattr__(self, "responses", tuple(self.responses))


@dataclass
class ScorerConfig:
    """How a scorer batches and reports; the defaults follow the released evaluation."""

    batch_size: int = field(default=8, metadata={"help": "Sequences (responses) per forward pass.", "min": 1})
    # The released scripts cut prompts from the left to 8192 - 512 - 1 tokens (then prepend BOS).
    max_prompt_tokens: int = field(default=MAX_LENGTH - MAX_NEW_TOKENS - 1,
                                   metadata={"help": "Prompts longer than this are cut from the left.", "min": 1})
    progress: bool = field(default=True, metadata={"help": "Show a progress bar with tokens/s on stderr."})

    def __post_init__(self) -> None:
        check_options(self)


class Scorer(Protocol):
    """The one interface evaluation talks to; other backends (data parallel, a server) implement it too."""

    tokens_processed: int  # positions run through the model so far (the cost figure reports give)

    def score(self, requests: Sequence[ScoreRequest], *, description: str = "scoring") -> list[tuple[float, ...]]:
        """result[i][j] = log π(requests[i].responses[j] | requests[i].prompt): summed over the response
        tokens, EOS included, in the order of `requests`. `description` labels the progress display."""
        ...


class CachedScorer:
    """A `Scorer` in front of another that scores each (prompt, response) once.

    Rows of a table share prompts (every persona-lift row reads the same universal reference prompt)
    and rewards share them across records; whatever was scored before is answered from memory and only
    the rest reaches the wrapped scorer, grouped by prompt so its prefix sharing still applies.
    """

    def __init__(self, scorer: Scorer):
        self.scorer = scorer
        self._memo: dict[tuple[str, str], float] = {}

    @property
    def tokens_processed(self) -> int:
        return self.scorer.tokens_processed

    def score(self, requests: Sequence[ScoreRequest], *, description: str = "scoring") -> list[tuple[float, ...]]:
        missing: dict[str, list[str]] = {}
        for request in requests:
            for response in request.responses:
                if (request.prompt, response) not in self._memo:
                    missing.setdefault(request.prompt, [])
                    if response not in missing[request.prompt]:
                        missing[request.prompt].append(response)
        if missing:
            todo = [ScoreRequest(prompt, tuple(responses)) for prompt, responses in missing.items()]
            for request, scores in zip(todo, self.scorer.score(todo, description=description), strict=True):
                self._memo.update(((request.prompt, y), s) for y, s in zip(request.responses, scores, strict=True))
        return [tuple(self._memo[(r.prompt, y)] for y in r.responses) for r in requests]


def encode(tokenizer: Any, prompt: str, response: str, max_prompt_tokens: int) -> tuple[list[int], list[int]]:
    """Token ids (prompt, response) by the released convention.

    Both texts are tokenized separately with add_special_tokens=False. The prompt gets BOS in front when
    the tokenizer has one and the rendered prompt does not already start with it, and keeps only its last
    `max_prompt_tokens` tokens after BOS (as released: cut from the left, then BOS). The response gets EOS.
    """
    return encode_prompt(tokenizer, prompt, max_prompt_tokens), encode_response(tokenizer, response)


def encode_prompt(tokenizer: Any, prompt: str, max_prompt_tokens: int) -> list[int]:
    """The prompt half of `encode`: BOS once in front (if the tokenizer has one), cut from the left."""
    ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    bos = tokenizer.bos_token_id
    if bos is not None:
        body = ids[1:] if ids[:1] == [bos] else ids
        return [bos] + body[-max_prompt_tokens:]
    if not ids:
        raise UserError("a prompt encodes to no tokens and the tokenizer has no BOS token; "
                         "the first response token would have nothing to be predicted from")
    return ids[-max_prompt_tokens:]


def encode_response(tokenizer: Any, response: str) -> list[int]:
    """The response half of `encode`: its tokens and EOS, which is scored too."""
    eos = tokenizer.eos_token_id
    if eos is None:
        raise UserError(f"{getattr(tokenizer, 'name_or_path', 'the tokenizer')} has no EOS token; "
                         "the released convention scores the response's EOS")
    return tokenizer(response, add_special_tokens=False)["input_ids"] + [eos]


def _decoder_parameters(model: Any) -> tuple[int, int]:
    """(parameters a token meets in the decoder, parameters of the LM head): 2 FLOPs each per position."""
    head = model.get_output_embeddings().weight
    embedding = model.get_input_embeddings().weight
    total = sum(p.numel() for p in model.parameters())  # a tied head/embedding is counted once
    # The input embedding is a lookup, not a matmul, so it is no per-token work of its own.
    body = total - head.numel() - (0 if head is embedding else embedding.numel())
    return body, head.numel()


class _BaseScorer:
    """Shared plumbing: encoding, counters, adapter switching, progress display."""

    def __init__(self, loaded: LoadedModel, config: ScorerConfig | None = None, *, disable_adapter: bool = False):
        self.loaded = loaded
        self.config = config or ScorerConfig()
        if disable_adapter and not hasattr(loaded.model, "disable_adapter"):
            raise ValueError("disable_adapter=True needs a PEFT model (an adapter folder as --model); "
                             f"{loaded.spec.spec} is a plain model")
        self.disable_adapter = disable_adapter
        self.tokens_processed = 0  # positions run through the decoder layers, padding included
        self.padding_tokens = 0  # the padding part of tokens_processed
        self.logit_positions = 0  # positions the LM head was applied to
        self.seconds = 0.0
        self.body_params, self.head_params = _decoder_parameters(loaded.model)

    @property
    def flops(self) -> float:
        """Matmul work done so far: 2 FLOPs per parameter per token (decoder) or position (LM head)."""
        return 2.0 * (self.body_params * self.tokens_processed + self.head_params * self.logit_positions)

    def _encode(self, requests: Sequence[ScoreRequest]) -> list[tuple[list[int], list[list[int]]]]:
        tok = self.loaded.tokenizer
        return [(encode_prompt(tok, r.prompt, self.config.max_prompt_tokens),
                 [encode_response(tok, text) for text in r.responses]) for r in requests]

    @contextmanager
    def _running(self, total: int, description: str) -> Iterator[Any]:
        """inference mode, the adapter switched off if asked, the clock and the progress bar."""
        import torch

        from alignx.progress import ProgressBar

        bar = ProgressBar(description, total, unit="tok", enabled=self.config.progress)
        adapter_off = self.loaded.model.disable_adapter() if self.disable_adapter else nullcontext()
        start, tokens_at_start = time.perf_counter(), self.tokens_processed
        with bar, adapter_off, torch.inference_mode():
            def advance(n: int) -> None:  # the rate counts the tokens scored since the bar started
                bar.advance(n, work=self.tokens_processed - tokens_at_start - bar.work)

            try:
                yield advance
            finally:
                self.seconds += time.perf_counter() - start

    def _to_device(self, rows: list[list[int]], pad: int) -> tuple[Any, Any]:
        """Right-padded (ids, mask) tensors of shape (B, T_max) on the model's device."""
        import torch

        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
            mask[i, : len(r)] = 1
        return ids.to(self.loaded.device), mask.to(self.loaded.device)


def _target_logprobs(logits: Any, targets: Any) -> Any:
    """log softmax(logits)[target] without keeping a (B, T, V) log-softmax tensor around: computed in float32,
    returned in float64, so that summing a response's tokens adds no rounding of its own (a float32 sum of
    ~100 terms near -150 drifts by several ulps with the order of additions, which batching changes)."""
    logits = logits.float()  # (B, T, V)
    picked = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1)  # (B, T)
    return (picked - logits.logsumexp(-1)).double()


def _unless_full(mask: Any) -> Any:
    """None for a mask without padding: attention then takes its plain causal path, which is faster."""
    return None if bool(mask.all()) else mask


class LoopScorer(_BaseScorer):
    """The reference: one forward pass per prompt+response, logits at every position, as released.

    Batch size is always 1 (config.batch_size is ignored): nothing is shared and nothing is padded.
    """

    def score(self, requests: Sequence[ScoreRequest], *, description: str = "scoring") -> list[tuple[float, ...]]:
        encoded = self._encode(requests)
        mine = distributed.shard(encoded)  # data parallel: each process its share, gathered back in order
        with self._running(sum(len(r) for _, r in mine), description) as advance:
            return distributed.gather(self._loop(mine, advance), len(encoded))

    def _loop(self, encoded: list, advance: Any) -> list[tuple[float, ...]]:
        import torch

        results: list[tuple[float, ...]] = []
        for prompt, responses in encoded:
            scores = []
            for response in responses:
                ids = torch.tensor([prompt + response], device=self.loaded.device)  # (1, T)
                logits = self.loaded.model(input_ids=ids, use_cache=False).logits  # (1, T, V)
                # Position t predicts token t+1: the response is predicted from position len(prompt)-1 on.
                start = len(prompt) - 1
                scores.append(float(_target_logprobs(logits[:, start:-1], ids[:, start + 1:]).sum()))
                self.tokens_processed += ids.shape[1]
                self.logit_positions += ids.shape[1]
                advance(1)
            results.append(tuple(scores))
        return results


class PrefixSharingScorer(LoopScorer):
    """Each prompt runs once; every response continues the prompt's KV cache.

    Work is sorted longest-first into groups of at most `batch_size` responses (so an out-of-memory shows
    on the first batch) and results come back in the original order. A group's prompts, minus their last
    token, fill a right-padded KV cache; each response pass then feeds [last prompt token] + response[:-1]
    with explicit positions and a mask hiding the prompt padding, so every position it computes predicts
    a response token and the LM head runs only there. Models whose cache is not plain full attention
    (sliding-window or linear-attention layers) are scored one sequence at a time, like LoopScorer.
    """

    def __init__(self, loaded: LoadedModel, config: ScorerConfig | None = None, *, disable_adapter: bool = False):
        from transformers import DynamicCache

        super().__init__(loaded, config, disable_adapter=disable_adapter)
        # On a CPU one long sequence already keeps the matmul units busy and padding is pure extra work, so
        # prompts fill the cache one by one there; accelerators need the batch (a group has <= batch_size).
        self.prompts_per_pass = 1 if loaded.device.type == "cpu" else self.config.batch_size
        probe = DynamicCache(config=loaded.model.config)
        self.shares_prefix = not any(getattr(probe, "is_sliding", [])) and not any(getattr(probe, "is_linear", []))

    def score(self, requests: Sequence[ScoreRequest], *, description: str = "scoring") -> list[tuple[float, ...]]:
        if not self.shares_prefix:
            return super().score(requests, description=description)
        encoded = self._encode(requests)
        results: list[list[float]] = [[0.0] * len(r) for _, r in encoded]
        # Longest first, by the most work a request brings to one response pass.
        order = sorted(range(len(encoded)),
                       key=lambda i: -(len(encoded[i][0]) + max(map(len, encoded[i][1]), default=0)))
        groups = list(self._groups(order, encoded))
        # Data parallel: each process scores every N-th group of the one-process run, so every batch has the
        # same rows and shapes whatever N is (only the threads per process change the rounding).
        mine = distributed.shard(groups)
        with self._running(sum(len(encoded[i][1]) for group in mine for i in group), description) as advance:
            scored = [self._score_group(group, encoded, advance) for group in mine]
        for part in distributed.gather(scored, len(groups)):
            for i, j, value in part:
                results[i][j] = value
        return [tuple(r) for r in results]

    def _groups(self, order: list[int], encoded: list) -> Iterator[list[int]]:
        """Consecutive requests with at most batch_size responses in all (a bigger one goes alone)."""
        group: list[int] = []
        rows = 0
        for i in order:
            n = len(encoded[i][1])
            if n == 0:
                continue
            if group and rows + n > self.config.batch_size:
                yield group
                group, rows = [], 0
            group.append(i)
            rows += n
        if group:
            yield group

    def _prompt_cache(self, prefixes: list[list[int]]) -> tuple[list[tuple[Any, Any]] | None, Any]:
        """Per layer (keys, values) of the prefixes right-padded to one width (None if all are empty),
        and the (G, P) mask of real positions."""
        import torch
        import torch.nn.functional as F
        from transformers import DynamicCache

        model, device = self.loaded.model, self.loaded.device
        pad = self.loaded.tokenizer.pad_token_id or 0
        step = self.prompts_per_pass
        parts: list[tuple[list[tuple[Any, Any]] | None, Any]] = []
        for start in range(0, len(prefixes), step):
            rows = prefixes[start: start + step]
            if max(map(len, rows)) == 0:
                parts.append((None, torch.zeros((len(rows), 0), dtype=torch.long, device=device)))
                continue
            ids, mask = self._to_device(rows, pad)  # (n, P_part)
            cache = DynamicCache(config=model.config)
            # logits_to_keep=1: the prompt pass needs no logits; one position is the fewest the API takes.
            model(input_ids=ids, attention_mask=_unless_full(mask), position_ids=torch.arange(ids.shape[1],
                  device=device).expand(len(rows), -1), cache=cache, use_cache=True, logits_to_keep=1)
            parts.append(([(k, v) for k, v, *_ in cache], mask))
            self.tokens_processed += mask.numel()
            self.padding_tokens += mask.numel() - int(mask.sum())
            self.logit_positions += len(rows)
        width = max(mask.shape[1] for _, mask in parts)
        mask = torch.cat([F.pad(m, (0, width - m.shape[1])) for _, m in parts])  # (G, P)
        if width == 0:
            return None, mask
        reference = next(layers for layers, _ in parts if layers is not None)

        def widen(t: Any, n: int, like: Any) -> Any:  # (n, H, p, D) -> (n, H, width, D), zeros where padded
            if t is None:
                return like.new_zeros((n, like.shape[1], width, like.shape[3]))
            return t if t.shape[2] == width else F.pad(t, (0, 0, 0, width - t.shape[2]))

        layers = []
        for index, (k_like, v_like) in enumerate(reference):
            keys = [widen(layers_[index][0] if layers_ else None, m.shape[0], k_like) for layers_, m in parts]
            values = [widen(layers_[index][1] if layers_ else None, m.shape[0], v_like) for layers_, m in parts]
            layers.append((torch.cat(keys) if len(keys) > 1 else keys[0],
                           torch.cat(values) if len(values) > 1 else values[0]))
        return layers, mask

    def _score_group(self, group: list[int], encoded: list, advance: Any) -> list[tuple[int, int, float]]:
        """(request, response index, log-prob) of every response of the group's requests."""
        import torch
        from transformers import DynamicCache

        model, device = self.loaded.model, self.loaded.device
        pad = self.loaded.tokenizer.pad_token_id or 0
        prompts = [encoded[i][0] for i in group]
        # The last prompt token opens each response pass instead, so all of that pass's logits are used.
        layers, prefix_mask = self._prompt_cache([p[:-1] for p in prompts])  # prefix_mask: (G, P)

        # Response rows (group slot, request, response index), longest first so chunks pad little.
        rows = [(slot, i, j) for slot, i in enumerate(group) for j in range(len(encoded[i][1]))]
        rows.sort(key=lambda r: -len(encoded[r[1]][1][r[2]]))
        scored = []
        for start in range(0, len(rows), self.config.batch_size):
            chunk = rows[start: start + self.config.batch_size]
            slots = torch.tensor([slot for slot, _, _ in chunk], device=device)
            inputs = [[prompts[slot][-1]] + encoded[i][1][j][:-1] for slot, i, j in chunk]
            targets, _ = self._to_device([encoded[i][1][j] for _, i, j in chunk], pad)  # (B, R)
            ids, mask = self._to_device(inputs, pad)  # (B, R)
            # Each row continues its own prompt: position len(prompt)-1 is the last prompt token.
            first = torch.tensor([len(prompts[slot]) - 1 for slot, _, _ in chunk], device=device)
            positions = first[:, None] + torch.arange(ids.shape[1], device=device)  # (B, R)
            cache = None
            if layers is not None:
                # A fresh cache of the chunk's prompt rows; `update` concatenates, so `layers` stay intact.
                cache = DynamicCache([(k[slots], v[slots]) for k, v in layers], config=model.config)
            full_mask = torch.cat([prefix_mask[slots], mask], dim=1)  # (B, P + R)
            logits = model(input_ids=ids, attention_mask=_unless_full(full_mask), position_ids=positions,
                           cache=cache, use_cache=cache is not None).logits  # (B, R, V)
            lp = _target_logprobs(logits, targets) * mask  # (B, R); padding contributes 0
            scored += [(i, j, value) for (_, i, j), value in zip(chunk, lp.sum(-1).tolist(), strict=True)]
            self.tokens_processed += mask.numel()
            self.padding_tokens += mask.numel() - int(mask.sum())
            self.logit_positions += mask.numel()
            advance(len(chunk))
        return scored
