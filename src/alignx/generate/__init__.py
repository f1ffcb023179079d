"""Personalized generation: one response per record (or N samples) from the evaluation prompts.

`config` holds the settings, `files` the output format (JSONL + sidecar, resumable), `best_of` N candidates
ranked by a personalized reward, and `command` ties them together as `alignx generate`, generating through
`alignx.generation` (a local transformers model, batched, or any OpenAI-compatible server).
"""
