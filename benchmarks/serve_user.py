"""What a new user gets from `alignx serve`: four feedback choices that prefer the short answer, then questions
through the official `openai` client, personalized and universal, with each answer's latency.

Starts `alignx serve` (the embedded model, its shipped defaults, bf16 where the CPU has native bf16) on a temp
SQLite file, prints the two questions' answers side by side, then times 10 questions each way, interleaved, and
prints the p50 of each and their ratio. Options after `--` go to `alignx serve` (e.g. `-- --steer 0 --best-of 4`
for the previous default).

    OMP_NUM_THREADS=2 python benchmarks/serve_user.py
    OMP_NUM_THREADS=2 python benchmarks/serve_user.py -- --steer 0
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from openai import OpenAI
from serve_load import Replica

# (post, chosen, rejected): the user picks the short, plain answer every time.
FEEDBACK = [
    ("My bike tyre is flat. What do I do?", "Patch kit. Five minutes.",
     "Pneumatic tyres were patented by John Boyd Dunlop in 1888, and since then cyclists have debated the merits "
     "of patching against replacing inner tubes, a discussion that touches on rubber chemistry, valve standards "
     "and the history of road surfaces."),
    ("How long should I boil an egg?", "Seven minutes for a jammy yolk.",
     "Egg cookery is a subject of surprising depth: the proteins of the white and the yolk set at different "
     "temperatures, altitude changes the boiling point, and chefs from Escoffier onwards have argued about "
     "starting in cold or boiling water."),
    ("Should I take an umbrella today?", "Yes, rain after four.",
     "Forecasting has improved greatly since the first numerical weather models of the 1950s; today's ensembles "
     "combine satellite, radar and station data, and a probability of precipitation describes the chance of "
     "measurable rain at a point over a period."),
    ("What's a good name for a cat?", "Miso.",
     "Naming a pet draws on many traditions: some owners choose names from literature or mythology, others from "
     "food or the animal's colouring, and surveys of veterinary records show how fashions in pet names follow "
     "those in children's names."),
]
SHOWN = ["How do I make rice?", "What should I pack for a weekend trip?"]
TIMED = SHOWN + ["How do I clean a cast iron pan?", "What is a good stretch for a stiff back?",
                 "How often should I water a cactus?", "How do I remove a coffee stain?",
                 "What should I cook for a quick dinner?", "How do I fall asleep faster?",
                 "How do I keep bread fresh?", "What is a simple way to save money each month?"]


def ask(client: OpenAI, question: str, personalize: bool) -> tuple[str, float, int, dict]:
    """(answer, seconds, completion tokens, the response's `alignx` extension)."""
    start = time.perf_counter()
    response = client.chat.completions.create(model="default", messages=[{"role": "user", "content": question}],
                                              extra_body={"personalize": personalize})
    seconds = time.perf_counter() - start
    return (response.choices[0].message.content, seconds, response.usage.completion_tokens,
            (response.model_extra or {}).get("alignx", {}))


def main() -> None:
    argv = sys.argv[1:]
    serve_options = argv[argv.index("--") + 1:] if "--" in argv else []
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default=None, help="--dtype for alignx serve (default: bf16 where native)")
    parser.add_argument("--json", default=None, help="Also write the figures to this JSON file.")
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    from alignx.models import cpu_has_native_bf16

    dtype = args.dtype or ("bf16" if cpu_has_native_bf16() else "fp32")
    admin = secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{Path(tmp) / 'memory.db'}"
        server = Replica(db, admin, Path(tmp) / "serve.log", "--dtype", dtype, *serve_options)
        try:
            user = httpx.post(f"{server.base}/v1/users", json={"name": "short answers"},
                              headers={"Authorization": f"Bearer {admin}"}).json()
            for post, chosen, rejected in FEEDBACK:
                httpx.post(f"{server.base}/v1/users/{user['user_id']}/feedback",
                           json={"prompt": post, "chosen": chosen, "rejected": rejected},
                           headers={"Authorization": f"Bearer {user['api_key']}"}).raise_for_status()
            client = OpenAI(base_url=f"{server.base}/v1", api_key=user["api_key"], timeout=600)
            ask(client, "Hello!", True)  # warm-up: the first request pays one-time costs
            print(f"alignx serve {' '.join(serve_options) or '(defaults)'}, --dtype {dtype}; "
                  f"{len(FEEDBACK)} feedback choices preferring the short answer\n")
            for question in SHOWN:
                for personalize in (True, False):
                    text, seconds, tokens, meta = ask(client, question, personalize)
                    extra = {k: meta[k] for k in ("steer", "copies", "best_of") if k in meta}
                    print(f"[{'personalized' if personalize else 'universal'}] {question}  "
                          f"({seconds:.2f} s, {tokens} tokens{', ' + json.dumps(extra) if extra else ''})")
                    print(f"  {text!r}\n")
            times: dict[str, list[float]] = {"personalized": [], "universal": []}
            tokens: dict[str, list[int]] = {"personalized": [], "universal": []}
            for question in TIMED:
                for personalize, side in ((True, "personalized"), (False, "universal")):
                    _, seconds, n, _ = ask(client, question, personalize)
                    times[side].append(seconds)
                    tokens[side].append(n)
        finally:
            server.stop()
    p50 = {side: float(np.median(t)) for side, t in times.items()}
    figures = {"dtype": dtype, "serve_options": serve_options, "requests": len(TIMED), "p50_s": p50,
               "mean_tokens": {side: float(np.mean(t)) for side, t in tokens.items()},
               "ratio": p50["personalized"] / p50["universal"]}
    print(f"p50 over {len(TIMED)} requests: personalized {p50['personalized']:.2f} s "
          f"({figures['mean_tokens']['personalized']:.0f} tokens on average), universal {p50['universal']:.2f} s "
          f"({figures['mean_tokens']['universal']:.0f} tokens): ratio {figures['ratio']:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
