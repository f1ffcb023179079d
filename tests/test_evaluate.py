"""Evaluation on the embedded model: reference modes, the report's re-scorability, bad settings."""

import json

import pytest
import torch
from typer.testing import CliRunner

from alignx import registry
from alignx.cli import app
from alignx.eval.evaluator import Evaluator, ScoredModel
from alignx.eval.results import write_report
from alignx.eval.settings import EvalSettings
from alignx.models import embedded_model_dir

RECORDS = 3


@pytest.fixture(scope="module")
def records():
    return registry.load("demo", "test", limit=RECORDS)


@pytest.fixture(scope="module")
def evaluator():
    return Evaluator.load("default", progress=False)


@pytest.fixture(scope="module")
def embedded():
    from alignx.models import load

    return load("default")


def plain_logp(model, tokenizer, prompt: str, response: str) -> float:
    """Re-score one report line independently: one forward pass over prompt + response + EOS."""
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    response_ids = tokenizer(response, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    ids = torch.tensor([prompt_ids + response_ids])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0, len(prompt_ids) - 1 : -1].float()
    return logits.log_softmax(-1).gather(-1, torch.tensor(response_ids)[:, None]).sum().item()


def test_persona_lift_report_rescores_independently(evaluator, embedded, records, tmp_path):
    result = evaluator.run(records, EvalSettings(persona="pair", reference="none"))
    path = tmp_path / "report.json"
    write_report(result, path)
    report = json.loads(path.read_text())
    assert report["n"] == RECORDS and report["settings"]["reference"] == "none" and len(report["ci95"]) == 2
    assert report["settings"]["reward"] == "dpo" and report["timing"]["tokens_per_record"] > 0
    assert report["accuracy"] == sum(e["correct"] for e in report["examples"]) / RECORDS
    line = report["examples"][1]
    policy, reference = line["terms"]
    assert "**This person has chosen or rejected comments on some posts:**" in policy["prompt"]
    assert "***Historical Behavior" not in reference["prompt"]
    assert (policy["weight"], reference["weight"]) == (0.1, -0.1)
    for term, key, text in ((policy, "chosen_logp", "chosen"), (policy, "rejected_logp", "rejected"),
                            (reference, "chosen_logp", "chosen")):
        logp = plain_logp(embedded.model, embedded.tokenizer, term["prompt"], line[text])
        assert logp == pytest.approx(term[key], abs=1e-3)
    expected = (policy["chosen_logp"] - reference["chosen_logp"]) > (policy["rejected_logp"] - reference["rejected_logp"])
    assert line["correct"] == expected


def test_raw_reference_compares_log_probs(evaluator, records):
    result = evaluator.run(records, EvalSettings(persona="none", reference="raw"))
    for e in result.examples:
        (term,) = e["terms"]
        assert e["correct"] == (term["chosen_logp"] > term["rejected_logp"])
    assert result.provenance["reference_model"] is None


def test_same_model_as_reference_ties_and_ties_are_wrong(evaluator, records):
    result = evaluator.run(records[:2], EvalSettings(persona="profile", reference=str(embedded_model_dir())))
    for e in result.examples:
        policy, reference = e["terms"]
        assert "***User Preferences***" in policy["prompt"] and reference["prompt"] == policy["prompt"]
        assert (policy["chosen_logp"], policy["rejected_logp"]) == (reference["chosen_logp"], reference["rejected_logp"])
        assert e["reward_chosen"] == e["reward_rejected"] == 0.0
    assert result.accuracy == 0.0  # ties are wrong


@pytest.mark.slow  # the embedded model
def test_rows_sharing_prompts_are_scored_once(records):
    """The cache in front of the scorer: a second row reusing the universal reference runs only its persona
    prompts, and a repeated row runs nothing."""
    evaluator = Evaluator.load("default", progress=False)
    first = evaluator.run(records, EvalSettings(persona="demo", reference="none"))
    second = evaluator.run(records, EvalSettings(persona="ugc", reference="none"))
    again = evaluator.run(records, EvalSettings(persona="ugc", reference="none"))
    assert 0 < second.tokens < first.tokens + second.tokens and again.tokens == 0
    assert [e["correct"] for e in again.examples] == [e["correct"] for e in second.examples]


class BrokenScorer:
    """A bug inside the scoring path: not the user's fault."""

    tokens_processed = 0

    def score(self, requests, *, description="scoring"):
        raise RuntimeError("injected bug")


def test_a_bug_shows_its_traceback_and_does_not_exit_2(monkeypatch):
    broken = ScoredModel("broken", lambda messages: messages[-1]["content"], BrokenScorer())
    monkeypatch.setattr(Evaluator, "load", classmethod(lambda cls, *a, **k: cls(broken)))
    result = CliRunner().invoke(app, ["eval", "--limit", "1", "--persona", "demo"])
    assert result.exit_code not in (0, 2)
    assert "Traceback" in result.stderr and "RuntimeError: injected bug" in result.stderr
    assert "this is a bug in alignx" in result.stderr


@pytest.mark.slow  # the embedded model
def test_eval_and_demo_commands_succeed_and_write_reports(tmp_path):
    runner = CliRunner()
    report = tmp_path / "eval.json"
    result = runner.invoke(app, ["eval", "--persona", "demo", "--limit", "2", "--no-progress", "--output", str(report)])
    assert result.exit_code == 0, result.output
    assert json.loads(report.read_text())["n"] == 2 and f"report: {report}" in result.stdout
    written = report.read_bytes()
    again = runner.invoke(app, ["eval", "--persona", "demo", "--limit", "2", "--no-progress", "--output", str(report)])
    assert again.exit_code == 0 and "this run already: nothing scored" in again.stdout
    assert again.stdout.split("report:")[0] == result.stdout.split("report:")[0]  # the same table, from the report
    assert report.read_bytes() == written  # nothing rewritten
    other = runner.invoke(app, ["eval", "--persona", "pair", "--limit", "2", "--output", str(report)])
    assert other.exit_code == 2 and "made with other settings; pass --overwrite" in other.stderr
    result = runner.invoke(app, ["demo", "--limit", "2", "--output", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    from alignx.demo import demo_rows

    written = sorted(p.name for p in (tmp_path / "demo").glob("*.json"))
    assert len(written) == len(demo_rows()) and "demo-none-dpo-raw.json" in written
    assert "universal baseline" in result.stdout
    (tmp_path / "demo" / "demo-pair-zero-shot-none.json").unlink()  # as if the run had stopped before this row
    kept = (tmp_path / "demo" / "demo-none-dpo-raw.json").read_bytes()
    again = runner.invoke(app, ["demo", "--limit", "2", "--output", str(tmp_path / "demo")])
    assert again.exit_code == 0, again.output
    assert (tmp_path / "demo" / "demo-pair-zero-shot-none.json").is_file()  # the missing row scored
    assert (tmp_path / "demo" / "demo-none-dpo-raw.json").read_bytes() == kept  # the others read back
    table = [line for line in result.stdout.splitlines() if "│" in line]
    assert [line for line in again.stdout.splitlines() if "│" in line][:3] == table[:3]


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


def test_base_reference_uses_the_adapters_base(adapter_dir, embedded, records):
    evaluator = Evaluator.load(str(adapter_dir), progress=False)
    assert evaluator.policy.base.name == "default"
    result = evaluator.run(records[:2], EvalSettings(persona="all", reference="base"))
    assert result.provenance["reference_model"] == "default"
    for e in result.examples:
        policy, reference = e["terms"]
        assert reference["prompt"] == policy["prompt"] and reference["model"] == "default"
        base_lp = plain_logp(embedded.model, embedded.tokenizer, policy["prompt"], e["chosen"])
        assert reference["chosen_logp"] == pytest.approx(base_lp, abs=1e-3)
        assert abs(policy["chosen_logp"] - reference["chosen_logp"]) > 1e-2  # the adapter changes the policy


def test_bad_settings_fail_with_one_clear_line(evaluator, records, tmp_path, write_jsonl):
    runner = CliRunner()
    result = runner.invoke(app, ["eval", "--persona", "bogus"])
    assert result.exit_code == 2 and result.stderr.strip() == (
        "error: unknown persona 'bogus'; choose one of ugc, pair, demo, profile, stated, all, none")
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



@pytest.mark.slow  # resolves the embedded model (the default policy)
def test_unreachable_hub_names_fail_with_one_line(monkeypatch):
    """Without network, a hub model or dataset is one line naming it, exit 2 (not a library traceback)."""
    import datasets.config
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    runner = CliRunner()
    result = runner.invoke(app, ["eval", "--reference", "nonsense", "--limit", "1", "--no-progress"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1].startswith("error: cannot reach model 'nonsense' on the Hugging Face hub")
    assert "Traceback" not in result.stderr
    result = runner.invoke(app, ["eval", "--data", "alignx-test", "--limit", "1"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "cannot reach dataset 'JinaLeejnl/AlignX-test'" in result.stderr and "local folder" in result.stderr


def test_an_unresolvable_hub_fails_at_once_without_retries(monkeypatch):
    """No network (the hub's host does not resolve): one line at once, not the client's retries. The host is
    looked up once, and nothing tries to connect (the client's retries would look it up again and again)."""
    import socket

    import huggingface_hub.constants

    host = "hub.alignx-test.invalid"
    lookups, real_getaddrinfo = [], socket.getaddrinfo

    def getaddrinfo(name, *args, **kwargs):
        if name == host:  # answered here as a resolver answers a .invalid name, without asking one
            lookups.append(name)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(name, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", f"https://{host}")
    result = CliRunner().invoke(app, ["eval", "--data", "someone/some-dataset", "--limit", "1"])
    assert result.exit_code == 2 and lookups == [host]
    assert result.stderr == ("error: cannot reach dataset 'someone/some-dataset' on the Hugging Face hub "
                             "(ConnectionError); without network, download it elsewhere and pass its local folder "
                             "instead\n")


def test_a_report_read_back_shows_the_table_it_was_written_with(tmp_path):
    """A rerun prints the table from the reports; a rounded time there once printed 0.9 s for a 0.95 s row."""
    from rich.console import Console

    from alignx.eval.evaluator import EvalResult
    from alignx.eval.results import finished_result, results_table

    settings = EvalSettings(persona="pair")
    provenance = {"data": "demo", "split": "test", "limit": 2, "dtype": "fp32", "model": "default"}
    result = EvalResult(settings, {**provenance, "reference_model": None}, [{"correct": True}], 0.9504, 329)
    write_report(result, tmp_path / "r.json")
    back = finished_result(tmp_path / "r.json", settings, provenance)

    def shown(r):
        console = Console(record=True, width=200)
        console.print(results_table([r]))
        return console.export_text()

    assert back is not None and shown(back) == shown(result)
