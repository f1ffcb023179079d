"""The paper's analyses as commands (`alignx analyze ...`): accuracy against history size, controllability
of the profile, and generalisation to preference dimensions unseen in training. Each writes DIR/<name>.json
and DIR/<name>.png; docs/analysis.md defines every number."""
