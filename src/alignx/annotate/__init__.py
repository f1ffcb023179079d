"""Annotators: behaviour (a comment on a post, a choice between two responses) -> a 90-value direction.

`base` is the interface every backend meets, `spec` picks a backend from a spec string
(`local:DIR`, `openai:MODEL`), `local` is the learned inferencer, `openai_backend` any
OpenAI-compatible chat server (what it asks and how it reads the answer: `chat_prompt`), `cache` the
answers already paid for, `fill` the pass over a dataset.
"""
