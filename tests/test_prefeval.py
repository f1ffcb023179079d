"""alignx.prefeval: a checkout in PrefEval's layout (written here, not PrefEval's data) read into records,
the `stated` persona, multiple-choice accuracy, and one-line errors for bad or partial checkouts."""

import json
import subprocess
import sys

import pytest

from alignx import prefeval, registry
from alignx.errors import InputNotFound, OptionError, UserError
from alignx.eval.evaluator import EvalResult
from alignx.eval.settings import EvalSettings
from alignx.personas import Persona, PersonaError, persona_view
from alignx.prompts import persona_messages
from alignx.records import Record, RecordError, parse_record

QUESTIONS = [
    ("I only drink tea, never coffee.", "What should I order at a cafe?",
     ["A pot of green tea.", "A double espresso.", "A flat white.", "An iced latte."]),
    ("I hate crowded places.", "Where should I spend Saturday?",
     ["A quiet forest trail.", "The city fair.", "A stadium concert.", "The outlet mall at noon."]),
]


def forms(preference: str, question: str, options: list[str]) -> dict[str, dict]:
    """One question in PrefEval's four forms."""
    base = {"preference": preference, "question": question, "explanation": "Why a generic answer fails."}
    picked, others = f"Yes to {options[0]}", [f"No to {o}" for o in options[1:]]
    return {
        "explicit_preference": base,
        "implicit_preference/choice-based": {
            **base, "implicit_query": f"Ideas near {question}?", "options": [picked, *others], "aligned_op": picked,
            "conversation": {"query": f"Ideas near {question}?", "assistant_options": "1. ... 2. ...",
                             "user_selection": "The first one.", "assistant_acknowledgment": "Noted."}},
        "implicit_preference/persona-driven": {
            **base, "persona": "A night-shift nurse",
            "conversation": {"1": {"user": "Any tips for sleep?", "assistant": "Dark curtains help."},
                             "0": {"user": "Hello there!", "assistant": "Hi, how can I help?"}}},
        "mcq_options": {**base, "classification_task_options": options},
    }


def write_checkout(root, topics=("cafes", "weekends"), questions=QUESTIONS, edit=None):
    for topic in topics:
        rows = [forms(*q) for q in questions]
        if edit:
            edit(topic, rows)
        for form in rows[0]:
            path = root / "benchmark_dataset" / form / f"{topic}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps([row[form] for row in rows if form in row]))
    return root


def test_each_question_becomes_three_records_with_every_persona_part(tmp_path):
    records = list(prefeval.iter_prefeval(write_checkout(tmp_path)))
    assert len(records) == 2 * len(QUESTIONS) * 3
    first = records[:3]
    assert {r.prompt for r in first} == {"What should I order at a cafe?"}
    assert {r.chosen for r in first} == {"A pot of green tea."}
    assert [r.rejected for r in first] == ["A double espresso.", "A flat white.", "An iced latte."]
    r = first[0]
    assert r.stated == "I only drink tea, never coffee." and r.demographic == "A night-shift nurse"
    # the choice: the option the user picked over each one passed over, on the conversation's query
    assert [(p.prompt, p.chosen, p.rejected) for p in r.pairs] == [
        ("Ideas near What should I order at a cafe??", "Yes to A pot of green tea.", f"No to {o}")
        for o in QUESTIONS[0][2][1:]]
    # the user's own turns, in turn order, each under the assistant turn it answered
    assert [(c.prompt, c.comment) for c in r.ugc] == [("", "Hello there!"), ("Hi, how can I help?", "Any tips for sleep?")]
    assert r.extra == {"topic": "cafes", "question_id": "cafes/1"}
    assert records[3].extra["question_id"] == "cafes/2" and records[6].extra["topic"] == "weekends"


def test_topics_are_chosen_with_split_and_unknown_ones_are_named(tmp_path):
    root = write_checkout(tmp_path)
    assert {r.extra["topic"] for r in prefeval.iter_prefeval(root, "weekends")} == {"weekends"}
    assert len(list(prefeval.iter_prefeval(root, "cafes,weekends"))) == 12
    with pytest.raises(OptionError, match="no topic cinema; --split takes topics separated by commas: cafes, weekends"):
        list(prefeval.iter_prefeval(root, "cinema"))


def test_registered_name_reads_the_root_folder_and_a_path_reads_a_checkout(tmp_path, monkeypatch):
    root = write_checkout(tmp_path / "PrefEval")
    monkeypatch.delenv(prefeval.ROOT_ENV, raising=False)
    with pytest.raises(InputNotFound, match=f"set {prefeval.ROOT_ENV}"):
        registry.load("prefeval")
    monkeypatch.setenv(prefeval.ROOT_ENV, str(tmp_path / "nothing"))
    with pytest.raises(InputNotFound, match="not a PrefEval checkout"):
        registry.load("prefeval")
    monkeypatch.setenv(prefeval.ROOT_ENV, str(root))
    by_name = registry.load("prefeval", "cafes")
    assert by_name == registry.load(str(root), "cafes") and len(by_name) == 6
    assert registry.data_key("prefeval", "cafes") != registry.data_key("prefeval", "weekends")
    assert Persona.STATED in registry.get("PrefEval").personas and Persona.PROFILE not in registry.get("prefeval").personas


@pytest.mark.parametrize(("edit", "message"), [
    (lambda topic, rows: rows[1]["mcq_options"].pop("classification_task_options"),
     r"mcq_options/cafes.json: record 2: field classification_task_options: must be a list"),
    (lambda topic, rows: rows[0]["mcq_options"].update(question="Something else?"),
     r"explicit_preference/cafes.json: record 1: field question: differs from record 1 of .*mcq_options/cafes.json"),
    (lambda topic, rows: rows[0]["implicit_preference/choice-based"].update(aligned_op="not an option"),
     r"choice-based/cafes.json: record 1: field aligned_op: is not one of 'options'"),
    (lambda topic, rows: rows[1]["implicit_preference/persona-driven"]["conversation"]["0"].pop("user"),
     r"persona-driven/cafes.json: record 2: field user: missing"),
    (lambda topic, rows: rows[1].pop("implicit_preference/choice-based"),
     r"choice-based/cafes.json: 1 questions, but .*mcq_options/cafes.json has 2"),
])
def test_bad_checkouts_give_one_line_naming_file_record_and_field(tmp_path, edit, message):
    root = write_checkout(tmp_path, topics=("cafes",), edit=edit)
    with pytest.raises(UserError, match=message) as info:
        list(prefeval.iter_prefeval(root))
    assert "\n" not in str(info.value)


def test_a_partial_checkout_names_the_missing_form(tmp_path):
    root = write_checkout(tmp_path, topics=("cafes",))
    (root / "benchmark_dataset" / "implicit_preference" / "persona-driven" / "cafes.json").unlink()
    with pytest.raises(InputNotFound, match=r"persona-driven/cafes.json: missing"):
        list(prefeval.iter_prefeval(root))


@pytest.mark.slow  # a subprocess
def test_cli_validate_and_exit_code_on_a_bad_checkout(tmp_path):
    root = write_checkout(tmp_path, topics=("cafes",))
    ok = subprocess.run([sys.executable, "-m", "alignx", "validate", "--data", str(root)], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.strip() == f"{root}: 6 records, all valid"
    (root / "benchmark_dataset" / "mcq_options" / "cafes.json").write_text("[1, 2]")
    bad = subprocess.run([sys.executable, "-m", "alignx", "validate", "--data", str(root)], capture_output=True, text=True)
    assert bad.returncode == 2 and "mcq_options/cafes.json: record 1: field (record): must be a JSON object" in bad.stderr


def test_stated_persona_reads_the_users_words_and_round_trips():
    record = Record.from_dict({"prompt": "p", "chosen": "a", "rejected": "b", "Stated Preference": "Keep it short."})
    view = persona_view(record, "stated")
    assert view.stated == "Keep it short." and not (view.ugc or view.pairs or view.demographic)
    assert "***User Preferences***\n\nKeep it short." in persona_messages("p", view, "pba")[1]["content"]
    assert Record.from_dict(record.to_dict()) == record
    # P-Soups states it as ground_truth_persona: read as stated, written back under its own name only
    psoups = Record.from_dict({"prompt": "p", "chosen": "a", "rejected": "b", "ground_truth_persona": "A student."})
    assert psoups.stated == "A student." and psoups.to_dict() == {"prompt": "p", "chosen": "a", "rejected": "b",
                                                                  "ground_truth_persona": "A student."}
    with pytest.raises(RecordError, match="field 'Stated Preference': must be text"):
        parse_record({"prompt": "p", "chosen": "a", "rejected": "b", "Stated Preference": 3}, "f.jsonl", 1)
    with pytest.raises(PersonaError, match="persona 'stated' is absent from this record"):
        persona_view(Record("p", "a", "b", demographic="A nurse."), "stated")


def test_all_persona_holds_the_stated_preference_in_the_history_section():
    record = Record("p", "a", "b", demographic="A nurse.", stated="Keep it short.")
    content = persona_messages("p", persona_view(record, "all"))[1]["content"]
    assert "A nurse.\n\nKeep it short.\n\n***Response:***" in content


def test_multiple_choice_accuracy_needs_every_option_beaten():
    examples = [{"question_id": "t/1", "correct": True}, {"question_id": "t/1", "correct": True},
                {"question_id": "t/1", "correct": True}, {"question_id": "t/2", "correct": True},
                {"question_id": "t/2", "correct": False}, {"question_id": "t/2", "correct": True}]
    result = EvalResult(EvalSettings(persona="pair"), {}, examples, 1.0)
    assert result.accuracy == pytest.approx(5 / 6)
    mc = result.multiple_choice()
    assert mc["accuracy"] == 0.5 and mc["n"] == 2 and 0.0 <= mc["ci95"][0] <= mc["ci95"][1] <= 1.0
    assert "multiple_choice" in result.to_dict()
    plain = EvalResult(EvalSettings(persona="pair"), {}, [{"correct": True}], 1.0)
    assert plain.multiple_choice() is None and "multiple_choice" not in plain.to_dict()


def test_eval_on_a_checkout_reports_multiple_choice_accuracy_per_question(tmp_path, tiny_model):
    root = write_checkout(tmp_path / "PrefEval")
    out = tmp_path / "report.json"
    run = subprocess.run([sys.executable, "-m", "alignx", "eval", "--data", str(root), "--split", "cafes",
                          "--model", str(tiny_model), "--persona", "stated", "--reward", "zero-shot", "--no-progress",
                          "--output", str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    report = json.loads(out.read_text())
    assert report["n"] == 6 and [e["question_id"] for e in report["examples"]] == ["cafes/1"] * 3 + ["cafes/2"] * 3
    questions = ("cafes/1", "cafes/2")
    per_question = {q: all(e["correct"] for e in report["examples"] if e["question_id"] == q) for q in questions}
    assert report["multiple_choice"]["n"] == 2
    assert report["multiple_choice"]["accuracy"] == sum(per_question.values()) / 2
    assert "I only drink tea, never coffee." in report["examples"][0]["terms"][0]["prompt"]
