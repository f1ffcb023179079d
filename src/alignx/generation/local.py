"""`LocalGenerator`: a transformers model in this process, batched (left padding, KV cache) or streamed.

`generate_kwargs` is the one place `Settings` become `model.generate` arguments (EOS ids, the model without
one included, padding, greedy or sampled). Requests are sorted longest-first (an out-of-memory shows on the
first batch, and batches hold prompts of similar length, so little padding) and generated `batch_size` at a
time; each batch draws from its own seed (`Settings.seed_for` of its ids). One use of the model at a time
(`lock`): concurrent generations would only share the cores.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from alignx.generation.base import Delta, Generated, GenerationError, Settings
from alignx.generation.steering import Steered
from alignx.models import LoadedModel
from alignx.prompts import Messages

PREFILL_ALONE_TOKENS = 256  # on CPU, a prompt this long is prefilled by itself (LocalGenerator._prefill)


def eos_ids(loaded: LoadedModel) -> list[int]:
    """The token ids that end an answer: the generation config's and the tokenizer's; [] for a model with none."""
    eos = loaded.model.generation_config.eos_token_id
    ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    if loaded.tokenizer.eos_token_id is not None:
        ids.add(loaded.tokenizer.eos_token_id)
    return sorted(ids)


def generate_kwargs(loaded: LoadedModel, settings: Settings) -> dict[str, Any]:
    """The `model.generate` arguments of `settings`; greedy unsets the checkpoint's sampling defaults."""
    stop = eos_ids(loaded)
    pad = loaded.tokenizer.pad_token_id
    kwargs: dict[str, Any] = {"max_new_tokens": settings.max_new_tokens, "use_cache": True,
                              "eos_token_id": stop or None,
                              "pad_token_id": pad if pad is not None else stop[0] if stop else 0}
    if settings.sampling:
        kwargs.update(do_sample=True, temperature=settings.temperature,
                      top_p=settings.top_p if settings.top_p is not None else 1.0)
        if settings.top_k is not None:  # else the checkpoint's generation config decides, as the service always did
            kwargs["top_k"] = settings.top_k or None
    else:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    return kwargs


def finish(loaded: LoadedModel, new_tokens: list[int], settings: Settings, prompt_tokens: int) -> Generated:
    """One row's answer from its new tokens, cut after the first EOS (later positions are padding)."""
    stop = set(eos_ids(loaded))
    end = next((i + 1 for i, t in enumerate(new_tokens) if t in stop), None)
    reason = "stop" if end is not None or len(new_tokens) < settings.max_new_tokens else "length"
    end = end if end is not None else len(new_tokens)
    return Generated(loaded.tokenizer.decode(new_tokens[:end], skip_special_tokens=True), end, reason, prompt_tokens)


def _plain(cache) -> bool:
    """Whether `cache` is one plain key/value pair per layer (no sliding windows): rows can be copied out of it."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    return isinstance(cache, DynamicCache) and all(type(layer) is DynamicLayer for layer in cache.layers)


def _room(length: int, config):
    """An empty `StaticCache` of `length` positions, or None when the model's layers would not be plain static ones
    (sliding windows). Decoding into it writes each step's keys and values in place. A growing cache copies all of
    itself at every step (`torch.cat`), which for 8 persona prompts of 700-900 tokens was a fifth of a decode step
    on CPU, and decoding them took 6.1 s instead of 8.0 s with the same tokens."""
    from transformers import StaticCache
    from transformers.cache_utils import StaticLayer

    room = StaticCache(config, max_cache_len=length)
    return room if all(type(layer) is StaticLayer for layer in room.layers) else None


def _with_room(cache, rows, length: int, config):
    """The rows `rows` of a prefilled `cache`, in a `StaticCache` of `length` positions (`_room`). Any other cache
    stays as it is, its rows selected."""
    room = _room(length, config)
    if room is None or not _plain(cache):
        if rows.tolist() != list(range(len(rows))):
            cache.batch_select_indices(rows)
        return cache
    for i, layer in enumerate(cache.layers):
        room.update(layer.keys[rows], layer.values[rows], i)
    return room


class _Cancel:
    """A StoppingCriteria-shaped callable: stops a streamed generation once its reader has gone."""

    def __init__(self):
        self.event = threading.Event()

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


class LocalGenerator:
    """Generates with one loaded model; `load` loads it from a model spec."""

    def __init__(self, loaded: LoadedModel, *, name: str, batch_size: int = 8, progress: bool = True):
        self.loaded, self.name, self.batch_size, self.progress = loaded, name, batch_size, progress
        self.where = f"local model {name}"
        self.lock = threading.Lock()  # one use of the model at a time; a scorer sharing the weights takes it too
        self.tokens_generated = 0
        self.seconds = 0.0

    @classmethod
    def load(cls, spec: str, *, device: str | None = None, dtype: str | None = None, batch_size: int = 8,
             progress: bool = True) -> LocalGenerator:
        from alignx.models import DEFAULT_MODEL, EMBEDDED_NAME, load

        name = EMBEDDED_NAME if spec == DEFAULT_MODEL else spec
        return cls(load(spec, device=device, dtype=dtype), name=name, batch_size=batch_size, progress=progress)

    def _encode(self, messages: Messages) -> list[int]:
        from alignx.prompts import render

        # The chat template already writes any BOS the model expects.
        return self.loaded.tokenizer(render(self.loaded.tokenizer, messages), add_special_tokens=False)["input_ids"]

    def _encode_request(self, request: Messages | Steered, settings: Settings) -> tuple[list[int], ...]:
        """The contexts a request is decoded from, as token lists: (main, toward, away) when `settings` steer, else
        the prompt alone. Steering off, a steered request is its main prompt; on, a plain one is steered by nothing
        (identical contexts: no shift)."""
        if isinstance(request, Steered):
            contexts = (request.messages, request.toward, request.away) if settings.steer else (request.messages,)
            return tuple(self._encode(m) for m in contexts)
        return (self._encode(request),) * (3 if settings.steer else 1)

    def generate(self, requests: Sequence[Messages | Steered], settings: Settings, *,
                 ids: Sequence[str] | None = None, description: str = "generating") -> Iterator[tuple[int, Generated]]:
        """(index, Generated) for every request, a batch at a time, longest prompts first. `Steered` requests
        are decoded with `settings.steer` (0: their universal prompt alone, as a plain request)."""
        from alignx.progress import ProgressBar

        if not requests:
            return
        ids = list(ids) if ids is not None else [str(i) for i in range(len(requests))]
        encoded = [self._encode_request(r, settings) for r in requests]
        leans = [r.lean if isinstance(r, Steered) else 0.0 for r in requests]
        order = sorted(range(len(requests)), key=lambda i: -max(map(len, encoded[i])))
        start = time.perf_counter()
        with ProgressBar(description, len(requests), unit="tok", enabled=self.progress) as bar:
            for at in range(0, len(order), self.batch_size):
                batch = order[at:at + self.batch_size]
                results = self._batch([encoded[i] for i in batch], settings, settings.seed_for([ids[i] for i in batch]),
                                      [leans[i] for i in batch])
                tokens = sum(g.tokens for g in results)
                self.tokens_generated += tokens
                bar.advance(len(batch), work=tokens)
                yield from zip(batch, results, strict=True)
        self.seconds += time.perf_counter() - start

    def _batch(self, rows: list[tuple[list[int], ...]], settings: Settings, seed: int | None,
               leans: list[float]) -> list[Generated]:
        """One left-padded batch through `model.generate`, or steered decoding for rows of three contexts."""
        import torch

        kwargs = generate_kwargs(self.loaded, settings)
        if len(rows[0]) > 1:
            return self._steered_batch(rows, settings, seed, kwargs, leans)
        rows = [contexts[0] for contexts in rows]
        width = max(map(len, rows))
        input_ids = torch.full((len(rows), width), kwargs["pad_token_id"], dtype=torch.long)  # (B, T), left-padded
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for row, tokens in enumerate(rows):
            input_ids[row, width - len(tokens):] = torch.tensor(tokens)
            mask[row, width - len(tokens):] = 1
        device = self.loaded.device
        input_ids, mask = input_ids.to(device), mask.to(device)
        with self.lock, torch.inference_mode():
            cache = self._prefill(rows, input_ids, mask, width - 1 + settings.max_new_tokens)
            if seed is not None:
                torch.manual_seed(seed)
            prefilled = {} if cache is None else {"cache": cache}
            out = self.loaded.model.generate(input_ids=input_ids, attention_mask=mask, **prefilled, **kwargs)
        new = out[:, width:].tolist()  # (B, T_new); rows that stopped early are padded
        return [finish(self.loaded, new[row], settings, len(tokens)) for row, tokens in enumerate(rows)]

    def _prefill(self, rows: list[list[int]], input_ids, mask, length: int):
        """The key/value cache of all but the last token of every row, read in less work than the padded batch and
        with room for `length` positions (`_room`); `model.generate` then starts from the last token. None when
        the padded batch is as cheap (generate prefills it itself). No logits are made for it (`logits_to_keep=1`,
        as generate's own prefill): projecting every prompt position onto the vocabulary was 15% of a persona
        prompt's prefill. Two cases read less:

        - a batch that repeats a prompt (best-of-N candidates, --samples N) reads each distinct prompt once and
          expands its cache over the rows that share it;
        - on CPU, prompts of PREFILL_ALONE_TOKENS or more (persona prompts) are each read alone, without padding, and
          their keys and values written into their rows of the batch's cache (`_prefill_alone`): a prompt that long
          keeps the cores busy by itself, so a batched prefill gains nothing from batching and pays for its padding
          (19% of the tokens of the 8 longest demo persona prompts), and on CPU the prefill is most of a batch's
          time."""
        import torch

        first: dict[tuple[int, ...], int] = {}
        owner = [first.setdefault(tuple(tokens), len(first)) for tokens in rows]
        distinct = [list(tokens) for tokens in first]
        alone = self.loaded.device.type == "cpu" and min(map(len, distinct)) >= PREFILL_ALONE_TOKENS
        if (len(distinct) == len(rows) and not alone) or input_ids.size(1) < 2:
            return None
        owner_rows = torch.tensor(owner, device=input_ids.device)
        if alone:
            room = self._prefill_alone(distinct, owner_rows, input_ids.size(1) - 1, length)
            if room is not None:
                return room
        index = torch.tensor([owner.index(k) for k in range(len(first))], device=input_ids.device)
        ids, attention = input_ids[index, :-1], mask[index, :-1]
        positions = (attention.cumsum(-1) - 1).clamp(min=0)  # as generate places left-padded prompts
        cache = self.loaded.model(input_ids=ids, attention_mask=attention, position_ids=positions,
                                  use_cache=True, logits_to_keep=1).past_key_values
        return _with_room(cache, owner_rows, length, self.loaded.model.config)

    def _prefill_alone(self, prompts: list[list[int]], owner, width: int, length: int):
        """A `StaticCache` of `length` positions whose row r holds prompt `owner[r]` without its last token,
        read by itself and left-padded to `width` positions (the padding's keys and values are zeros, which the
        attention mask hides). Each prompt's keys go straight into its rows, a layer at a time, so the batch's
        cache is never held twice. None for a model whose cache is not one plain key/value pair per layer
        (sliding windows), which the padded batch serves."""
        import torch

        room = _room(length, self.loaded.model.config)
        if room is None:
            return None
        device = self.loaded.device
        caches = [self.loaded.model(input_ids=torch.tensor([tokens[:-1]], device=device), use_cache=True,
                                    logits_to_keep=1).past_key_values for tokens in prompts]
        if not all(map(_plain, caches)):
            return None
        pending = [[(layer.keys, layer.values) for layer in cache.layers] for cache in caches]  # [prompt][layer]
        del caches  # each prompt's layer is released once it is written, so the peak is about one batch cache
        rows_of = [torch.nonzero(owner == p).flatten() for p in range(len(prompts))]
        for i in range(len(room.layers)):
            parts = [layers[i] for layers in pending]  # (keys, values) of every prompt: (1, heads, positions, dim)
            for layers in pending:
                layers[i] = None
            first_k, first_v = parts[0]
            keys = first_k.new_zeros((len(owner), first_k.size(1), width, first_k.size(3)))
            values = first_v.new_zeros((len(owner), first_v.size(1), width, first_v.size(3)))
            for rows, (k, v) in zip(rows_of, parts, strict=True):
                keys[rows, :, width - k.size(-2):] = k
                values[rows, :, width - v.size(-2):] = v
            del parts
            room.update(keys, values, i)
        return room

    def _steered_batch(self, rows: list[tuple[list[int], ...]], settings: Settings, seed: int | None,
                       kwargs: dict[str, Any], leans: list[float]) -> list[Generated]:
        import torch

        from alignx.generation.steering import steered_decode

        with self.lock, torch.inference_mode():
            if seed is not None:
                torch.manual_seed(seed)
            new = steered_decode(self.loaded, rows, settings.steer, kwargs, settings.steer_plausibility,
                                 stop_bias=[settings.steer_length * lean for lean in leans])
        return [finish(self.loaded, new[row], settings, len(contexts[0])) for row, contexts in enumerate(rows)]

    def stream(self, request: Messages | Steered, settings: Settings) -> Iterator[Delta]:
        """The answer as it is generated (`TextIteratorStreamer`, generation in a thread), a `Steered` request
        decoded as `generate` would; a reader that stops reading stops the generation at its next token."""
        import torch
        from transformers import StoppingCriteriaList, TextIteratorStreamer

        contexts = self._encode_request(request, settings)
        steered = len(contexts) > 1
        lean = request.lean if isinstance(request, Steered) else 0.0
        prompt = contexts[0]
        kwargs = generate_kwargs(self.loaded, settings)
        # Steered decoding puts only new tokens; model.generate puts the prompt first, which the streamer skips.
        streamer = TextIteratorStreamer(self.loaded.tokenizer, skip_prompt=not steered, skip_special_tokens=True)
        cancel = _Cancel()
        result: dict[str, Any] = {}

        def on_step(token: torch.Tensor) -> bool:
            streamer.put(token.cpu())
            return cancel.event.is_set()

        def run():
            try:
                with self.lock, torch.inference_mode():
                    if settings.seed is not None:
                        torch.manual_seed(settings.seed_for([]))
                    if steered:
                        from alignx.generation.steering import steered_decode

                        [result["new"]] = steered_decode(self.loaded, [contexts], settings.steer, kwargs,
                                                         settings.steer_plausibility, on_step=on_step,
                                                         stop_bias=[settings.steer_length * lean])
                        streamer.end()
                    else:
                        inputs = torch.tensor([prompt], device=self.loaded.device)  # (1, T)
                        out = self.loaded.model.generate(
                            input_ids=inputs, attention_mask=torch.ones_like(inputs), **kwargs, streamer=streamer,
                            stopping_criteria=StoppingCriteriaList([cancel]))
                        result["new"] = out[0, len(prompt):].tolist()
            except BaseException as e:  # surfaced to the reader below
                result["error"] = e
                streamer.end()

        thread = threading.Thread(target=run, name="alignx-generate", daemon=True)
        thread.start()
        try:
            for text in streamer:
                if text:
                    yield Delta(text)
        finally:
            cancel.event.set()  # a reader that went away stops the generation at the next token
            if threading.current_thread() is not thread:  # the garbage collector may close us from any thread
                thread.join()
        if "error" in result:
            raise GenerationError(f"{self.where}: generation failed: {result['error']}") from result["error"]
        done = finish(self.loaded, result["new"], settings, len(prompt))
        self.tokens_generated += done.tokens
        yield Delta("", done.finish_reason)

    def close(self) -> None:
        pass
