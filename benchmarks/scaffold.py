"""How often generated answers echo the prompt's scaffold (section headers, "This person has chosen or
rejected"), from `alignx generate` output files. For a best-of-N file it also gives the share among all
candidates, among the persona-prompt candidates, and what the reward alone would have picked. Usage:

    .venv/bin/python benchmarks/scaffold.py OUT.jsonl [OUT2.jsonl ...]
"""

from __future__ import annotations

import sys

from alignx.generate.best_of import echoes_scaffold
from alignx.generate.files import read_generations


def share(flags: list[bool]) -> str:
    return f"{sum(flags)}/{len(flags)} ({sum(flags) / len(flags):.1%})" if flags else "none"


def main(paths: list[str]) -> None:
    for path in paths:
        meta, rows = read_generations(path)
        s = meta["settings"]
        print(f"{path}: persona {s['persona']}, best-of {s['best_of']}, max {s['max_new_tokens']} new tokens, "
              f"temperature {s['temperature']}, {len(rows)} rows")
        print(f"  written responses echoing the scaffold: {share([echoes_scaffold(r['response']) for r in rows])}")
        if s["best_of"] > 1:
            echoes = [e for r in rows for e in r["echoes"]]
            persona = [e for r in rows for e, src in zip(r["echoes"], r["sources"], strict=True) if src == "persona"]
            by_reward = [r["echoes"][max(range(len(r["rewards"])), key=lambda i: (r["rewards"][i], -i))]
                         for r in rows]
            print(f"  all candidates: {share(echoes)}; persona-prompt candidates: {share(persona)}")
            print(f"  the reward's first pick alone (no scaffold filter): {share(by_reward)}")
            print(f"  picked from: persona {sum(r['chosen_from'] == 'persona' for r in rows)}, "
                  f"universal {sum(r['chosen_from'] == 'universal' for r in rows)}")


if __name__ == "__main__":
    main(sys.argv[1:])
