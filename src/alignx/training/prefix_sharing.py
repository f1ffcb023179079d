"""Prefix-shared DPO: each pair's prompt is read once for both responses, forward and backward.

TRL's DPOTrainer (1.16) stacks every pair as two rows, prompt+chosen and prompt+rejected, so the prompt, the
longest part of an ICA example (600-3,000 tokens before a 50-300-token response), is computed twice by the
policy and twice more by the reference. Here the two rows of a pair become one packed sequence

    prompt · chosen · p · rejected        (p: a copy of the prompt's last token)

with an attention mask under which the rejected branch sees the prompt but not the chosen branch, and
position ids that start the branch again where the prompt ends. The copy `p` is what predicts the first
rejected token, as the prompt's last token does in TRL's row; the original `p` is hidden from the branch so
that no key is seen twice. Every completion token then has the same context and the same position as in its
own row, so the per-token log-probabilities, and with them the loss, rewards and gradients, equal TRL's to
float tolerance (tests/test_train.py compares them on a tiny model).

Why a mask and not a cached prefix expanded over the two responses: the mask is one ordinary forward, so
gradient checkpointing, LoRA, DDP and DeepSpeed ZeRO-3 see nothing new, and the backward through the prompt
runs once with both responses' gradients summed in it. A cached prefix would need the key/value cache
to carry gradients through `use_cache=True`, which transformers turns off under gradient checkpointing.

The packing wraps the forward TRL's `add_fused_lm_head` installs (the one DPOTrainer calls with
`fused_lm_head=True`) and gives back its output in TRL's row layout, so TRL's loss code runs unchanged for
every loss type. Batches it cannot share exactly are passed to TRL's forward as they are: an attention
implementation that takes no custom mask (flash-attention, flex), MoE router logits, a pair whose rows do
not start with the same prompt, or a response cut away by --max-length.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import torch

# Attention implementations that take a custom 4D mask, and the form they take it in.
MASK_FORMS = {"sdpa": "bool", "eager": "additive"}
# The per-token fields of TRL's FusedCausalLMOutput, laid out (batch, seq_len - 1).
PER_TOKEN_FIELDS = ("log_probs", "entropy", "log_sum_sq_probs", "mean_logits", "is_top1", "label_mask")


@dataclass(frozen=True)
class Pair:
    """Where a pair's tokens sit: TRL's rows hold prompt+chosen (`chosen_end` tokens) and prompt+rejected
    (`rejected_end` tokens), both starting with the `prompt` tokens; the packed row is chosen_end + 1 +
    (rejected_end - prompt) tokens long."""

    prompt: int
    chosen_end: int
    rejected_end: int

    @property
    def packed_length(self) -> int:
        return self.chosen_end + 1 + self.rejected_end - self.prompt


@dataclass(frozen=True)
class PackedBatch:
    input_ids: torch.Tensor  # (pairs, T)
    position_ids: torch.Tensor  # (pairs, T)
    labels: torch.Tensor  # (pairs, T), -100 off the responses
    attention_mask: torch.Tensor  # (pairs, 1, T, T), True or 0.0 where a query may see a key
    pairs: tuple[Pair, ...]


def find_pairs(input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor) -> tuple[Pair, ...] | None:
    """The pairs of TRL's batch (rows [chosen..., rejected...], right-padded), or None when a pair cannot be
    shared exactly: its rows differ before the first response token, or a response is empty."""
    if input_ids.size(0) % 2:
        return None
    half = input_ids.size(0) // 2
    lengths = attention_mask.sum(dim=1).tolist()
    targets = labels != -100
    pairs = []
    for i in range(half):
        chosen, rejected = i, half + i
        ends = int(lengths[chosen]), int(lengths[rejected])
        starts = [int(targets[row].int().argmax()) for row in (chosen, rejected)]
        if not (targets[chosen].any() and targets[rejected].any()) or starts[0] != starts[1] or starts[0] < 1:
            return None
        prompt = starts[0]
        if not torch.equal(input_ids[chosen, :prompt], input_ids[rejected, :prompt]):
            return None
        for row, end in ((chosen, ends[0]), (rejected, ends[1])):  # right padding, one response span
            spans = attention_mask[row, :end].all() and targets[row, prompt:end].all()
            if not spans or targets[row, end:].any():
                return None
        pairs.append(Pair(prompt, *ends))
    return tuple(pairs)


def pack(input_ids: torch.Tensor, labels: torch.Tensor, pairs: tuple[Pair, ...], mask_form: str) -> PackedBatch:
    """One row per pair: prompt · chosen · copy of the prompt's last token · rejected, right-padded."""
    half, device = len(pairs), input_ids.device
    width = max(pair.packed_length for pair in pairs)
    ids = input_ids.new_zeros((half, width))
    positions = torch.zeros((half, width), dtype=torch.long, device=device)
    packed_labels = labels.new_full((half, width), -100)
    visible = torch.zeros((half, 1, width, width), dtype=torch.bool, device=device)
    causal = torch.ones((width, width), dtype=torch.bool, device=device).tril()
    for i, pair in enumerate(pairs):
        chosen, rejected = i, half + i
        p, c, r = pair.prompt, pair.chosen_end, pair.rejected_end
        branch = slice(c, pair.packed_length)  # the copied prompt token, then the rejected response
        ids[i, :c] = input_ids[chosen, :c]
        ids[i, branch] = input_ids[rejected, p - 1:r]
        positions[i, :c] = torch.arange(c, device=device)
        positions[i, branch] = torch.arange(p - 1, r, device=device)
        packed_labels[i, :c] = labels[chosen, :c]
        packed_labels[i, c + 1:pair.packed_length] = labels[rejected, p:r]
        visible[i, 0, :pair.packed_length, :pair.packed_length] = causal[:pair.packed_length, :pair.packed_length]
        visible[i, 0, branch, p - 1:c] = False  # the rejected branch sees the prompt up to p-1, then itself
        pad = torch.arange(pair.packed_length, width, device=device)
        visible[i, 0, pad, pad] = True  # padding sees itself: no query row is empty (NaN in softmax)
    if mask_form == "additive":
        mask = torch.zeros(visible.shape, dtype=torch.float32, device=device)
        mask = mask.masked_fill(~visible, torch.finfo(torch.float32).min)
    else:
        mask = visible
    return PackedBatch(ids, positions, packed_labels, mask, pairs)


def unpack(packed: torch.Tensor, pairs: tuple[Pair, ...], seq_len: int) -> torch.Tensor:
    """A per-token field of the packed rows (pairs, T-1) in TRL's layout (2 * pairs, seq_len - 1): the entry
    at t-1 scores token t of its row, zero off the responses."""
    half = len(pairs)
    out = packed.new_zeros((2 * half, seq_len - 1))
    for i, pair in enumerate(pairs):
        p, c, r = pair.prompt, pair.chosen_end, pair.rejected_end
        out[i, p - 1:c - 1] = packed[i, p - 1:c - 1]
        out[half + i, p - 1:r - 1] = packed[i, c:c + r - p]
    return out


def prefix_shared(fused_forward: Callable, attn_implementation: str | None) -> Callable:
    """`fused_forward` (TRL's fused-LM-head forward, bound) reading each pair's prompt once when called as
    DPOTrainer calls it: input_ids, attention_mask, labels, use_cache=False, fused_lm_head=True."""
    mask_form = MASK_FORMS.get(attn_implementation or "")

    @functools.wraps(fused_forward)
    def forward(*args, fused_lm_head=False, labels=None, **kwargs):
        plain = functools.partial(fused_forward, *args, fused_lm_head=fused_lm_head, labels=labels, **kwargs)
        input_ids, attention_mask = kwargs.get("input_ids"), kwargs.get("attention_mask")
        # PEFT's causal-LM wrapper passes inputs_embeds, output_attentions, ... as None; any other value is
        # a call this packing was not written for.
        others = {key for key, value in kwargs.items() if value is not None} - {"input_ids", "attention_mask",
                                                                               "use_cache"}
        if (not fused_lm_head or args or others or mask_form is None or labels is None or input_ids is None
                or attention_mask is None or attention_mask.dim() != 2):
            return plain()
        pairs = find_pairs(input_ids, attention_mask, labels)
        if pairs is None:
            return plain()
        batch = pack(input_ids, labels, pairs, mask_form)
        out = fused_forward(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                            position_ids=batch.position_ids, labels=batch.labels, use_cache=False, fused_lm_head=True)
        fields = {}
        for name in PER_TOKEN_FIELDS:
            value = getattr(out, name)
            fields[name] = None if value is None else unpack(value, pairs, input_ids.size(1))
        return type(out)(loss=out.loss, aux_loss=out.aux_loss, **fields)

    return forward


def share_prefixes(model) -> None:
    """Wrap the fused forward TRL installed on `model` (the PEFT base model, or the model itself)."""
    model.forward = prefix_shared(model.forward, getattr(model.config, "_attn_implementation", None))
