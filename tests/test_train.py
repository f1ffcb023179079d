"""alignx.training: the seeded training view, TRL DPO/SFT runs on a tiny random Llama, the output
folder round trip into the scorer, --resume, --num-processes and the one-line errors."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from conftest import make_direction, make_record

from alignx.personas import MAX_HISTORY_ITEMS
from alignx.records import Record
from alignx.space import aggregate
from alignx.training import TrainConfig, build_dataset, training_messages, training_view
from alignx.training.data import history_targets
from alignx.training.trainer import trainer_args

torch = pytest.importorskip("torch")
pytest.importorskip("trl")


def rich_record(i: int, n_ugc: int = 6, n_pair: int = 6) -> dict:
    """A record with more history than a draw takes, each item with its own direction."""
    rec = make_record(i)
    rec["User-Generated Content"] = [
        {"prompt": f"ugc post {k}", "comment": f"comment {k}", "Preference Direction": make_direction(**{f"d{k}": 1.0})}
        for k in range(n_ugc)
    ]
    rec["Pair-wise Comparative Feedback"] = [
        {"prompt": f"pair post {k}", "chosen": f"yes {k}", "rejected": f"no {k}",
         "Preference Direction": make_direction(**{f"d{20 + k}": 0.0})}
        for k in range(n_pair)
    ]
    return rec


# ---------------------------------------------------------------- the training view (no model needed)


def test_view_counts_are_0_to_4_and_both_zero_takes_all():
    record = Record.from_dict(rich_record(0))
    seen, both_zero = set(), 0
    for index in range(300):
        view = training_view(record, index, seed=7)
        seen.add((len(view.ugc), len(view.pairs)))
        # Replay the draw: two randint(0, 4) calls come first in the record's own stream.
        rng = random.Random(f"alignx-train:7:{index}")
        n_ugc, n_pair = rng.randint(0, MAX_HISTORY_ITEMS), rng.randint(0, MAX_HISTORY_ITEMS)
        if n_ugc == n_pair == 0:
            both_zero += 1
            assert (len(view.ugc), len(view.pairs)) == (MAX_HISTORY_ITEMS, MAX_HISTORY_ITEMS)
        else:
            assert (len(view.ugc), len(view.pairs)) == (n_ugc, n_pair)
        assert len(set(view.ugc)) == len(view.ugc) and set(view.ugc) <= set(record.ugc)
        assert set(view.pairs) <= set(record.pairs)
    assert both_zero > 0
    assert {n for n, _ in seen} == set(range(MAX_HISTORY_ITEMS + 1)) and (0, 0) not in seen


def test_both_zero_with_short_history_takes_what_there_is():
    record = Record.from_dict(rich_record(0, n_ugc=2, n_pair=1))
    for index in range(200):
        view = training_view(record, index, seed=3)
        assert view.ugc or view.pairs
        assert len(view.ugc) <= 2 and len(view.pairs) <= 1


def test_views_are_seeded_per_record():
    record = Record.from_dict(rich_record(0))
    first = [training_view(record, i, seed=1) for i in range(20)]
    assert first == [training_view(record, i, seed=1) for i in range(20)]  # reproducible
    assert first != [training_view(record, i, seed=2) for i in range(20)]  # the seed matters
    assert len({(v.ugc, v.pairs) for v in first}) > 5  # records differ by index


def test_pba_prompt_holds_the_profile_of_the_drawn_items():
    record = Record.from_dict(rich_record(0))
    for index in range(30):
        view = training_view(record, index, seed=5)
        expected = aggregate([item.direction for item in view.ugc + view.pairs]).text
        assert view.profile == expected
        user = training_messages(record, index, "pba", seed=5)[-1]["content"]
        assert f"***User Preferences***\n\n{expected}\n\n" in user
        assert "**Post:**" not in user  # the training task is the bare post


def test_ica_prompt_holds_the_drawn_history_and_optional_demographic():
    record = Record.from_dict(rich_record(0))
    view = training_view(record, 4, seed=5)
    user = training_messages(record, 4, "ica", seed=5)[-1]["content"]
    assert all(f"*Comment:*\n{c.comment}\n" in user for c in view.ugc)
    assert record.demographic not in user
    assert record.demographic in training_messages(record, 4, "sft-ica", seed=5, with_demographic=True)[-1]["content"]


def test_history_targets_learn_each_pair_item_from_the_rest_of_the_history():
    record = Record.from_dict(rich_record(0, n_ugc=3, n_pair=3))
    targets = list(history_targets(record))
    assert len(targets) == 3
    for item, target in zip(record.pairs, targets, strict=True):
        assert (target.prompt, target.chosen, target.rejected, target.direction) == (
            item.prompt, item.chosen, item.rejected, item.direction)
        own = target.pairs[0]
        assert (own.prompt, own.chosen, own.rejected, own.direction) == (
            record.prompt, record.chosen, record.rejected, record.direction)
        assert set(target.pairs[1:]) == set(record.pairs) - {item}  # never its own answer in the persona
        assert (target.ugc, target.demographic) == (record.ugc, record.demographic)
    # Each target draws its own view; target 0 keeps the record's draw.
    views = [training_view(t, 0, seed=5, target=j) for j, t in enumerate([record, *targets])]
    assert views[0] == training_view(record, 0, seed=5)
    assert len({v.ugc for v in views}) > 1 or len({len(v.pairs) for v in views}) > 1


def test_missing_persona_parts_are_named():
    rec = make_record(0)
    for item in rec["User-Generated Content"] + rec["Pair-wise Comparative Feedback"]:
        del item["Preference Direction"]
    with pytest.raises(ValueError, match=r"data.jsonl: record 3: --method pba needs 'Preference Direction'"):
        training_messages(Record.from_dict(rec), 2, "pba", seed=0, source="data.jsonl")
    bare = Record.from_dict({k: rec[k] for k in ("prompt", "chosen", "rejected")})
    with pytest.raises(ValueError, match=r"record 1: --method ica needs UGC or PAIR history"):
        training_messages(bare, 0, "ica", seed=0)


def test_config_errors_name_the_option():
    with pytest.raises(ValueError, match=r"unknown --method 'kto'; choose one of ica, pba, sft-ica, sft-pba"):
        TrainConfig(output="x", method="kto")
    with pytest.raises(ValueError, match="--batch-size must be at least 1, got 0"):
        TrainConfig(output="x", batch_size=0)
    with pytest.raises(ValueError, match="--precompute-ref-log-probs is for DPO"):
        TrainConfig(output="x", method="sft-pba", precompute_ref_log_probs=True)
    assert TrainConfig(output="x").lr == 5e-7 and TrainConfig(output="x", lora=True).lr == 1e-3


# ---------------------------------------------------------------- a tiny random Llama


@pytest.fixture
def train_data(write_jsonl) -> Path:
    return write_jsonl([rich_record(i, n_ugc=3, n_pair=3) for i in range(8)], name="train.jsonl")


def config_for(tiny_model, train_data, out, **overrides) -> TrainConfig:
    values = dict(output=str(out), data=str(train_data), split=None, model=str(tiny_model), lora=True,
                  max_steps=2, save_steps=2, batch_size=2, max_length=1024, seed=11)
    return TrainConfig(**{**values, **overrides})


def test_dataset_is_tokenized_by_the_evaluation_convention(tiny_model, train_data, tmp_path):
    from transformers import AutoTokenizer

    from alignx.eval.scoring import encode
    from alignx.prompts import render
    from alignx.records import load_records

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    config = config_for(tiny_model, train_data, tmp_path / "out", method="pba", history_targets=False,
                        contrast_batches=False)
    dataset = build_dataset(config, tokenizer, cache_dir=tmp_path / "cache")
    records = load_records(train_data)
    assert len(dataset) == len(records)
    for row, record in zip(dataset, records, strict=True):
        prompt = render(tokenizer, training_messages(record, row["index"], "pba", seed=11))
        assert row["prompt"] == prompt
        assert (row["prompt_ids"], row["chosen_ids"]) == encode(tokenizer, prompt, record.chosen, 1024 - 513)
        assert row["rejected_ids"][-1] == tokenizer.eos_token_id
        assert row["prompt_ids"].count(tokenizer.bos_token_id) >= 1 and row["prompt_ids"][0] == tokenizer.bos_token_id
        assert row["prompt_ids"][1] != tokenizer.bos_token_id  # BOS once, not twice
    sft = build_dataset(config_for(tiny_model, train_data, tmp_path / "o2", method="sft-ica", history_targets=False,
                                   contrast_batches=False), tokenizer, cache_dir=tmp_path / "cache")
    first = sft[0]
    n_prompt = first["completion_mask"].count(0)
    assert first["input_ids"][n_prompt:] == encode(tokenizer, first["prompt"], records[0].chosen, 511)[1]


def test_history_targets_and_subsets_count_records(tiny_model, train_data, tmp_path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    plain = build_dataset(config_for(tiny_model, train_data, tmp_path / "o1", history_targets=False,
                                     contrast_batches=False), tokenizer, cache_dir=tmp_path / "c")
    assert plain["target"] == [0] * 8
    wide = build_dataset(config_for(tiny_model, train_data, tmp_path / "o2", contrast_batches=False), tokenizer,
                         cache_dir=tmp_path / "c")
    assert len(wide) == 8 * 4 and sorted(set(zip(wide["index"], wide["target"], strict=True))) == [
        (i, t) for i in range(8) for t in range(4)]
    assert [r for r in wide if r["target"] == 0] == list(plain)  # the record's own example is unchanged
    subset = build_dataset(config_for(tiny_model, train_data, tmp_path / "o3", subset_size=3), tokenizer,
                           cache_dir=tmp_path / "c")
    indices = set(subset["index"])
    assert len(indices) == 3 and len(subset) == 3 * 4  # a subset draws records, each with all its targets
    with pytest.raises(ValueError, match="--subset-size 9 exceeds the 8 records"):
        build_dataset(config_for(tiny_model, train_data, tmp_path / "o4", subset_size=9), tokenizer,
                      cache_dir=tmp_path / "c")


def test_ica_reads_the_demographic_by_default_as_evaluation_does(tiny_model, train_data, tmp_path):
    from transformers import AutoTokenizer

    from alignx.records import load_records

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    demographics = {r.demographic for r in load_records(train_data)}
    assert all(demographics)

    def prompts(**overrides) -> list[str]:
        config = config_for(tiny_model, train_data, tmp_path / "out", history_targets=False, contrast_batches=False,
                            **overrides)
        return build_dataset(config, tokenizer, cache_dir=tmp_path / "c")["prompt"]

    assert all(any(d in p for d in demographics) for p in prompts())  # the default: DEMO in every ICA prompt
    assert not any(d in p for p in prompts(with_demographic=False) for d in demographics)  # the released view
    assert prompts(method="pba") == prompts(method="pba", with_demographic=False)  # PBA reads the profile only


def test_contrast_batches_put_opposite_choices_in_one_step(tiny_model, write_jsonl, tmp_path):
    from transformers import AutoTokenizer

    def opposite(i: int) -> dict:
        rec = make_record(i, pole=0.0)
        rec["chosen"], rec["rejected"] = rec["rejected"], rec["chosen"]
        for item in rec["Pair-wise Comparative Feedback"]:
            item["chosen"], item["rejected"] = item["rejected"], item["chosen"]
        return rec

    data = write_jsonl([make_record(i) for i in range(3)] + [opposite(i) for i in range(3)])
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    config = config_for(tiny_model, data, tmp_path / "out", batch_size=1, grad_accum=2)  # the defaults
    dataset = build_dataset(config, tokenizer, cache_dir=tmp_path / "c")
    assert len(dataset) == 12
    for first, second in zip(dataset.select(range(0, 12, 2)), dataset.select(range(1, 12, 2)), strict=True):
        assert (first["chosen"], first["rejected"]) == (second["rejected"], second["chosen"])
        assert first["contrast_key"] == second["contrast_key"]
    assert trainer_args(config, use_cpu=True).train_sampling_strategy == "sequential"  # the trainer keeps the order


def test_cpu_lm_head_scores_only_completions_with_the_same_values(tiny_model):
    """TRL's fused LM head, switched to completion positions on CPU, gives a plain forward's log-probs."""
    from transformers import AutoModelForCausalLM
    from trl.trainer import utils as trl_utils

    from alignx.training.trainer import completions_only_lm_head_on_cpu

    original = trl_utils._use_triton
    assert not original(torch.device("cpu"))
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    ids = torch.randint(0, 1000, (2, 12), generator=torch.Generator().manual_seed(0))
    labels = ids.clone()
    labels[:, :7] = -100  # prompt positions
    labels[1, 10:] = -100  # a shorter second completion
    plain = torch.log_softmax(model(input_ids=ids).logits[:, :-1].float(), dim=-1)
    expected = plain.gather(-1, ids[:, 1:, None]).squeeze(-1) * (labels[:, 1:] != -100)
    trl_utils.add_fused_lm_head(model)
    with completions_only_lm_head_on_cpu():
        assert trl_utils._use_triton(torch.device("cpu"))
        fused = model(input_ids=ids, labels=labels, fused_lm_head=True).log_probs
    assert trl_utils._use_triton is original  # restored: the patch never outlives the block
    assert torch.allclose(fused, expected, atol=1e-5)
    assert (fused[:, :6] == 0).all() and (fused[1, 9:] == 0).all()
    with pytest.raises(RuntimeError), completions_only_lm_head_on_cpu():
        raise RuntimeError("a failed training step")
    assert trl_utils._use_triton is original  # restored after a failure too


def test_the_private_trl_method_we_override_still_exists():
    """PretokenizedDPOTrainer overrides DPOTrainer._prepare_dataset; a TRL that renames it must fail here."""
    import inspect

    from trl import DPOTrainer

    parameters = list(inspect.signature(DPOTrainer._prepare_dataset).parameters)
    assert parameters == ["self", "dataset", "processing_class", "args", "dataset_name"]


def random_pairs(n: int, seed: int = 0):
    """Pre-tokenized pairs with prompts and responses of different lengths, so a batch pads."""
    from datasets import Dataset

    g = torch.Generator().manual_seed(seed)
    rows = []
    for _ in range(n):
        p, c, r = torch.randint(3, 40, (3,), generator=g).tolist()
        rows.append({key: torch.randint(5, 900, (k,), generator=g).tolist()
                     for key, k in (("prompt_ids", p), ("chosen_ids", c), ("rejected_ids", r))})
    return Dataset.from_list(rows)


def dpo_step(tiny_model, *, prefix_sharing: bool, lora: bool, attn: str, checkpointing: bool = False):
    """Loss, gradients and logged metrics of one DPO forward and backward on the same batch of 4 pairs."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from alignx.training.trainer import PretokenizedDPOTrainer, completions_only_lm_head_on_cpu, lora_config

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny_model, attn_implementation=attn)
    config = TrainConfig(output=str(tiny_model / "unused"), model=str(tiny_model), lora=lora, batch_size=4,
                         gradient_checkpointing=checkpointing)
    peft = lora_config(config) if lora else None  # the adapter alignx train makes (PEFT's causal-LM wrapper)
    if peft:
        peft.init_lora_weights = False  # non-zero: the policy is not its reference, the loss is not log 2
    data = random_pairs(4)
    trainer = PretokenizedDPOTrainer(model=model, args=trainer_args(config, use_cpu=True), train_dataset=data,
                                     processing_class=AutoTokenizer.from_pretrained(tiny_model), peft_config=peft,
                                     prefix_sharing=prefix_sharing)
    if not lora:  # full fine-tuning: move the policy off its reference copy
        with torch.no_grad():
            for parameter in trainer.model.parameters():
                parameter.add_(0.02 * torch.randn_like(parameter))
    trainer.model.train()
    with completions_only_lm_head_on_cpu():
        loss = trainer.compute_loss(trainer.model, trainer.data_collator(list(data)))
    loss.backward()
    grads = {name: p.grad for name, p in trainer.model.named_parameters() if p.grad is not None}
    return loss.item(), grads, {key: values[-1] for key, values in trainer._metrics["train"].items()}


@pytest.mark.parametrize(("lora", "attn", "checkpointing"), [
    (True, "sdpa", False), (True, "eager", False), (False, "sdpa", False), (True, "sdpa", True)])
def test_prefix_shared_dpo_has_trls_loss_rewards_and_gradients(tiny_model, monkeypatch, lora, attn, checkpointing):
    import alignx.training.prefix_sharing as prefix_sharing

    packed = []
    pack = prefix_sharing.pack
    monkeypatch.setattr(prefix_sharing, "pack", lambda *a, **k: packed.append(1) or pack(*a, **k))
    shared = dpo_step(tiny_model, prefix_sharing=True, lora=lora, attn=attn, checkpointing=checkpointing)
    assert len(packed) == 2  # the policy and the reference forward, each once packed
    concatenated = dpo_step(tiny_model, prefix_sharing=False, lora=lora, attn=attn, checkpointing=checkpointing)
    assert len(packed) == 2
    assert shared[0] == pytest.approx(concatenated[0], abs=1e-6) and abs(shared[0] - 0.6931) > 1e-3
    assert shared[1].keys() == concatenated[1].keys() and shared[1]
    for name, grad in concatenated[1].items():
        assert torch.allclose(shared[1][name], grad, atol=1e-6, rtol=1e-4), name
    assert shared[2].keys() == concatenated[2].keys()
    for key in ("rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies", "logps/chosen",
                "logps/rejected", "entropy", "logits/chosen", "num_tokens"):
        assert shared[2][key] == pytest.approx(concatenated[2][key], rel=1e-4, abs=1e-5), key  # fp32 sums


def test_pairs_that_cannot_share_a_prompt_exactly_are_left_to_trls_forward():
    from alignx.training.prefix_sharing import Pair, find_pairs

    ids = torch.tensor([[1, 2, 3, 4, 5, 0], [1, 2, 3, 6, 7, 8]])  # chosen row, rejected row
    mask = torch.tensor([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]])
    labels = ids.masked_fill(torch.tensor([[1, 1, 1, 0, 0, 1], [1, 1, 1, 0, 0, 0]]).bool(), -100)
    assert find_pairs(ids, mask, labels) == (Pair(prompt=3, chosen_end=5, rejected_end=6),)
    other_prompt = ids.clone()
    other_prompt[1, 1] = 9
    assert find_pairs(other_prompt, mask, labels) is None
    cut = labels.clone()
    cut[1, 3:] = -100  # --max-length cut the rejected response away
    assert find_pairs(ids, mask, cut) is None


def test_the_trl_forward_prefix_sharing_wraps_keeps_its_fields():
    """prefix_sharing wraps the forward of TRL's add_fused_lm_head and rebuilds its output; a TRL that
    changes either must fail here (TRL is pinned to the tested minor version)."""
    import dataclasses
    import inspect

    from trl.trainer.utils import FusedCausalLMOutput, add_fused_lm_head

    from alignx.training.prefix_sharing import PER_TOKEN_FIELDS

    assert {f.name for f in dataclasses.fields(FusedCausalLMOutput)} == {"loss", "aux_loss", *PER_TOKEN_FIELDS}
    assert "fused_lm_head=False" in inspect.getsource(add_fused_lm_head)


def test_dpo_lora_trains_saves_and_loads_into_the_scorer(tiny_model, train_data, tmp_path):
    from alignx.eval.scoring import LoopScorer, ScoreRequest
    from alignx.models import TRAINING_CONFIG, load, resolve
    from alignx.training.callbacks import read_log
    from alignx.training.trainer import run_training

    out = tmp_path / "pba"
    result = run_training(config_for(tiny_model, train_data, out, method="pba"), cache_dir=tmp_path / "cache")
    assert (result.world_size, result.global_step) == (1, 2)
    assert {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json", TRAINING_CONFIG,
            "train_log.jsonl", "checkpoint-2"} <= {p.name for p in out.iterdir()}
    saved = json.loads((out / TRAINING_CONFIG).read_text())
    assert saved["base_model"] == str(tiny_model.resolve()) and saved["status"] == "done"
    assert saved["world_size"] == 1 and saved["config"]["method"] == "pba"
    log = read_log(out)
    assert log[0]["event"] == "start" and log[0]["world_size"] == 1
    steps = [r for r in log if r["event"] == "step"]
    assert [r["step"] for r in steps] == [1, 2]
    assert all({"loss", "margin", "accuracy", "lr"} <= r.keys() for r in steps)

    resolved = resolve(str(out))
    assert resolved.is_adapter and resolved.base == str(tiny_model.resolve())
    loaded = load(str(out), device="cpu")
    request = [ScoreRequest(prompt="<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
                            responses=("yes 1", "no 1"))]
    with_adapter = LoopScorer(loaded).score(request)[0]
    without = LoopScorer(loaded, disable_adapter=True).score(request)[0]
    assert all(v < 0 for v in with_adapter + without)
    assert with_adapter != without  # the adapter moved away from its zero init


def test_sft_full_fine_tuning_saves_full_weights(tiny_model, train_data, tmp_path):
    from safetensors.torch import load_file

    from alignx.models import load
    from alignx.training.trainer import run_training

    out = tmp_path / "sft"
    result = run_training(config_for(tiny_model, train_data, out, method="sft-ica", lora=False, max_steps=1, warmup_ratio=0.0,
                              learning_rate=1e-2), cache_dir=tmp_path / "cache")
    assert result.global_step == 1 and (out / "model.safetensors").is_file()
    before, after = load_file(tiny_model / "model.safetensors"), load_file(out / "model.safetensors")
    assert any(not torch.equal(before[k], after[k]) for k in before)
    loaded = load(str(out), device="cpu")
    assert not loaded.spec.is_adapter


def test_resume_after_a_crash_matches_an_uninterrupted_run(tiny_model, train_data, tmp_path):
    from safetensors.torch import load_file
    from transformers import TrainerCallback

    from alignx.training.callbacks import read_log
    from alignx.training.trainer import run_training

    class Crash(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 3:
                raise KeyboardInterrupt("simulated kill after checkpoint-2")

    cache = tmp_path / "cache"
    straight = tmp_path / "straight"
    run_training(config_for(tiny_model, train_data, straight, max_steps=4), cache_dir=cache)
    broken = tmp_path / "broken"
    with pytest.raises(KeyboardInterrupt):
        run_training(config_for(tiny_model, train_data, broken, max_steps=4), cache_dir=cache, callbacks=[Crash()])
    assert (broken / "checkpoint-2").is_dir() and not (broken / "adapter_model.safetensors").exists()
    with pytest.raises(ValueError, match="already holds a training run; pass --resume"):
        run_training(config_for(tiny_model, train_data, broken, max_steps=4), cache_dir=cache)
    with pytest.raises(ValueError, match=r"--resume: options differ .*--seed 12 \(the run used 11\)"):
        run_training(config_for(tiny_model, train_data, broken, max_steps=4, seed=12, resume=True), cache_dir=cache)
    result = run_training(config_for(tiny_model, train_data, broken, max_steps=4, resume=True), cache_dir=cache)
    assert result.global_step == 4
    a = load_file(straight / "adapter_model.safetensors")
    b = load_file(broken / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    assert max(float((a[k] - b[k]).abs().max()) for k in a) <= 1e-5
    assert [r["step"] for r in read_log(broken) if r["event"] == "step"] == [1, 2, 3, 4]  # no repeated rows


def test_resume_needs_a_checkpoint(tiny_model, train_data, tmp_path):
    from alignx.training.trainer import run_training

    with pytest.raises(ValueError, match="holds no complete checkpoint-N folder; run without --resume"):
        run_training(config_for(tiny_model, train_data, tmp_path / "none", resume=True), cache_dir=tmp_path / "c")


def test_model_without_chat_template_is_refused(tiny_model, train_data, tmp_path):
    import shutil

    from alignx.prompts import ChatTemplateError
    from alignx.training.trainer import run_training

    bare = tmp_path / "bare"
    shutil.copytree(tiny_model, bare)
    (bare / "chat_template.jinja").unlink()
    tokenizer_config = json.loads((bare / "tokenizer_config.json").read_text())
    tokenizer_config.pop("chat_template", None)
    (bare / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))
    with pytest.raises(ChatTemplateError, match="has no chat template"):
        run_training(config_for(bare, train_data, tmp_path / "out"), cache_dir=tmp_path / "cache")


def test_cli_errors_are_one_line(tiny_model, write_jsonl, tmp_path):
    from typer.testing import CliRunner

    from alignx.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["train", "--method", "kto", "--output", str(tmp_path / "o")])
    assert result.exit_code == 2 and result.output.strip().splitlines() == [
        "error: unknown --method 'kto'; choose one of ica, pba, sft-ica, sft-pba"]
    rec = make_record(0)
    for item in rec["User-Generated Content"] + rec["Pair-wise Comparative Feedback"]:
        del item["Preference Direction"]
    data = write_jsonl([rec], name="nodirs.jsonl")
    result = runner.invoke(app, ["train", "--method", "pba", "--data", str(data), "--model", str(tiny_model),
                                 "--lora", "--max-steps", "1", "--output", str(tmp_path / "o2")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].startswith(
        f"error: {data}: record 1: --method pba needs 'Preference Direction'")


def test_two_processes_train_with_gloo(tiny_model, train_data, tmp_path, monkeypatch):
    from alignx.models import TRAINING_CONFIG
    from alignx.training.callbacks import read_log
    from alignx.training.launch import launch

    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))  # the workers' datasets cache
    for name in ("LOCAL_RANK", "WORLD_SIZE", "RANK"):
        monkeypatch.delenv(name, raising=False)
    out = tmp_path / "ddp"
    status = launch(config_for(tiny_model, train_data, out, method="pba", num_processes=2, batch_size=1))
    assert status == 0
    assert (out / "adapter_model.safetensors").is_file()
    assert json.loads((out / TRAINING_CONFIG).read_text())["world_size"] == 2
    assert read_log(out)[0]["world_size"] == 2
    assert os.environ.get("WORLD_SIZE") is None


def test_worker_prints_user_errors_in_one_line_and_lets_bugs_keep_their_traceback(tmp_path, monkeypatch, capsys):
    from alignx.errors import UserError
    from alignx.training import launch, trainer

    path = tmp_path / "config.json"
    path.write_text(json.dumps(TrainConfig(output=str(tmp_path / "o")).to_dict()))

    def refuse(config):
        raise UserError("--data: nothing to train on")

    monkeypatch.setattr(trainer, "run_training", refuse)
    assert launch.main([str(path)]) == 2
    assert capsys.readouterr().err == "error: --data: nothing to train on\n"

    def bug(config):
        raise KeyError("a bug")

    monkeypatch.setattr(trainer, "run_training", bug)
    with pytest.raises(KeyError, match="a bug"):
        launch.main([str(path)])
