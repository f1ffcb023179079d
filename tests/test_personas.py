import random

import pytest
from conftest import make_direction, make_record

from alignx.personas import Persona, PersonaError, persona_view, record_profile, sample_training_view
from alignx.records import Choice, Comment, Record
from alignx.space import aggregate


def record(**overrides) -> Record:
    return Record.from_dict(make_record(0) | overrides)


def test_views_show_their_part_only():
    r = record()
    assert persona_view(r, "ugc").ugc == r.ugc and not persona_view(r, "ugc").pairs
    assert persona_view(r, Persona.PAIR).pairs == r.pairs and persona_view(r, "pair").demographic is None
    assert persona_view(r, "demo").demographic == r.demographic
    everything = persona_view(r, "all")
    assert (everything.ugc, everything.pairs, everything.demographic) == (r.ugc, r.pairs, r.demographic)
    assert persona_view(r, "none").is_empty


def test_profile_view_renders_history_directions_or_uses_supplied_profile():
    r = record()
    assert persona_view(r, "profile").profile == "Concise communication style"
    bench = Record(prompt="p", chosen="a", rejected="b", pairs=(Choice("q", "c", "d"),), profile="Likes humor")
    assert record_profile(bench) == "Likes humor"


def test_missing_part_is_a_clear_error():
    bench = Record(prompt="p", chosen="a", rejected="b", pairs=(Choice("q", "c", "d"),))
    with pytest.raises(PersonaError, match="persona 'ugc' is absent from this record \\(it has pair\\)"):
        persona_view(bench, "ugc")
    with pytest.raises(PersonaError, match="needs history items with 'Preference Direction'"):
        persona_view(bench, "profile")
    with pytest.raises(ValueError, match="unknown persona 'bogus'; choose one of ugc, pair"):
        persona_view(bench, "bogus")


def _rich_record(n_ugc=6, n_pair=6) -> Record:
    ugc = tuple(Comment(f"u{i}", f"c{i}", tuple(make_direction(**{f"d{i}": 1.0}))) for i in range(n_ugc))
    pairs = tuple(Choice(f"p{i}", "a", "b", tuple(make_direction(**{f"d{20 + i}": 0.0}))) for i in range(n_pair))
    return Record(prompt="x", chosen="a", rejected="b", ugc=ugc, pairs=pairs, demographic="d")


def test_training_draw_counts_and_seeding():
    r = _rich_record()
    views = [sample_training_view(r, random.Random(seed)) for seed in range(300)]
    counts = {(len(v.ugc), len(v.pairs)) for v in views}
    assert all(0 <= u <= 4 and 0 <= p <= 4 for u, p in counts) and (0, 0) not in counts
    assert (4, 4) in counts and any(u == 0 for u, _ in counts) and any(p == 0 for _, p in counts)
    assert sample_training_view(r, random.Random(7)) == sample_training_view(r, random.Random(7))
    assert all(set(v.ugc) <= set(r.ugc) and len(set(v.ugc)) == len(v.ugc) for v in views)


def test_both_zero_draw_takes_all_available():
    r = _rich_record(n_ugc=2, n_pair=3)

    class ZeroDraws(random.Random):
        def randint(self, a, b):
            return 0

    view = sample_training_view(r, ZeroDraws(0))
    assert len(view.ugc) == 2 and len(view.pairs) == 3


def test_training_profile_is_the_profile_of_the_drawn_items():
    r = _rich_record()
    for seed in range(20):
        view = sample_training_view(r, random.Random(seed))
        expected = aggregate([item.direction for item in view.ugc + view.pairs]).text
        assert view.profile == expected
    assert sample_training_view(r, random.Random(0)).demographic is None
    assert sample_training_view(r, random.Random(0), with_demographic=True).demographic == "d"
