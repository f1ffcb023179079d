"""Evaluation on the embedded model: reference modes, the report's re-scorability, bad settings."""

import json

import pytest
import torch
from typer.testing import CliRunner

from alignx import benchmarks
from alignx.cli import app
from alignx.evaluate import EvalConfig, Evaluator, bootstrap_ci, is_correct
from alignx.models import embedded_model_dir
from alignx.reporting import write_report

RECORDS = 3


@pytest.fixture(scope="module")
def records():
    return benchmarks.load("demo", "test", limit=RECORDS)


@pytest.fixture(scope="module")
def evaluator():
    return Evaluator("default", progress=False)


def plain_logp(model, tokenizer, prompt: str, response: str) -> float:
    """Re-score one report line independently: one forward pass over prompt + response + EOS."""
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    response_ids = tokenizer(response, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    ids = torch.tensor([prompt_ids + response_ids])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0, len(prompt_ids) - 1 : -1].float()
    return logits.log_softmax(-1).gather(-1, torch.tensor(response_ids)[:, None]).sum().item()


def test_persona_lift_report_rescores_independently(evaluator, records, tmp_path):
    result = evaluator.run(records, EvalConfig(persona="pair", reference="none", progress=False))
    path = tmp_path / "report.json"
    write_report(result, path)
    report = json.loads(path.read_text())
    assert report["n"] == RECORDS and report["settings"]["reference"] == "none" and len(report["ci95"]) == 2
    assert report["accuracy"] == sum(e["correct"] for e in report["examples"]) / RECORDS
    line = report["examples"][1]
    assert "**This person has chosen or rejected comments on some posts:**" in line["policy_prompt"]
    assert "***Historical Behavior" not in line["reference_prompt"]
    model, tok = evaluator.policy.model, evaluator.policy.tokenizer
    for prompt_key, logp_key, text_key in (("policy_prompt", "chosen_logp", "chosen"),
                                           ("policy_prompt", "rejected_logp", "rejected"),
                                           ("reference_prompt", "ref_chosen_logp", "chosen")):
        assert plain_logp(model, tok, line[prompt_key], line[text_key]) == pytest.approx(line[logp_key], abs=1e-3)
    expected = (line["chosen_logp"] - line["ref_chosen_logp"]) > (line["rejected_logp"] - line["ref_rejected_logp"])
    assert line["correct"] == expected


def test_raw_reference_compares_log_probs(evaluator, records):
    result = evaluator.run(records, EvalConfig(persona="none", reference="raw", progress=False))
    for e in result.examples:
        assert e["ref_chosen_logp"] is None and e["reference_prompt"] is None
        assert e["correct"] == (e["chosen_logp"] > e["rejected_logp"])
    assert result.reference_model is None


def test_same_model_as_reference_ties_and_ties_are_wrong(evaluator, records):
    result = evaluator.run(records[:2], EvalConfig(persona="profile", reference=str(embedded_model_dir()),
                                                   progress=False))
    for e in result.examples:
        assert "***User Preferences***" in e["policy_prompt"] and e["reference_prompt"] == e["policy_prompt"]
        assert (e["chosen_logp"], e["rejected_logp"]) == (e["ref_chosen_logp"], e["ref_rejected_logp"])
    assert result.accuracy == 0.0
    assert not is_correct(-1.0, -2.0, -1.0, -2.0)


@pytest.fixture(scope="module")
def adapter_dir(tmp_path_factory):
    """A LoRA adapter on the embedded model with non-zero weights, saved like a training output."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(embedded_model_dir())
    peft = get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    folder = tmp_path_factory.mktemp("adapter")
    peft.save_pretrained(folder)
    return folder


def test_base_reference_uses_the_adapters_base(adapter_dir, records):
    evaluator = Evaluator(str(adapter_dir), progress=False)
    assert evaluator.policy.spec.base == "default"
    result = evaluator.run(records[:2], EvalConfig(persona="all", reference="base", progress=False))
    base = Evaluator("default", progress=False)
    for e in result.examples:
        assert e["reference_prompt"] == e["policy_prompt"]
        base_lp = plain_logp(base.policy.model, base.policy.tokenizer, e["policy_prompt"], e["chosen"])
        assert e["ref_chosen_logp"] == pytest.approx(base_lp, abs=1e-3)
        assert abs(e["chosen_logp"] - e["ref_chosen_logp"]) > 1e-2  # the adapter changes the policy


def test_bad_settings_fail_with_one_clear_line(evaluator, records, tmp_path, write_jsonl):
    runner = CliRunner()
    result = runner.invoke(app, ["eval", "--persona", "bogus"])
    assert result.exit_code == 2 and result.stderr.strip() == (
        "error: unknown persona 'bogus'; choose one of ugc, pair, demo, profile, all, none")
    result = runner.invoke(app, ["eval", "--reference", "base", "--limit", "1"])
    assert result.exit_code == 2 and "--reference base needs an adapter" in result.stderr
    bench = write_jsonl([{"prompt": "p", "chosen": "a", "rejected": "b",
                          "Pair-wise Comparative Feedback": [{"prompt": "q", "chosen": "c", "rejected": "d"}]}])
    result = runner.invoke(app, ["eval", "--data", str(bench), "--persona", "ugc"])
    assert result.exit_code == 2 and f"{bench}: record 1: persona 'ugc' is absent" in result.stderr
    result = runner.invoke(app, ["eval", "--data", "p-soups", "--persona", "ugc"])
    assert result.exit_code == 2 and "benchmark p-soups has no ugc persona" in result.stderr
    result = runner.invoke(app, ["eval", "--persona", "pair", "--prompt", "pba"])
    assert result.exit_code == 2 and "use --persona profile" in result.stderr
    orphan = tmp_path / "orphan"
    orphan.mkdir()
    (orphan / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA"}))
    result = runner.invoke(app, ["eval", "--model", str(orphan)])
    assert result.exit_code == 2 and "adapter does not name its base model" in result.stderr
    assert result.stderr.count("\n") == 1


def test_bootstrap_interval():
    low, high = bootstrap_ci([True] * 15 + [False] * 5, rounds=2000, seed=0)
    assert low < 0.75 < high and 0.5 < low and high <= 0.95
    assert bootstrap_ci([True] * 4, 100, 0) == (1.0, 1.0)
