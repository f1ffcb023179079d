"""Personalized generation: one response per record (or N samples) from the evaluation prompts.

`config` holds the settings, `files` the output format (JSONL + sidecar, resumable), `local` batched
transformers generation, `upstream` any OpenAI-compatible server, `best_of` N candidates ranked by a
personalized reward, and `command` ties them together as `alignx generate`.
"""
