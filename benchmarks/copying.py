"""How often generated answers copy their prompt (`alignx.generate.copying`: 8 consecutive tokens of the prompt
that are not in the post), from `alignx generate` output files. For a best-of-N file it also gives the share
among all candidates, among the persona-prompt candidates, and what the reward alone would have picked. Usage:

    .venv/bin/python benchmarks/copying.py OUT.jsonl [OUT2.jsonl ...]
"""

from __future__ import annotations

import sys

from alignx.generate.files import read_generations
from alignx.judge.copy_rate import row_copies


def share(flags: list[bool]) -> str:
    return f"{sum(flags)}/{len(flags)} ({sum(flags) / len(flags):.1%})" if flags else "none"


def main(paths: list[str]) -> None:
    for path in paths:
        meta, rows = read_generations(path)
        s = meta["settings"]
        print(f"{path}: persona {s['persona']}, best-of {s['best_of']}, max {s['max_new_tokens']} new tokens, "
              f"temperature {s['temperature']}, {len(rows)} rows")
        written = [bool(row_copies(r)) for r in rows if "messages" in r]  # a steered row: its evidence too
        print(f"  written responses copying their prompt: {share(written)}")
        if s["best_of"] > 1:
            copies = [c for r in rows for c in r["copies"]]
            persona = [c for r in rows for c, src in zip(r["copies"], r["sources"], strict=True) if src == "persona"]
            by_reward = [r["copies"][max(range(len(r["rewards"])), key=lambda i: (r["rewards"][i], -i))]
                         for r in rows]
            print(f"  all candidates: {share(copies)}; persona-prompt candidates: {share(persona)}")
            print(f"  the reward's first pick alone (no copy filter): {share(by_reward)}")
            print(f"  picked from: persona {sum(r['chosen_from'] == 'persona' for r in rows)}, "
                  f"universal {sum(r['chosen_from'] == 'universal' for r in rows)}")


if __name__ == "__main__":
    main(sys.argv[1:])
