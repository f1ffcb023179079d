"""The reward variants tried for each persona type (docs/rewards.md): every variant × persona × data set with
the embedded model, each cell's full report written to --output so that length normalization and the
combinations for `all` are computed from the saved log-probabilities without scoring again.

    ALIGNX_PREFEVAL_ROOT=../shared/data/prefeval-dev .venv/bin/python benchmarks/reward_variants.py \
        --output runs/variants --data prefeval:tune --data demo:train --data devset/style-tune.jsonl
    .venv/bin/python benchmarks/reward_variants.py --output runs/variants --summary   # the table, from the reports
    .venv/bin/python benchmarks/reward_variants.py --output runs/variants --combine   # the `all` weightings

`prefeval:tune` is the 7 development topics methods were chosen on; `prefeval:unseen` the 3 set aside before
anything was tuned (`random.Random(20).sample` of the 10 sorted topics), looked at once at the end. Variants
are registered here under `x-…` names; the kept ones are `zero-shot` (alignx.eval.zero_shot). A cell already in
--output is not scored again. PrefEval is read from $ALIGNX_PREFEVAL_ROOT.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from alignx.eval import zero_shot
from alignx.eval.rewards import REWARDS, register
from alignx.eval.terms import RESPONSE, Reward, RewardContext, Role, Term
from alignx.personas import Persona, PersonaView
from alignx.prompts import UNIVERSAL_SYSTEM, Messages, ica_evaluation_messages, universal_messages

P = Persona
PREFEVAL_TOPICS = {
    "tune": "education_learning_styles,lifestyle_beauty,pet_ownership,shop_fashion,shop_motors,travel_activities,"
            "travel_restaurant",
    "unseen": "entertain_games,entertain_shows,lifestyle_fit",
}


def chat(*turns: tuple[str, str]) -> Messages:
    """The universal system message, then the given (role, text) turns."""
    return [{"role": "system", "content": UNIVERSAL_SYSTEM}, *({"role": r, "content": t} for r, t in turns)]


def unique(texts) -> list[str]:
    return list(dict.fromkeys(texts))


def contrast(plus: Messages, minus: Messages, labels: tuple[str, str]) -> list[Term]:
    return [Term(1.0, Role.POLICY, plus, labels[0]), Term(-1.0, Role.POLICY, minus, labels[1])]


# ---------------------------------------------------------------- PAIR


def posts_examples(post: str, items: list[tuple[str, str]]) -> Messages:
    """The examples layout with each example under the post it answered (an example seen twice shown once)."""
    blocks = "".join(f"{i}. *Post:*\n{q}\n\n*Response:*\n{a}\n\n" for i, (q, a) in enumerate(unique(items), 1))
    return chat(("user", f"{zero_shot.EXAMPLES_HEADER}{blocks}***Task***\n\n**Post:**\n{post}\n\n***Response:***\n\n"))


def pair_plain(ctx: RewardContext) -> list[Term]:
    """The PAIR reward shipped before: all chosen against all rejected texts as examples, pooled."""
    pairs = ctx.view.pairs
    return contrast(zero_shot.examples_messages(ctx.post, [p.chosen for p in pairs]),
                    zero_shot.examples_messages(ctx.post, [p.rejected for p in pairs]), ("chosen", "rejected"))


def pair_posts(ctx: RewardContext) -> list[Term]:
    """Pooled examples, each under the post it answered."""
    pairs = ctx.view.pairs
    return contrast(posts_examples(ctx.post, [(p.prompt, p.chosen) for p in pairs]),
                    posts_examples(ctx.post, [(p.prompt, p.rejected) for p in pairs]), ("chosen", "rejected"))


def pair_items(ctx: RewardContext) -> list[Term]:
    """Evidence per item: the mean over the choices of each one's chosen-against-rejected example contrast."""
    items = unique((p.chosen, p.rejected) for p in ctx.view.pairs)
    return [term for i, (c, r) in enumerate(items, 1) for term in (
        Term(1.0 / len(items), Role.POLICY, zero_shot.examples_messages(ctx.post, [c]), f"chosen {i}"),
        Term(-1.0 / len(items), Role.POLICY, zero_shot.examples_messages(ctx.post, [r]), f"rejected {i}"))]


def ugc_examples(ctx: RewardContext) -> list[Term]:
    """The UGC reward shipped before: the comments as examples against the universal prompt."""
    return contrast(zero_shot.examples_messages(ctx.post, [c.comment for c in ctx.view.ugc]),
                    universal_messages(ctx.post), ("comments as examples", "universal"))


def turns(pairs, side: str, post: str) -> Messages:
    """Each history item as an earlier exchange: the user asks its post, the assistant answers with `side`."""
    items = unique((p.prompt, getattr(p, side)) for p in pairs)
    return chat(*(t for prompt, text in items for t in (("user", prompt), ("assistant", text))), ("user", post))


def pair_turns(ctx: RewardContext) -> list[Term]:
    return contrast(turns(ctx.view.pairs, "chosen", ctx.post), turns(ctx.view.pairs, "rejected", ctx.post),
                    ("chosen turns", "rejected turns"))


# ---------------------------------------------------------------- UGC, DEMO, stated: what the user said


def said(prefix: str, post: str) -> Messages:
    return chat(("user", f"{prefix}\n\n{post}"))


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


def ugc_items(ctx: RewardContext) -> list[Term]:
    """Evidence per item: the mean over the user's texts of the lift of each text said alone before the question."""
    texts = unique(c.comment for c in ctx.view.ugc)
    return [*(Term(1.0 / len(texts), Role.POLICY, said(t, ctx.post), f"own text {i}") for i, t in enumerate(texts, 1)),
            Term(-1.0, Role.POLICY, chat(("user", ctx.post)), "question alone")]


def pair_items_posts(ctx: RewardContext) -> list[Term]:
    """Evidence per item, each example under the post it answered."""
    items = unique((p.prompt, p.chosen, p.rejected) for p in ctx.view.pairs)
    return [term for i, (q, c, r) in enumerate(items, 1) for term in (
        Term(1.0 / len(items), Role.POLICY, posts_examples(ctx.post, [(q, c)]), f"chosen {i}"),
        Term(-1.0 / len(items), Role.POLICY, posts_examples(ctx.post, [(q, r)]), f"rejected {i}"))]


def pair_items_turns(ctx: RewardContext) -> list[Term]:
    """Evidence per item, each as one earlier exchange."""
    items = unique((p.prompt, p.chosen, p.rejected) for p in ctx.view.pairs)
    return [term for i, (q, c, r) in enumerate(items, 1) for term in (
        Term(1.0 / len(items), Role.POLICY, chat(("user", q), ("assistant", c), ("user", ctx.post)), f"chosen {i}"),
        Term(-1.0 / len(items), Role.POLICY, chat(("user", q), ("assistant", r), ("user", ctx.post)),
             f"rejected {i}"))]


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
                    universal_messages(ctx.post), ("released prompt", "universal"))


def channel(ctx: RewardContext, evidence: str, label: str) -> list[Term]:
    """r(y) = log π(the user's evidence | the post, y as the assistant's answer): the evidence is the user's
    next message, the same text for every response."""
    return [Term(1.0, Role.POLICY, chat(("user", ctx.post), ("assistant", RESPONSE)), label, evidence=evidence)]


def stated_channel(ctx: RewardContext) -> list[Term]:
    return channel(ctx, ctx.view.stated, "stated after the response")


VARIANTS = {
    "x-pair-plain": (pair_plain, P.PAIR), "x-pair-posts": (pair_posts, P.PAIR), "x-pair-turns": (pair_turns, P.PAIR),
    "x-pair-items": (pair_items, P.PAIR), "x-pair-items-posts": (pair_items_posts, P.PAIR),
    "x-pair-items-turns": (pair_items_turns, P.PAIR), "x-ugc-examples": (ugc_examples, P.UGC),
    "x-ugc-items": (ugc_items, P.UGC),
    "x-ugc-turns": (ugc_turns, P.UGC), "x-stated-said": (stated_said, P.STATED),
    "x-stated-system": (stated_system, P.STATED), "x-stated-turn": (stated_turn, P.STATED),
    "x-stated-ica": (stated_ica, P.STATED), "x-stated-channel": (stated_channel, P.STATED),
}
for name, (fn, persona) in VARIANTS.items():
    if name not in REWARDS:
        register(Reward(name, fn.__doc__ or name, fn, uses_reference=False, personas=(persona,)))


def cells(args):
    from alignx.eval.settings import EvalSettings

    for data in args.data:
        for persona in args.personas:
            for reward in args.rewards or ["dpo", "zero-shot", *(n for n, (_, p) in VARIANTS.items()
                                                                    if p.value == persona)]:
                try:
                    yield data, EvalSettings(persona=persona, reward=reward, reference="none")
                except ValueError as e:
                    print(f"skip {reward} × {persona}: {e}", file=sys.stderr)


def cell_path(output: Path, data: str, settings) -> Path:
    name = data.replace("/", "_").replace(":", "-").replace(",", "+")
    return output / f"{name}__{settings.persona}__{settings.reward}.json"


def run(args) -> None:
    from alignx import registry
    from alignx.eval.evaluator import Evaluator, load_scored
    from alignx.eval.results import write_report
    from alignx.personas import PersonaError

    policy = load_scored(args.model, progress=True, dtype=args.dtype, batch_size=args.batch_size)
    evaluator = Evaluator(policy)
    loaded: dict[str, list] = {}
    for data, settings in cells(args):
        path = cell_path(args.output, data, settings)
        if path.exists():
            continue
        name, _, split = data.partition(":")
        split = PREFEVAL_TOPICS.get(split, split) if name == "prefeval" else split
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
    parser.add_argument("--rewards", nargs="+", help="Only these rewards (default: dpo, zero-shot and the variants).")
    parser.add_argument("--model", default="default")
    parser.add_argument("--dtype", default="bf16")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--summary", action="store_true", help="Print the table from the reports in --output.")
    parser.add_argument("--combine", action="store_true", help="Print the `all` weightings from the PrefEval reports.")
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    if args.combine:
        combine(args.output)
        return
    if not args.summary:
        run(args)
    summary(args.output)


def summary(output: Path) -> None:
    """Each cell's pairwise and multiple-choice accuracy with 95% intervals, as scored (the sum of the
    response's token log-probs) and length-normalized (the reward divided by the response's tokens, EOS
    included), and its paired difference from persona lift (`dpo`) on the same records."""
    import numpy as np

    from alignx import models
    from alignx.eval.stats import bootstrap_ci, question_verdicts

    tokenizer = models.load_tokenizer(models.resolve("default"))
    lengths: dict[str, int] = {}

    def length(text: str) -> int:
        if text not in lengths:
            lengths[text] = len(tokenizer(text, add_special_tokens=False)["input_ids"]) + 1
        return lengths[text]

    def interval(values) -> str:
        low, high = bootstrap_ci(list(values), 1000, 0)
        return f"{np.mean(values):.3f} [{low:.2f}, {high:.2f}]"

    def cost(rows) -> float:
        """Tokens a fresh prefix-sharing scorer runs per record (padding aside): each distinct prompt once, each
        distinct (prompt, response) once; a channel term's scored text is its evidence."""
        prompts: set[str] = set()
        pairs: set[tuple[str, str]] = set()
        for e in rows:
            for t in e["terms"]:
                for y in (e["chosen"], e["rejected"]):
                    prompt = t["prompt"].replace("{response}", y) if "evidence" in t else t["prompt"]
                    prompts.add(prompt)
                    pairs.add((prompt, t.get("evidence", y)))
        total = sum(len(tokenizer(p, add_special_tokens=False)["input_ids"]) + 1 for p in prompts)
        return (total + sum(length(y) for _, y in pairs)) / len(rows)

    for path in sorted(output.glob("*.json")):
        rows = json.loads(path.read_text())["examples"]
        lift_path = path.with_name(path.name.rsplit("__", 1)[0] + "__dpo.json")
        lift = np.array([e["correct"] for e in json.loads(lift_path.read_text())["examples"]], dtype=float)
        tokens = cost(rows)
        for label, correct in (("sum", [e["correct"] for e in rows]),
                               ("norm", [e["reward_chosen"] / length(e["chosen"]) >
                                         e["reward_rejected"] / length(e["rejected"]) for e in rows])):
            text = f"{path.stem:55s} {label:4s} {interval(correct)}"
            if mc := question_verdicts(rows, correct):
                text += f"  mc {interval(mc)}"
            diff = np.asarray(correct, dtype=float) - lift  # paired: the same records, resampled together
            rng = np.random.default_rng(0)
            means = diff[rng.integers(0, len(diff), size=(1000, len(diff)))].mean(axis=1)
            low, high = np.percentile(means, [2.5, 97.5])
            print(text + f"  vs lift {diff.mean():+.3f} [{low:+.2f}, {high:+.2f}]  tok/rec {tokens:.0f}")


def combine(output: Path, data: str = "prefeval-tune") -> None:
    """`all` from the parts: Σ_part w · (the part's shipped zero-shot reward) per record, from the saved
    reports of one data set (every part was scored on the same records in the same order)."""
    import itertools

    from alignx.eval.stats import question_verdicts

    reports = {part: json.loads((output / f"{data}__{part}__zero-shot.json").read_text())["examples"]
               for part in ("pair", "ugc", "stated", "demo")}
    margins = {part: [e["reward_chosen"] - e["reward_rejected"] for e in rows] for part, rows in reports.items()}
    first = reports["pair"]
    for weights in itertools.product((1, 0), (0, 0.25, 0.5, 1), (0, 0.25, 0.5, 1), (0, 0.5, 1)):
        if not any(weights):
            continue
        correct = [sum(w * margins[p][i] for w, p in zip(weights, margins, strict=True)) > 0
                   for i in range(len(first))]
        mc = question_verdicts(first, correct)
        print(f"pair {weights[0]} ugc {weights[1]} stated {weights[2]} demo {weights[3]}: "
              f"{sum(correct) / len(correct):.3f}  mc {sum(mc) / len(mc):.3f}")


if __name__ == "__main__":
    main()
