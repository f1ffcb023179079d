"""Personalized rewards: their terms, their validation, and a zero-shot report line re-scored by hand."""

import pytest
from conftest import make_record
from test_evaluate import plain_logp

from alignx import registry
from alignx.errors import OptionError
from alignx.evaluate import EvalSettings, Evaluator, rewards_of
from alignx.personas import Persona, persona_view
from alignx.prompts import PromptKind
from alignx.records import Record
from alignx.rewards import RewardContext, Role, get
from alignx.space import dimension
from alignx.zero_shot import EXAMPLES_HEADER, negated_profile


def context(record: Record, persona: str) -> RewardContext:
    kind = PromptKind.PBA if persona == "profile" else PromptKind.ICA
    return RewardContext(record.prompt, persona_view(record, persona), Persona(persona), kind, "none", 0.1)


def test_zero_shot_pair_contrasts_chosen_with_rejected_examples():
    record = Record.from_dict(make_record(0))
    chosen, rejected = get("zero-shot").terms(context(record, "pair"))
    assert (chosen.weight, rejected.weight) == (1.0, -1.0) and chosen.role is rejected.role is Role.POLICY
    pair = record.pairs[0]
    assert pair.chosen in chosen.messages[1]["content"] and pair.rejected not in chosen.messages[1]["content"]
    assert pair.rejected in rejected.messages[1]["content"] and pair.chosen not in rejected.messages[1]["content"]
    # the two contexts differ only in the examples: same header, same task
    assert chosen.messages[1]["content"].startswith(EXAMPLES_HEADER)
    assert chosen.messages[1]["content"].split("***Task***")[1] == rejected.messages[1]["content"].split("***Task***")[1]


def test_zero_shot_all_reads_pairs_when_present_else_adds_comments_and_description():
    record = Record.from_dict(make_record(0))
    labels = [t.label for t in get("zero-shot").terms(context(record, "all"))]
    assert labels == ["chosen examples", "rejected examples"]
    no_pairs = Record.from_dict(make_record(0) | {"Pair-wise Comparative Feedback": []})
    labels = [t.label for t in get("zero-shot").terms(context(no_pairs, "all"))]
    assert labels == ["comments as examples", "universal", "description", "universal"]


def test_negated_profile_flips_every_named_pole():
    text = f"{dimension(16).positive}, {dimension(73).negative}"
    assert negated_profile(text) == f"{dimension(16).negative}, {dimension(73).positive}"
    assert negated_profile(negated_profile(text)) == text
    assert negated_profile("Prefers answers a child could follow") is None  # free text: no negation
    record = Record.from_dict(make_record(0) | {"profile": "Prefers answers a child could follow"})
    _, reference = get("zero-shot").terms(context(record, "profile"))
    assert reference.label == "universal"


def test_reward_settings_are_checked():
    with pytest.raises(OptionError, match="unknown --reward 'bogus'; choose one of dpo, zero-shot"):
        EvalSettings(reward="bogus")
    with pytest.raises(OptionError, match="scored by the model alone; leave --reference out"):
        EvalSettings(persona="pair", reward="zero-shot", reference="base")
    with pytest.raises(OptionError, match="defined for persona ugc, pair, demo, profile, all; not none"):
        EvalSettings(persona="none", reward="zero-shot")


def test_zero_shot_report_line_rescores_independently():
    from alignx.models import load

    records = registry.load("demo", "test", limit=2)
    result = Evaluator.load("default", progress=False).run(records, EvalSettings(persona="pair", reward="zero-shot"))
    embedded = load("default")
    line = result.examples[0]
    for term in line["terms"]:
        for key in ("chosen", "rejected"):
            logp = plain_logp(embedded.model, embedded.tokenizer, term["prompt"], line[key])
            assert logp == pytest.approx(term[f"{key}_logp"], abs=1e-3)
    reward = sum(t["weight"] * (t["chosen_logp"] - t["rejected_logp"]) for t in line["terms"])
    assert line["correct"] == (reward > 0)
    assert result.tokens > 0 and result.provenance["reference_model"] is None
    # the library function that ranks any candidates gives the report's rewards
    evaluator = Evaluator.load("default", progress=False)
    terms = get("zero-shot").terms(context(records[0], "pair"))
    ranked = rewards_of([records[0].chosen, records[0].rejected], terms, {Role.POLICY: evaluator.policy})
    assert ranked == pytest.approx([line["reward_chosen"], line["reward_rejected"]], abs=1e-3)
