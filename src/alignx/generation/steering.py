"""Decoding-time steering with the user's evidence: the answer is read from the universal prompt, and the user's
chosen and rejected examples only shift its token scores.

Each step scores the next token as log p(t | universal) + w · (log p(t | chosen examples) − log p(t | rejected
examples)), renormalized, then sampled (temperature, top-k, top-p) or taken greedily. The main context never
holds the user's texts, so the answer cannot continue a scaffold it does not see; the contrast is the per-token
form of the zero-shot PAIR reward (`alignx.eval.zero_shot.pair_contrast`, the same example layout), so
generation and evaluation read the user the same way. Contrasting chosen with rejected examples, rather than
chosen examples with the universal prompt (classifier-free guidance's form), cancels what any list of examples
does to the model (continue it, repeat its words) and keeps what tells the user's choices from the ones they
turned down. With identical evidence contexts, or w = 0, the shift is zero and the text is the universal one.

A large shift can promote tokens the universal context finds unlikely (words of the examples, broken text).
Contrastive decoding's plausibility constraint (Li et al., 2023) bounds that: with `plausibility` α > 0 only
tokens whose universal probability is at least α times the most likely one's can be chosen. Ending the answer
is exempt: an end is never off-topic, and a user whose chosen answers are short must be able to get one where
the universal model would rather go on (on the 32 length users of `devset/style-tune.jsonl`, 256 tokens, w 4,
α 0.1, the concise users' mean answer went from 170 to 115 tokens with the exemption, against 186 universal).

Length is the one thing a choice shows exactly, and the token-by-token contrast reads it poorly: on those 32
users steering alone moved 20 answers toward the user's pole (62%), and some detailed users' answers ended after
one token. So the request also carries the choices' `length_lean` (+1: every shown choice took the clearly
shorter text, -1 the longer, measured on the texts, no model), and the end of the answer's score is raised by
`steer_length` times it at every step: a concise user's answer ends sooner, a detailed user's later, and a user
whose choices say nothing of length (lean 0) is steered as before.

The three contexts of each row share the batch (rows main, toward, away, ...) and one KV cache, so a step is
one forward pass of 3B sequences.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from alignx.prompts import Messages

if TYPE_CHECKING:
    import torch

    from alignx.models import LoadedModel
    from alignx.records import Choice

CONTEXTS = 3  # per row: the answer's own context, the chosen examples, the rejected ones
# The default for an untrained model (`alignx generate`, `alignx serve`), chosen on the demo's tune split and
# `devset/style-tune.jsonl` (docs/generate.md, "Steering").
DEFAULT_WEIGHT = 4.0
DEFAULT_PLAUSIBILITY = 0.1
LENGTH_RATIO = 1.5  # a choice says something about length when one text is this many times the other's length
# The stop token's bias per unit of `length_lean` (`--steer-length`), chosen on the length users of
# `devset/style-tune.jsonl` (docs/generate.md, "Length read from the choices").
DEFAULT_LENGTH_WEIGHT = 3.0


@dataclass(frozen=True)
class Steered:
    """One steered request: what the answer is conditioned on, and the two evidence contexts that shift it."""

    messages: Messages  # the answer's context: the universal prompt
    toward: Messages  # the user's chosen responses as examples
    away: Messages  # their rejected responses as examples
    lean: float = 0.0  # `length_lean` of the choices: > 0 the user chose the shorter answers, < 0 the longer

    @classmethod
    def by_choices(cls, messages: Messages, post: str, pairs: Sequence[Choice]) -> Steered:
        """`messages` shifted by the PAIR choices `pairs` on `post`: their chosen / rejected texts as the zero-shot
        reward lays them out (each distinct text once), and their length lean; no choices steer by nothing."""
        from alignx.eval.zero_shot import pair_examples

        if not pairs:
            return cls(messages, messages, messages)
        return cls(messages, *pair_examples(post, pairs), lean=length_lean(pairs))

    def to_dict(self) -> dict[str, Any]:
        return {"toward": self.toward, "away": self.away, "lean": self.lean}


def length_lean(pairs: Sequence[Choice]) -> float:
    """How the user's choices lean on length, in [-1, 1]: the mean over choices of +1 where the chosen text is
    the shorter by LENGTH_RATIO or more, -1 where it is the longer by as much, 0 otherwise (lengths in
    `alignx.generate.copying.tokens`). Read from the texts themselves, no model: length is the one thing a
    choice shows exactly."""
    from alignx.generate.copying import tokens

    if not pairs:
        return 0.0
    votes = 0
    for choice in pairs:
        chosen, rejected = len(tokens(choice.chosen)), len(tokens(choice.rejected))
        if max(chosen, rejected) >= LENGTH_RATIO * max(min(chosen, rejected), 1):
            votes += 1 if chosen < rejected else -1
    return votes / len(pairs)


def steered_scores(main: torch.Tensor, toward: torch.Tensor, away: torch.Tensor, weight: float,
                   plausibility: float = 0.0, stop: torch.Tensor | None = None,
                   stop_bias: torch.Tensor | None = None) -> torch.Tensor:
    """log_softmax(main + weight · (toward − away)) of three (B, V) log-probability tensors; with
    `plausibility` α > 0, −inf where main < log α + max(main), except at the `stop` token ids, whose scores are
    raised by each row's `stop_bias` (B,)."""
    import math

    import torch

    scores = main + weight * (toward - away)
    if stop_bias is not None and stop is not None:
        scores[:, stop] += stop_bias[:, None]
    if plausibility > 0:
        floor = main.max(dim=-1, keepdim=True).values + math.log(plausibility)
        implausible = main < floor
        if stop is not None:
            implausible[:, stop] = False
        scores = scores.masked_fill(implausible, float("-inf"))
    return torch.log_softmax(scores, dim=-1)


def _warpers(settings_kwargs: dict[str, Any]):
    """The sampling warpers `model.generate` applies, in its order (temperature, top-k, top-p)."""
    from transformers import LogitsProcessorList, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    warpers = LogitsProcessorList([TemperatureLogitsWarper(settings_kwargs["temperature"])])
    if settings_kwargs.get("top_k"):
        warpers.append(TopKLogitsWarper(settings_kwargs["top_k"]))
    if settings_kwargs["top_p"] < 1.0:
        warpers.append(TopPLogitsWarper(settings_kwargs["top_p"]))
    return warpers


def _left_padded(contexts: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(input ids, attention mask), each (N, T), the contexts left-padded to the longest."""
    import torch

    width = max(map(len, contexts))
    ids = torch.full((len(contexts), width), pad, dtype=torch.long)
    mask = torch.zeros((len(contexts), width), dtype=torch.long)
    for row, tokens in enumerate(contexts):
        ids[row, width - len(tokens):] = torch.tensor(tokens)
        mask[row, width - len(tokens):] = 1
    return ids, mask


def steered_decode(loaded: LoadedModel, rows: list[tuple[list[int], list[int], list[int]]], weight: float,
                   kwargs: dict[str, Any], plausibility: float = 0.0,
                   on_step: Callable[[torch.Tensor], bool] | None = None,
                   stop_bias: Sequence[float] | None = None) -> list[list[int]]:
    """Each row's new tokens (padded after its EOS) from its (main, toward, away) token lists, under the
    `model.generate` arguments `kwargs` (`alignx.generation.local.generate_kwargs`). `on_step` is handed each
    step's (B,) tokens as they are chosen (a streamer's way in); it returns True to stop there. The caller seeds
    and holds the model's lock."""
    import torch
    from transformers import StaticCache

    model, device = loaded.model, loaded.device
    pad, stop = kwargs["pad_token_id"], kwargs["eos_token_id"] or []
    ids, mask = _left_padded([c for row in rows for c in row], pad)  # (3B, T): main, toward, away, main, ...
    ids, mask = ids.to(device), mask.to(device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    warpers = _warpers(kwargs) if kwargs["do_sample"] else None
    stop_ids = torch.tensor(stop, device=device, dtype=torch.long)
    stop_bias = None if stop_bias is None or not any(stop_bias) else torch.tensor(stop_bias, device=device)
    done = torch.zeros(len(rows), dtype=torch.bool, device=device)
    new: list[torch.Tensor] = []
    # Room for the whole answer up front: steps write in place, not copy the cache (as `local._room`).
    room = StaticCache(model.config, max_cache_len=ids.size(1) + kwargs["max_new_tokens"] - 1)
    out = model(input_ids=ids, attention_mask=mask, position_ids=positions, cache=room, use_cache=True,
                logits_to_keep=1)
    for step in range(kwargs["max_new_tokens"]):
        logp = torch.log_softmax(out.logits[:, -1, :].float(), dim=-1).view(len(rows), CONTEXTS, -1)  # (B, 3, V)
        scores = steered_scores(logp[:, 0], logp[:, 1], logp[:, 2], weight, plausibility, stop_ids, stop_bias)
        if warpers is not None:
            so_far = torch.stack(new, dim=1) if new else torch.empty((len(rows), 0), dtype=torch.long, device=device)
            probs = torch.softmax(warpers(so_far, scores), dim=-1)
            token = torch.multinomial(probs, 1).squeeze(1)
        else:
            token = scores.argmax(dim=-1)
        token = torch.where(done, torch.full_like(token, pad), token)
        new.append(token)
        done |= torch.isin(token, stop_ids)
        stopped = on_step is not None and on_step(token)
        if stopped or bool(done.all()) or step + 1 == kwargs["max_new_tokens"]:
            break
        mask = torch.cat([mask, torch.ones((mask.shape[0], 1), dtype=mask.dtype, device=device)], dim=1)
        positions = positions[:, -1:] + 1
        out = model(input_ids=token.repeat_interleave(CONTEXTS).unsqueeze(1), attention_mask=mask,
                    position_ids=positions, cache=out.cache, use_cache=True)
    return torch.stack(new, dim=1).tolist()
