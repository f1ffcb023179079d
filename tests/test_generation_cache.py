"""alignx.generation.cache: a cache layer that writes each step into reserved room holds exactly what
transformers' concatenating layer holds, through selection, crops and resets, and gives the same generations."""

from __future__ import annotations

import pytest


def test_a_reserved_layer_holds_what_a_dynamic_layer_holds_and_writes_steps_in_place():
    import torch
    from transformers.cache_utils import DynamicLayer

    from alignx.generation.cache import ReservedLayer

    torch.manual_seed(0)
    plain, reserved = DynamicLayer(), ReservedLayer(room=3)

    def step(length, batch=4):
        keys, values = torch.randn(batch, 2, length, 8), torch.randn(batch, 2, length, 8)
        expected, got = plain.update(keys, values), reserved.update(keys, values)
        for a, b in zip(expected, got, strict=True):
            assert torch.equal(a, b)
        return got[0].data_ptr()

    storage = step(5)  # the prompt, with room for 3 more
    assert [step(1) for _ in range(3)] == [storage] * 3  # written in place: no copy while the room lasts
    assert step(1) != storage  # out of room: copied once into fresh room
    for layer in (plain, reserved):
        layer.batch_select_indices(torch.tensor([2, 0]))  # a new tensor: the next step re-reserves
    step(1, batch=2)
    for layer in (plain, reserved):
        layer.crop(-2)  # a shorter view of the same storage: the next step overwrites what was cropped
    step(1, batch=2)
    assert reserved.get_seq_length() == plain.get_seq_length() == 9
    for layer in (plain, reserved):
        layer.reset()
    step(4, batch=3)


@pytest.mark.parametrize("sampled", [False, True], ids=["greedy", "sampled"])
def test_generation_with_a_reserved_cache_is_the_generation_without_it(tiny_model, sampled):
    """Left-padded rows through `model.generate`, with room for fewer tokens than are generated (so it regrows
    once): the same tokens, greedy and sampled from the same seed, as transformers' own cache."""
    import torch

    from alignx import models
    from alignx.generation.base import Settings
    from alignx.generation.cache import reserved_cache
    from alignx.generation.local import generate_kwargs

    loaded = models.load(str(tiny_model), device="cpu", dtype="fp32")
    rows = [[5, 6, 7, 8, 9, 10], [11, 12, 13], [14, 15, 16, 17]]
    width = max(map(len, rows))
    ids = torch.tensor([[0] * (width - len(r)) + r for r in rows])
    mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows])
    settings = Settings(max_new_tokens=12, temperature=0.9 if sampled else 0.0, top_k=10, seed=1)
    kwargs = generate_kwargs(loaded, settings)
    outputs = []
    for cache in (None, reserved_cache(loaded.model.config, room=5)):
        torch.manual_seed(1)
        with torch.inference_mode():
            extra = {} if cache is None else {"cache": cache}
            outputs.append(loaded.model.generate(input_ids=ids, attention_mask=mask, **extra, **kwargs))
    assert torch.equal(*outputs)
    assert outputs[0].shape[1] > width + 5  # it ran past the room
