"""The 90-dimension preference space: dimensions, direction vectors and profiles.

A *direction* holds one value per dimension: 1 (positive pole), 0 (negative pole) or
0.5 (neutral). A *profile* aggregates several directions into per-dimension means and
renders them as text exactly as the released AlignX code does (float32 means, 0.6 / 0.4
thresholds, the most-extreme fallback), so PBA prompts match the released checkpoints.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from alignx.errors import UserError

N_DIMENSIONS = 90
DIRECTION_VALUES = (0.0, 0.5, 1.0)
POSITIVE_THRESHOLD = 0.6
NEGATIVE_THRESHOLD = 0.4
LABEL_SEPARATOR = ", "


class UnknownDimension(UserError, KeyError):
    """A dimension index or label that is not one of the 90."""

    def __str__(self) -> str:  # a KeyError would quote its message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True, slots=True)
class Dimension:
    index: int
    group: str
    positive: str
    negative: str


@cache
def dimensions() -> tuple[Dimension, ...]:
    """The 90 dimensions in the released positional order."""
    table = resources.files("alignx.data").joinpath("preference_space.tsv")
    with table.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    dims = tuple(
        Dimension(int(r["index"]), r["group"], r["positive_label"], r["negative_label"]) for r in rows
    )
    if [d.index for d in dims] != list(range(N_DIMENSIONS)):
        raise RuntimeError("preference_space.tsv must list indices 0..89 in order")
    return dims


def groups() -> dict[str, list[Dimension]]:
    """Dimensions by group, groups in the order they first appear."""
    out: dict[str, list[Dimension]] = {}
    for d in dimensions():
        out.setdefault(d.group, []).append(d)
    return out


@cache
def _label_index() -> dict[str, tuple[int, float]]:
    """Every pole label -> (dimension index, pole value)."""
    index: dict[str, tuple[int, float]] = {}
    for d in dimensions():
        index[d.positive] = (d.index, 1.0)
        index[d.negative] = (d.index, 0.0)
    return index


def dimension(key: int | str) -> Dimension:
    """Look a dimension up by index or by either of its pole labels."""
    if isinstance(key, int):
        if not 0 <= key < N_DIMENSIONS:
            raise UnknownDimension(f"dimension index {key} is out of range 0..{N_DIMENSIONS - 1}")
        return dimensions()[key]
    hit = _label_index().get(key)
    if hit is None:
        raise UnknownDimension(f"no dimension has the label {key!r}")
    return dimensions()[hit[0]]


def direction_problem(values: object) -> str | None:
    """Why `values` is not a direction vector, or None when it is one."""
    if not isinstance(values, Sequence | np.ndarray) or isinstance(values, str | bytes):
        return f"must be a list of {N_DIMENSIONS} numbers, got {type(values).__name__}"
    if len(values) != N_DIMENSIONS:
        return f"must have {N_DIMENSIONS} values, got {len(values)}"
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int | float | np.number) or float(v) not in DIRECTION_VALUES:
            return f"value {v!r} at position {i} is not one of 0, 0.5, 1"
    return None


def validate_direction(values: object) -> tuple[float, ...]:
    """Return `values` as a tuple of floats, or raise ValueError saying what is wrong."""
    problem = direction_problem(values)
    if problem is not None:
        raise UserError(f"direction {problem}")
    return tuple(float(v) for v in values)  # type: ignore[union-attr]


@dataclass(frozen=True)
class Profile:
    """Per-dimension means of some directions and their released text rendering."""

    means: np.ndarray  # (90,) float32
    count: int

    @property
    def text(self) -> str:
        return render_means(self.means)


def aggregate(directions: Iterable[Sequence[float]], weights: Sequence[float] | None = None) -> Profile:
    """Mean of `directions` per dimension, in float32 as the released code computes it.

    With `weights` (e.g. a recency decay) the mean is weighted; the released algorithm
    is the unweighted case.
    """
    if isinstance(directions, np.ndarray) and directions.ndim == 2:
        # A (N, 90) array is checked in one vectorized pass (the service aggregates thousands of events).
        stack = directions.astype(np.float32)
        if stack.shape[1] != N_DIMENSIONS:
            raise UserError(f"direction must have {N_DIMENSIONS} values, got {stack.shape[1]}")
        bad = np.argwhere(~np.isin(stack, DIRECTION_VALUES))
        if len(bad):
            row, col = bad[0]
            value = float(stack[row, col])
            raise UserError(f"direction {row} has value {value!r} at position {col}, not one of 0, 0.5, 1")
    else:
        stack = np.asarray([validate_direction(d) for d in directions], dtype=np.float32)
    if stack.size == 0:
        raise UserError("a profile needs at least one direction")
    if weights is None:
        # Sums of 0/0.5/1 are exact in float32; one float32 division rounds like torch.mean.
        means = stack.sum(axis=0, dtype=np.float32) / np.float32(len(stack))
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (len(stack),) or (w < 0).any() or w.sum() <= 0:
            raise UserError("weights must be one non-negative number per direction, not all zero")
        means = (w[:, None] * stack).sum(axis=0) / w.sum()
    return Profile(means=means.astype(np.float32), count=len(stack))


def render_means(means: Sequence[float] | np.ndarray) -> str:
    """Render per-dimension means as the released profile text."""
    m = np.asarray(means, dtype=np.float32)
    if m.shape != (N_DIMENSIONS,):
        raise UserError(f"means must have {N_DIMENSIONS} values, got shape {m.shape}")
    dims = dimensions()
    labels = []
    for d, value in zip(dims, m, strict=True):
        # The released code compares the float32 mean with Python floats (float64).
        if float(value) >= POSITIVE_THRESHOLD:
            labels.append(d.positive)
        elif float(value) <= NEGATIVE_THRESHOLD:
            labels.append(d.negative)
    if not labels:
        top, bottom = m.max(), m.min()
        if np.float32(1.0) - top < bottom:  # float32 arithmetic decides exact ties
            labels = [d.positive for d, v in zip(dims, m, strict=True) if v == top]
        else:
            labels = [d.negative for d, v in zip(dims, m, strict=True) if v == bottom]
    return LABEL_SEPARATOR.join(labels)


def render_direction(direction: Sequence[float]) -> str:
    """Profile text of a single direction vector."""
    return aggregate([direction]).text


def parse_profile(text: str) -> tuple[float, ...]:
    """Parse profile text back to a direction: named poles 1 / 0, the rest 0.5.

    Labels may contain ", " themselves, so the text is read by matching known labels
    (longest first) at each position rather than by splitting.
    """
    vector = [0.5] * N_DIMENSIONS
    labels = sorted(_label_index(), key=len, reverse=True)
    pos, seen = 0, set()
    while pos < len(text):
        for label in labels:
            end = pos + len(label)
            if text.startswith(label, pos) and (end == len(text) or text.startswith(LABEL_SEPARATOR, end)):
                break
        else:
            fragment = text[pos:].split(LABEL_SEPARATOR, 1)[0]
            raise UserError(f"unknown preference label {fragment!r} at character {pos}")
        index, value = _label_index()[label]
        if index in seen:
            raise UserError(f"dimension {index} is named twice in the profile text")
        seen.add(index)
        vector[index] = value
        pos = end + len(LABEL_SEPARATOR) if end < len(text) else end
    return tuple(vector)


def parse_dimensions(text: str) -> tuple[int, ...]:
    """Sorted dimension indices of a comma-separated list of indices (0..89) and pole labels, e.g.
    "3,17" or "3, Prefers superficial interaction (casual, stress-free chat)". Labels may hold commas,
    so at each position the longest known label is tried before splitting at the next ", "."""
    labels = sorted(_label_index(), key=len, reverse=True)
    found: set[int] = set()
    pos, text = 0, text.strip()
    while pos < len(text):
        for label in labels:
            end = pos + len(label)
            if text.startswith(label, pos) and (end == len(text) or text[end:].lstrip().startswith(",")):
                found.add(_label_index()[label][0])
                break
        else:
            end = text.find(",", pos)
            end = len(text) if end < 0 else end
            item = text[pos:end].strip()
            if not item.isdigit():
                raise UnknownDimension(f"{item!r} is neither a dimension index (0..{N_DIMENSIONS - 1}) "
                                       "nor a pole label")
            found.add(dimension(int(item)).index)
        comma = text.find(",", end)
        pos = len(text) if comma < 0 else comma + 1
        while pos < len(text) and text[pos] == " ":
            pos += 1
    if not found:
        raise UnknownDimension("no dimension given")
    return tuple(sorted(found))


def touches(direction: Sequence[float] | None, indices: Iterable[int]) -> bool:
    """Whether `direction` is non-neutral on any of the dimensions `indices` (None touches nothing)."""
    return direction is not None and any(direction[i] != 0.5 for i in indices)
