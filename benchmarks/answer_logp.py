"""How far generated answers moved from what the post alone calls for: their mean log-probability per token
under the universal prompt (the post, no persona), from `alignx generate` output files. Not a quality measure:
the model that sampled universal answers scores them high by construction, and a decoding constraint that keeps
only likely tokens can score higher still; an answer that drifts off the post or writes back the user's texts
scores low (docs/generate.md, Steering). Usage:

    .venv/bin/python benchmarks/answer_logp.py OUT.jsonl [OUT2.jsonl ...] [--model default]
"""

from __future__ import annotations

import argparse

from alignx import models
from alignx.generate.files import read_generations
from alignx.prompts import render, universal_messages


def answer_logp(loaded, post: str, answer: str) -> tuple[float, int]:
    """(sum of the answer's token log-probabilities after the universal prompt of `post`, its token count)."""
    import torch

    tokenizer = loaded.tokenizer
    prompt = tokenizer(render(tokenizer, universal_messages(post)), add_special_tokens=False)["input_ids"]
    tokens = tokenizer(answer, add_special_tokens=False)["input_ids"]
    if not tokens:
        return 0.0, 0
    with torch.inference_mode():
        logits = loaded.model(input_ids=torch.tensor([prompt + tokens], device=loaded.device)).logits
    logp = torch.log_softmax(logits[0, len(prompt) - 1:-1].float(), dim=-1)  # (T_answer, V)
    return logp.gather(1, torch.tensor(tokens, device=loaded.device)[:, None]).sum().item(), len(tokens)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--model", default="default")
    args = parser.parse_args()
    loaded = models.load(args.model, device="cpu", dtype="fp32")
    for path in args.paths:
        _, rows = read_generations(path)
        scored = [answer_logp(loaded, r["prompt"], r["response"]) for r in rows]
        total, count = sum(s for s, _ in scored), sum(n for _, n in scored)
        print(f"{path}: mean log p / token under the universal prompt {total / count:.3f} ({len(rows)} answers)")


if __name__ == "__main__":
    main()
