"""The reward variants tried for each persona type (docs/rewards.md): every variant × persona × data set with
the embedded model, each cell's full report written to --output so that length normalization and the
combinations for `all` are computed from the saved log-probabilities without scoring again.

    .venv/bin/python benchmarks/reward_variants.py --output runs/variants \
        --data prefeval:education_learning_styles,lifestyle_beauty,pet_ownership,shop_fashion,shop_motors,travel_activities,travel_restaurant \
        --data demo:train --data devset/style-tune.jsonl
    .venv/bin/python benchmarks/reward_variants.py --output runs/variants --summary   # the table, from the reports

Variants are registered here under `x-…` names; the kept ones became `zero-shot` (alignx.zero_shot). A cell
that is already in --output is not scored again. PrefEval is read from $ALIGNX_PREFEVAL_ROOT.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from alignx import zero_shot
from alignx.personas import Persona, PersonaView
from alignx.prompts import UNIVERSAL_SYSTEM, Messages, ica_evaluation_messages
from alignx.rewards import REWARDS, Reward, RewardContext, Role, Term, register

P = Persona


def chat(*turns: tuple[str, str]) -> Messages:
    """The universal system message, then the given (role, text) turns."""
    return [{"role": "system", "content": UNIVERSAL_SYSTEM}, *({"role": r, "content": t} for r, t in turns)]


def unique(texts) -> list[str]:
    return list(dict.fromkeys(texts))


def contrast(plus: Messages, minus: Messages, labels: tuple[str, str]) -> list[Term]:
    return [Term(1.0, Role.POLICY, plus, labels[0]), Term(-1.0, Role.POLICY, minus, labels[1])]


# ---------------------------------------------------------------- PAIR


def pair_dedup(ctx: RewardContext) -> list[Term]:
    """The shipped examples contrast with each distinct text once."""
    pairs = ctx.view.pairs
    return contrast(zero_shot.examples_messages(ctx.post, unique(p.chosen for p in pairs)),
                    zero_shot.examples_messages(ctx.post, unique(p.rejected for p in pairs)), ("chosen", "rejected"))


def turns(pairs, side: str, post: str) -> Messages:
    """Each history item as an earlier exchange: the user asks its post, the assistant answers with `side`."""
    items = unique((p.prompt, getattr(p, side)) for p in pairs)
    return chat(*(t for prompt, text in items for t in (("user", prompt), ("assistant", text))), ("user", post))


def pair_turns(ctx: RewardContext) -> list[Term]:
    return contrast(turns(ctx.view.pairs, "chosen", ctx.post), turns(ctx.view.pairs, "rejected", ctx.post),
                    ("chosen turns", "rejected turns"))


def pair_posts(ctx: RewardContext) -> list[Term]:
    """Examples under the posts they answered."""
    def messages(side: str) -> Messages:
        items = unique((p.prompt, getattr(p, side)) for p in ctx.view.pairs)
        blocks = "".join(f"{i}. *Post:*\n{q}\n\n*Response:*\n{a}\n\n" for i, (q, a) in enumerate(items, 1))
        return chat(("user", f"{zero_shot.EXAMPLES_HEADER}{blocks}***Task***\n\n**Post:**\n{ctx.post}\n\n"
                             "***Response:***\n\n"))
    return contrast(messages("chosen"), messages("rejected"), ("chosen", "rejected"))


# ---------------------------------------------------------------- UGC, DEMO, stated: what the user said


def said(prefix: str, post: str) -> Messages:
    return chat(("user", f"{prefix}\n\n{post}"))


def ugc_said(ctx: RewardContext) -> list[Term]:
    """The user's own texts as their message before the question, against the question alone."""
    return contrast(said("\n\n".join(unique(c.comment for c in ctx.view.ugc)), ctx.post), chat(("user", ctx.post)),
                    ("own texts", "question alone"))


def ugc_turns(ctx: RewardContext) -> list[Term]:
    """The user's texts as their earlier turns, each after the text it answered (when it answered one)."""
    history = []
    for c in ctx.view.ugc:
        if c.prompt and history:
            history.append(("assistant", c.prompt))
        elif history:
            history.append(("assistant", "I see."))
        history.append(("user", c.comment))
    history.append(("assistant", "I see."))
    return contrast(chat(*history, ("user", ctx.post)), chat(("user", ctx.post)), ("conversation", "question alone"))


def demo_said(ctx: RewardContext) -> list[Term]:
    return contrast(said(f"About me: {ctx.view.demographic}", ctx.post), chat(("user", ctx.post)),
                    ("description", "question alone"))


def stated_said(ctx: RewardContext) -> list[Term]:
    """The stated preference as the user's own words before the question, against the question alone."""
    return contrast(said(ctx.view.stated, ctx.post), chat(("user", ctx.post)), ("stated", "question alone"))


def stated_system(ctx: RewardContext) -> list[Term]:
    system = [{"role": "system", "content": f"{UNIVERSAL_SYSTEM}The user's preference: {ctx.view.stated}\n"},
              {"role": "user", "content": ctx.post}]
    return contrast(system, chat(("user", ctx.post)), ("system", "question alone"))


def stated_turn(ctx: RewardContext) -> list[Term]:
    """The preference as an earlier user turn the assistant acknowledged (PrefEval's explicit form)."""
    return contrast(chat(("user", ctx.view.stated), ("assistant", "Understood, I will keep that in mind."),
                         ("user", ctx.post)), chat(("user", ctx.post)), ("stated turn", "question alone"))


def stated_ica(ctx: RewardContext) -> list[Term]:
    """Persona lift through the released evaluation prompt (the stated text under its history section)."""
    return contrast(ica_evaluation_messages(ctx.post, PersonaView(stated=ctx.view.stated)),
                    zero_shot.universal_messages(ctx.post), ("released prompt", "universal"))


VARIANTS = {
    "x-pair-dedup": (pair_dedup, P.PAIR), "x-pair-turns": (pair_turns, P.PAIR), "x-pair-posts": (pair_posts, P.PAIR),
    "x-ugc-said": (ugc_said, P.UGC), "x-ugc-turns": (ugc_turns, P.UGC), "x-demo-said": (demo_said, P.DEMO),
    "x-stated-said": (stated_said, P.STATED), "x-stated-system": (stated_system, P.STATED),
    "x-stated-turn": (stated_turn, P.STATED), "x-stated-ica": (stated_ica, P.STATED),
}
for name, (fn, persona) in VARIANTS.items():
    if name not in REWARDS:
        register(Reward(name, fn.__doc__ or name, fn, uses_reference=False, personas=(persona,)))


def cells(args):
    from alignx.evaluate import EvalSettings

    for data in args.data:
        for persona in args.personas:
            for reward in ["dpo", "zero-shot", *(n for n, (_, p) in VARIANTS.items() if p.value == persona)]:
                try:
                    yield data, EvalSettings(persona=persona, reward=reward, reference="none")
                except ValueError as e:
                    print(f"skip {reward} × {persona}: {e}", file=sys.stderr)


def cell_path(output: Path, data: str, settings) -> Path:
    name = data.replace("/", "_").replace(":", "-").replace(",", "+")[:80]
    return output / f"{name}__{settings.persona}__{settings.reward}.json"


def run(args) -> None:
    from alignx import registry
    from alignx.evaluate import Evaluator, load_scored
    from alignx.personas import PersonaError
    from alignx.reporting import write_report

    policy = load_scored(args.model, progress=True, dtype=args.dtype, batch_size=args.batch_size)
    evaluator = Evaluator(policy)
    loaded: dict[str, list] = {}
    for data, settings in cells(args):
        path = cell_path(args.output, data, settings)
        if path.exists():
            continue
        name, _, split = data.partition(":")
        if data not in loaded:
            loaded[data] = registry.load(name, split or None, args.limit)
        try:
            result = evaluator.run(loaded[data], settings, source=name,
                                   provenance={"data": name, "split": split or None, "dtype": args.dtype})
        except PersonaError as e:
            print(f"skip {data} {settings.persona}: {e}", file=sys.stderr)
            continue
        write_report(result, path)
        print(f"{data} {settings.persona} {settings.reward}: {result.accuracy:.3f}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", action="append", default=[], help="NAME[:SPLIT], repeatable.")
    parser.add_argument("--personas", nargs="+", default=["pair", "ugc", "demo", "stated", "profile"])
    parser.add_argument("--model", default="default")
    parser.add_argument("--dtype", default="bf16")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--summary", action="store_true", help="Print the table from the reports in --output.")
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    if not args.summary:
        run(args)
    summary(args.output)


def summary(output: Path) -> None:
    """Each cell's pairwise and multiple-choice accuracy with 95% intervals, as scored (sum of the response's
    token log-probs) and length-normalized (the reward divided by the response's tokens, EOS included)."""
    from alignx import models
    from alignx.evaluate import bootstrap_ci

    tokenizer = models.load_tokenizer(models.resolve("default"))
    lengths: dict[str, int] = {}

    def length(text: str) -> int:
        if text not in lengths:
            lengths[text] = len(tokenizer(text, add_special_tokens=False)["input_ids"]) + 1
        return lengths[text]

    for path in sorted(output.glob("*.json")):
        report = json.loads(path.read_text())
        rows = report["examples"]
        for label, correct in (("sum", [e["correct"] for e in rows]),
                               ("norm", [e["reward_chosen"] / length(e["chosen"]) >
                                         e["reward_rejected"] / length(e["rejected"]) for e in rows])):
            low, high = bootstrap_ci(correct, 1000, 0)
            text = f"{path.stem:75s} {label:4s} {sum(correct) / len(correct):.3f} [{low:.2f}, {high:.2f}]"
            if "question_id" in rows[0]:
                by_question: dict[str, bool] = {}
                for e, ok in zip(rows, correct, strict=True):
                    by_question[e["question_id"]] = by_question.get(e["question_id"], True) and ok
                mc = list(by_question.values())
                low, high = bootstrap_ci(mc, 1000, 0)
                text += f"  mc {sum(mc) / len(mc):.3f} [{low:.2f}, {high:.2f}]"
            print(text + f"  tok/rec {report['timing']['tokens_per_record']}")


if __name__ == "__main__":
    main()
