"""Profile, guard, recency and ICA history computed from events, and the chat prompt rewrite."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from conftest import make_direction

from alignx.personas import PersonaView
from alignx.prompts import ica_evaluation_messages, pba_messages, universal_messages
from alignx.records import Choice, Comment
from alignx.serve.chat import STATED_PREFERENCES, personalize, stated_text
from alignx.serve.memory import (
    Event,
    EventKind,
    GuardError,
    build_profile,
    check_edit,
    history_view,
    overrides_of,
)
from alignx.space import aggregate, dimension

NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)



def event(i: int, kind: EventKind, days_ago: float = 0, direction=None, **data) -> Event:
    return Event(i, "u", kind, NOW - timedelta(days=days_ago), data, direction)


def feedback(i: int, d=None, days_ago: float = 0) -> Event:
    return event(i, EventKind.FEEDBACK, days_ago, d, prompt=f"q{i}", chosen=f"yes{i}", rejected=f"no{i}")


def test_profile_is_the_released_aggregate_of_the_directions():
    rng = np.random.default_rng(0)
    dirs = [tuple(float(v) for v in rng.choice([0.0, 0.5, 1.0], 90)) for _ in range(7)]
    dirs = [tuple(0.5 if i in (40, 42, 43) else v for i, v in enumerate(d)) for d in dirs]  # guard not involved
    events = [feedback(i, d) for i, d in enumerate(dirs)] + [event(9, EventKind.DEMOGRAPHIC, text="t")]
    profile = build_profile(events, guarded=(40, 42, 43))
    assert profile.text == aggregate(dirs).text and np.array_equal(profile.directions, aggregate(dirs).means)
    assert profile.evidence == 7 and profile.counts == {"feedback": 7, "demographic": 1}


def test_no_evidence_means_an_empty_profile_not_the_fallback():
    profile = build_profile([event(1, EventKind.DEMOGRAPHIC, text="a nurse")])
    assert profile.text == "" and (profile.directions == 0.5).all()
    edited = build_profile([event(1, EventKind.EDIT, set={"16": 1.0})])
    assert edited.text == dimension(16).positive


def test_guard_reads_negative_votes_on_universal_values_as_neutral():
    events = [feedback(1, make_direction(d40=0, d16=1)), feedback(2, make_direction(d40=1, d16=1))]
    assert build_profile(events, guarded=(40,)).inferred[40] == pytest.approx(0.75)
    assert build_profile(events, guarded=()).inferred[40] == pytest.approx(0.5)
    only_negative = [feedback(1, make_direction(d40=0)), feedback(2, make_direction(d40=0))]
    assert dimension(40).negative not in build_profile(only_negative, guarded=(40,)).text
    assert dimension(40).negative in build_profile(only_negative, guarded=()).text


def test_check_edit_names_the_first_guarded_dimension():
    with pytest.raises(GuardError, match=r"dimension 42 \(Concerned about honesty\)"):
        check_edit({43: 0.0, 42: 0.0, 5: 0.0}, (40, 42, 43))
    check_edit({40: 0.5, 42: 1.0, 43: None, 5: 0.0}, (40, 42, 43))  # neutral, positive and clearing pass
    check_edit({40: 0.0}, ())
    # An edit stored while the guard was off stops counting once the operator turns it on.
    edit = [event(1, EventKind.EDIT, set={"40": 0.0})]
    assert build_profile(edit, guarded=()).directions[40] == 0.0
    assert build_profile(edit, guarded=(40,)).directions[40] == 0.5 and build_profile(edit, guarded=(40,)).text == ""


def test_recency_half_life_weighs_old_events_down():
    events = [feedback(1, make_direction(d16=1), days_ago=20), feedback(2, make_direction(d16=0), days_ago=0)]
    assert build_profile(events).inferred[16] == pytest.approx(0.5)
    # 20 days at a 10-day half-life: weight 1/4 for the old vote -> (0.25 * 1 + 1 * 0) / 1.25 = 0.2.
    drifted = build_profile(events, half_life_days=10)
    assert drifted.inferred[16] == pytest.approx(0.2) and dimension(16).negative in drifted.text
    # Years-old histories under a short half-life still have a profile (no all-zero weights).
    ancient = [feedback(1, make_direction(d16=1), days_ago=9000), feedback(2, make_direction(d16=1), days_ago=8000)]
    assert build_profile(ancient, half_life_days=0.01).inferred[16] == 1.0


def test_latest_edit_wins_and_null_clears_it():
    edits = [event(1, EventKind.EDIT, set={"3": 1.0, "16": 0.0}), event(2, EventKind.EDIT, set={"3": 0.0}),
             event(3, EventKind.EDIT, set={"16": None})]
    assert overrides_of(edits) == {3: 0.0}
    profile = build_profile([feedback(0, make_direction(d3=1, d16=1)), *edits])
    assert profile.inferred[3] == 1.0 and profile.directions[3] == 0.0 and profile.directions[16] == 1.0


def test_history_view_takes_the_most_recent_items_and_latest_demographic():
    events = [event(i, EventKind.CONTENT, prompt=f"p{i}", comment=f"c{i}") for i in range(6)]
    events += [feedback(10 + i) for i in range(3)]
    events += [event(20, EventKind.DEMOGRAPHIC, text="old"), event(21, EventKind.DEMOGRAPHIC, text="new")]
    view = history_view(events, items=4)
    assert [c.prompt for c in view.ugc] == ["p2", "p3", "p4", "p5"]
    assert [p.chosen for p in view.pairs] == ["yes10", "yes11", "yes12"] and view.demographic == "new"


VIEW = PersonaView(ugc=(Comment("Best pizza?", "Pineapple, always."),), pairs=(Choice("Tea?", "Green.", "Any."),),
                   demographic="A chef.")


def test_single_turn_reads_exactly_the_evaluation_prompts():
    ask = [{"role": "user", "content": "Dinner ideas?"}]
    assert personalize(ask, mode="ica", view=VIEW, profile="x") == ica_evaluation_messages("Dinner ideas?", VIEW)
    assert personalize(ask, mode="pba", view=VIEW, profile="Likes spice") == pba_messages("Dinner ideas?", "Likes spice")
    assert personalize(ask, mode="ica", view=VIEW, profile="x", universal=True) == universal_messages("Dinner ideas?")
    assert personalize(ask, mode="ica", view=PersonaView(), profile="") == universal_messages("Dinner ideas?")
    assert personalize(ask, mode="pba", view=VIEW, profile="") == universal_messages("Dinner ideas?")


def test_multi_turn_keeps_earlier_turns_and_client_system_text():
    chat = [{"role": "system", "content": "Answer in French."}, {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Salut"}, {"role": "user", "content": "Dinner ideas?"}]
    out = personalize(chat, mode="ica", view=replace(VIEW, stated=stated_text([dimension(3).positive])), profile="")
    built = ica_evaluation_messages("Dinner ideas?", VIEW)
    assert out[0]["content"] == built[0]["content"] + "\nAnswer in French."
    assert out[1:3] == chat[1:3] and out[3]["content"].startswith("***Task***\n\n**Post:**\nDinner ideas?")
    assert f"A chef.\n\n{STATED_PREFERENCES}{dimension(3).positive}\n\n***Response:***" in out[3]["content"]
    with pytest.raises(ValueError, match="last message must have role 'user'"):
        personalize(chat[:3], mode="ica", view=VIEW, profile="")


def test_aggregate_checks_an_array_of_directions_in_one_pass():
    stack = np.full((3, 90), 0.5)
    stack[:, 16] = (1.0, 1.0, 0.0)
    assert np.array_equal(aggregate(stack).means, aggregate(stack.tolist()).means)
    stack[2, 7] = 2.0
    with pytest.raises(ValueError, match="direction 2 has value 2.0 at position 7"):
        aggregate(stack)
    with pytest.raises(ValueError, match="must have 90 values, got 89"):
        aggregate(np.full((2, 89), 0.5))
