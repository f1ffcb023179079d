"""Evaluation: everything between a persona and a figure with its interval.

- `scoring`: log π(response | prompt) for batches of requests, with prefix sharing and a cache;
- `terms`, `rewards`, `zero_shot`: how a persona becomes a reward (each reward beside the protocol it implements);
- `settings`: the options of an evaluation, declared once;
- `evaluator`: scores records and gives `EvalResult`s;
- `stats`: bootstrap intervals, the exact McNemar test, multiple-choice verdicts;
- `results`: the JSON report and the terminal table.

`alignx.report` (the Table-3 command) and `alignx.analyze` consume these and hold no statistics of their own.
"""
