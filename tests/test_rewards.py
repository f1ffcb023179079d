"""Personalized rewards: their terms, their validation, and a zero-shot report line re-scored by hand."""

import pytest
from conftest import make_record
from test_evaluate import plain_logp

from alignx import registry
from alignx.errors import OptionError
from alignx.eval.evaluator import Evaluator, rewards_of
from alignx.eval.rewards import get
from alignx.eval.settings import EvalSettings
from alignx.eval.terms import RewardContext, Role
from alignx.eval.zero_shot import EXAMPLES_HEADER, negated_profile
from alignx.personas import Persona, persona_view
from alignx.prompts import PromptKind
from alignx.records import Record
from alignx.space import dimension


def context(record: Record, persona: str) -> RewardContext:
    kind = PromptKind.PBA if persona in ("profile", "stated") else PromptKind.ICA
    return RewardContext(record.prompt, persona_view(record, persona), Persona(persona), kind, "none", 0.1)


def test_zero_shot_pair_contrasts_chosen_with_rejected_examples_each_shown_once():
    choices = [{"prompt": "Lunch?", "chosen": "Salad.", "rejected": r} for r in ("Pasta.", "Pizza.", "Pasta.")]
    record = Record.from_dict(make_record(0) | {"Pair-wise Comparative Feedback": choices})
    chosen, rejected = get("zero-shot").terms(context(record, "pair"))
    assert (chosen.weight, rejected.weight) == (1.0, -1.0) and chosen.role is rejected.role is Role.POLICY
    text, counter = chosen.messages[1]["content"], rejected.messages[1]["content"]
    assert text.startswith(EXAMPLES_HEADER + "1. Salad.\n\n***Task***")  # the one chosen text, once
    assert counter.startswith(EXAMPLES_HEADER + "1. Pasta.\n\n2. Pizza.\n\n***Task***")
    assert "Lunch?" not in text  # the posts the examples answered are not shown
    # the two contexts differ only in the examples: same header, same task
    assert text.split("***Task***")[1] == counter.split("***Task***")[1]


def test_zero_shot_all_reads_pairs_when_present_else_adds_own_texts_and_stated_preference():
    record = Record.from_dict(make_record(0) | {"Stated Preference": "Short answers."})
    labels = [t.label for t in get("zero-shot").terms(context(record, "all"))]
    assert labels == ["chosen examples", "rejected examples"]
    no_pairs = Record.from_dict(make_record(0) | {"Pair-wise Comparative Feedback": [], "Stated Preference": "Short."})
    labels = [t.label for t in get("zero-shot").terms(context(no_pairs, "all"))]
    assert labels == ["own texts", "question alone", "stated preference", "universal"]
    # the description joins only when it is all there is
    described = Record(prompt="p", chosen="a", rejected="b", demographic="A nurse.")
    terms = get("zero-shot").terms(context(described, "all"))
    assert [t.label for t in terms] == ["description", "question alone"]
    assert terms[0].messages[1]["content"] == "About me: A nurse.\n\np" and terms[1].messages[1]["content"] == "p"


def test_zero_shot_stated_is_the_lift_of_the_users_words():
    record = Record(prompt="p", chosen="a", rejected="b", stated="I avoid gluten.")
    stated, universal = get("zero-shot").terms(context(record, "stated"))
    assert "***User Preferences***\n\nI avoid gluten." in stated.messages[1]["content"]
    assert (stated.weight, universal.weight) == (1.0, -1.0) and "I avoid gluten." not in str(universal.messages)


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
    with pytest.raises(OptionError, match="defined for persona ugc, pair, demo, profile, stated, all; not none"):
        EvalSettings(persona="none", reward="zero-shot")


@pytest.mark.slow  # the embedded model
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


def test_channel_term_scores_the_evidence_after_each_response():
    from alignx.eval.terms import RESPONSE, Term
    from alignx.prompts import UNIVERSAL_SYSTEM

    def render(messages):  # a chat template in miniature: every turn closed, the assistant's opened
        return "".join(f"<{m['role']}>{m['content']}</>" for m in messages) + "<assistant>"

    messages = [{"role": "system", "content": UNIVERSAL_SYSTEM}, {"role": "user", "content": "Dinner?"},
                {"role": "assistant", "content": RESPONSE}]
    term = Term(1.0, Role.POLICY, messages, "stated after the response", evidence="No gluten, please.")
    requests = term.requests(render, ["Pasta.", "Rice."])
    assert [r.prompt for r in requests] == [f"<system>{UNIVERSAL_SYSTEM}</><user>Dinner?</><assistant>{y}</><user>"
                                            for y in ("Pasta.", "Rice.")]
    assert all(r.responses == ("No gluten, please.",) for r in requests)
    assert term.logps([(-3.0,), (-1.0,)]) == [-3.0, -1.0]
    assert "<assistant>{response}</><user>" in term.prompt(render, requests)
    plain = Term(1.0, Role.POLICY, messages[:2], "universal")
    assert [r.responses for r in plain.requests(render, ["a", "b"])] == [("a", "b")]
    assert plain.logps([(-1.0, -2.0)]) == [-1.0, -2.0]
    assert plain.prompt(render, plain.requests(render, ["a", "b"])) == render(messages[:2])


def test_the_demo_states_the_real_data_figures_the_docs_give():
    import re
    from pathlib import Path

    from alignx.demo import REAL_DATA_NOTE

    docs = Path(__file__).parent.parent / "docs" / "rewards.md"
    table = docs.read_text().split("## Which reward to use")[1].split("## The rewards")[0]
    figures = re.findall(r"0\.\d{3}", REAL_DATA_NOTE)
    assert len(figures) == 7 and all(f in table for f in figures)
