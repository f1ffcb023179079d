"""A key/value cache that grows without copying itself.

transformers' `DynamicLayer` appends each decode step's keys and values with `torch.cat`, which copies the
whole cache every step. With persona prompts the cache is long: at batch 8 with 900-token prompts on CPU the
copy is about a quarter of a decode step (`benchmarks/generate.py` gives the end-to-end figure). A
`ReservedLayer` writes them into room reserved past what it holds (the tokens still to come) and hands
attention a view of the filled part, so a step writes only its own tokens. Whatever replaces a layer's tensors
(batch selection, beam reordering, a crop's shorter view) is picked up: the next update that does not fit the
reserved room copies into fresh room.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from transformers.cache_utils import DynamicLayer

if TYPE_CHECKING:
    import torch
    from transformers import Cache


class ReservedLayer(DynamicLayer):
    """A `DynamicLayer` whose `keys` / `values` are views into storage with `room` free positions after them."""

    def __init__(self, room: int):
        super().__init__()
        self.room = room
        self._storage: tuple[torch.Tensor, torch.Tensor] | None = None  # (B, H, capacity, D) each

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs
               ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        filled = self.get_seq_length()
        end = filled + key_states.shape[-2]
        if not self._fits(key_states, filled, end):
            self._reserve(key_states, value_states, filled, end)
        keys, values = self._storage
        keys[..., filled:end, :] = key_states
        values[..., filled:end, :] = value_states
        self.keys, self.values = keys[..., :end, :], values[..., :end, :]
        return self.keys, self.values

    def _fits(self, key_states: torch.Tensor, filled: int, end: int) -> bool:
        """Whether the held keys are still the start of the storage and the new ones fit after them."""
        if self._storage is None or filled == 0:
            return False
        keys = self._storage[0]
        return (self.keys.data_ptr() == keys.data_ptr() and self.keys.shape[:2] == keys.shape[:2]
                and self.keys.stride() == keys.stride() and keys.dtype == key_states.dtype
                and keys.device == key_states.device and end <= keys.shape[-2])

    def _reserve(self, key_states: torch.Tensor, value_states: torch.Tensor, filled: int, end: int) -> None:
        capacity = end + self.room
        keys = key_states.new_empty(key_states.shape[:2] + (capacity, key_states.shape[-1]))
        values = value_states.new_empty(value_states.shape[:2] + (capacity, value_states.shape[-1]))
        if filled:
            keys[..., :filled, :] = self.keys
            values[..., :filled, :] = self.values
        self._storage = (keys, values)

    def reset(self) -> None:
        self._storage = None
        super().reset()


def reserve(cache: Cache, room: int) -> Cache:
    """`cache` with each plain `DynamicLayer` (full attention) replaced by a `ReservedLayer` holding the same keys
    and values with `room` positions to grow into; other layers (sliding windows, linear attention) are kept."""
    for index, layer in enumerate(cache.layers):
        if type(layer) is DynamicLayer:
            reserved = ReservedLayer(room)
            if layer.is_initialized and layer.get_seq_length() > 0:
                reserved.update(layer.keys, layer.values)
            cache.layers[index] = reserved
    return cache


def reserved_cache(config, room: int) -> Cache:
    """An empty cache for a model of `config` that grows `room` positions past its prompt without copying."""
    from transformers import DynamicCache

    return reserve(DynamicCache(config=config), room)
