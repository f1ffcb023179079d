import random

import numpy as np
import pytest
from conftest import make_direction

from alignx import space
from alignx.space import N_DIMENSIONS, aggregate, dimension, parse_profile, render_direction, validate_direction


def neutral():
    return [0.5] * N_DIMENSIONS



def test_table_has_90_dimensions_in_groups():
    dims = space.dimensions()
    assert len(dims) == 90 and dims[16].positive == "Concise communication style"
    assert dims[40].group == "universal_values" and "harmlessness" in dims[40].positive
    assert sum(len(v) for v in space.groups().values()) == 90
    assert list(space.groups())[0] == "demographics"


def test_lookup_by_index_and_label():
    assert dimension(73).positive == "Likes humor"
    assert dimension("Dislikes humor").index == 73
    with pytest.raises(KeyError):
        dimension(90)
    with pytest.raises(KeyError):
        dimension("Likes nothing at all")


@pytest.mark.parametrize(
    "bad, message",
    [([0.5] * 89, "must have 90 values, got 89"), ([0.5] * 89 + [0.7], "0.7"), ("abc", "list"), ([0.5] * 89 + [True], "True")],
)
def test_validate_direction_rejects(bad, message):
    with pytest.raises(ValueError, match=message):
        validate_direction(bad)


def test_hand_computed_profile():
    # Two items: dim 16 concise in both (mean 1), dim 73 humor in one of two (mean 0.5, omitted),
    # dim 10 conservative in both (mean 0).
    items = [make_direction(d16=1.0, d73=1.0, d10=0.0), make_direction(d16=1.0, d73=0.0, d10=0.0)]
    p = aggregate(items)
    assert p.means[16] == 1.0 and p.means[73] == 0.5 and p.means[10] == 0.0
    assert p.text == "Conservative investment, Concise communication style"


def test_thresholds_follow_float32_means():
    # Five items: 3/5 -> float32 0.6000000238 >= 0.6 (positive); 2/5 -> 0.4000000059 > 0.4 (neutral).
    items = [make_direction(d3=1.0, d5=1.0), make_direction(d3=1.0, d5=1.0), make_direction(d3=1.0, d5=0.0),
             make_direction(d3=0.0, d5=0.0), make_direction(d3=0.0, d5=0.0)]
    assert float(np.float32(3) / np.float32(5)) > 0.6
    text = aggregate(items).text
    assert text == "High Extraversion"  # d5 mean 2/5 stays neutral


def test_all_neutral_falls_back_to_every_negative_label():
    text = aggregate([neutral(), neutral()]).text
    assert text == ", ".join(d.negative for d in space.dimensions())


@pytest.mark.parametrize("n, expected", [(6, "Low Agreeableness"), (7, "High Extraversion")])
def test_exact_tie_in_fallback_is_decided_by_float32(n, expected):
    # One item pushes d3 up and d5 down by the same amount; every mean stays between 0.4 and 0.6.
    items = [neutral() for _ in range(n)]
    items[0][3], items[0][5] = 1.0, 0.0
    assert aggregate(items).text == expected


def test_fallback_picks_most_extreme_side():
    items = [neutral() for _ in range(4)]
    items[0][7] = 1.0  # mean 0.625 -> positive already
    assert aggregate(items).text == "Likes a certain food"
    items = [neutral() for _ in range(6)]
    items[0][7] = 1.0  # mean 0.5833: neutral; the largest deviation is positive
    assert aggregate(items).text == "Likes a certain food"


def test_weighted_mean():
    p = aggregate([make_direction(d0=1.0), make_direction(d0=0.0)], weights=[3, 1])
    assert p.means[0] == pytest.approx(0.75)
    with pytest.raises(ValueError, match="weights"):
        aggregate([neutral()], weights=[0])


def test_empty_aggregate_is_an_error():
    with pytest.raises(ValueError, match="at least one"):
        aggregate([])


def test_render_parse_round_trip_on_random_vectors():
    rng = random.Random(1)
    for _ in range(300):
        vec = [rng.choice([0.0, 0.5, 0.5, 1.0]) for _ in range(N_DIMENSIONS)]
        if all(v == 0.5 for v in vec):
            continue
        assert parse_profile(render_direction(vec)) == tuple(vec)


def test_parse_handles_labels_with_commas():
    text = render_direction(make_direction(d14=1.0, d22=0.0, d16=1.0))
    assert "casual, stress-free chat" in text
    assert parse_profile(text) == tuple(make_direction(d14=1.0, d22=0.0, d16=1.0))
    with pytest.raises(ValueError, match="unknown preference label 'Likes nothing'"):
        parse_profile("Likes humor, Likes nothing")
