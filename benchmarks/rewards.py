"""Every reward × persona type on one or more data sets: accuracy with its 95% interval and the tokens the
scorer ran per record, with the embedded model (or --model). The table behind docs/rewards.md.

    .venv/bin/python benchmarks/rewards.py --data demo:train --data devset/style-tune.jsonl
    .venv/bin/python benchmarks/rewards.py --data demo:test --rewards dpo zero-shot --personas pair

Each (data, reward, persona) cell runs alone on a fresh cache, so its token count is what that reward costs
by itself; `dpo` is persona lift (reference: the same model without the persona).
"""

from __future__ import annotations

import argparse
import json
import sys


def cells(args: argparse.Namespace):
    from alignx.eval.settings import EvalSettings

    for data in args.data:
        for persona in args.personas:
            for reward in args.rewards:
                try:
                    yield data, EvalSettings(persona=persona, reward=reward, reference="none")
                except ValueError as e:  # a reward not defined for this persona type
                    print(f"skip {reward} × {persona}: {e}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", action="append", required=True, help="NAME[:SPLIT], repeatable.")
    parser.add_argument("--rewards", nargs="+", default=["dpo", "zero-shot"])
    parser.add_argument("--personas", nargs="+", default=["ugc", "pair", "demo", "profile", "all"])
    parser.add_argument("--model", default="default")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--output", help="Write every cell's summary as JSON lines here.")
    args = parser.parse_args()

    from rich.console import Console

    from alignx import registry
    from alignx.eval.evaluator import Evaluator, load_scored
    from alignx.eval.results import results_table
    from alignx.eval.scoring import CachedScorer

    policy = load_scored(args.model, progress=False)
    results = []
    for data, settings in cells(args):
        name, _, split = data.partition(":")
        records = registry.load(name, split or None, args.limit)
        policy.scorer = CachedScorer(policy.scorer.scorer)  # a fresh cache: each cell's own cost
        result = Evaluator(policy).run(records, settings, source=name,
                                       provenance={"data": name, "split": split or None, "limit": args.limit})
        results.append(result)
        print(f"{data} {settings.reward} {settings.persona}: {result.accuracy:.3f} "
              f"[{result.ci95[0]:.2f}, {result.ci95[1]:.2f}] {result.tokens / result.n:.0f} tok/rec", file=sys.stderr)
        if args.output:
            with open(args.output, "a") as f:
                f.write(json.dumps({k: v for k, v in result.to_dict().items() if k != "examples"}) + "\n")
    Console().print(results_table(results, title=f"rewards × persona types, model {args.model}"))


if __name__ == "__main__":
    main()
