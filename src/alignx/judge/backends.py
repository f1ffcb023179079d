"""The judges: `openai:MODEL` (any OpenAI-compatible chat server) and `local:SPEC` (any alignx model spec);
`reward:SPEC` reads no chat at all and lives in `alignx.judge.reward_judge`.

Both take judging chats and yield (index, judgment) with judgment = {"answers": [raw text, ...], "verdict":
"A" | "B" | "tie" | None, "error": reason or None, ...}, JSON-ready for the cache and the report.
The openai judge asks at temperature 0 and re-asks a bounded number of times while the answer does not read;
the local judge reads no text at all: it compares the next-token log-probabilities of the answer words right
after the assistant prefix, so it is deterministic and always answers.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from alignx.errors import UserError
from alignx.judge.prompt import Messages, correction_messages, parse_verdict, prompt_version
from alignx.openai_server import DEFAULT_KEY_ENV, ServerBackend, answer_text, answered
from alignx.reask import Unreadable, ask_until_read

# The words a local judge may answer, with the spellings whose first token counts for each.
ANSWER_WORDS = {"A": ("A", " A"), "B": ("B", " B"), "tie": ("tie", " tie", "Tie", " Tie")}


class JudgeError(UserError):
    """A judge that cannot be used at all (no key, unreachable, no such model); one line naming the spec."""


class Judge(Protocol):
    spec: str
    stats: Counter[str]

    @property
    def identity(self) -> str: ...

    def judge(self, chats: Sequence[Messages]) -> Iterator[tuple[int, dict[str, Any]]]: ...

    def close(self) -> None: ...


JUDGE_KINDS = ("openai", "local", "reward")


def split_judge_spec(spec: str) -> tuple[str, str]:
    """`openai:gpt-4o-mini` -> ("openai", "gpt-4o-mini"); `local:default` -> ("local", "default")."""
    from alignx.errors import OptionError

    kind, sep, rest = spec.partition(":")
    if not sep or kind not in JUDGE_KINDS or not rest:
        raise OptionError(f"--judge {spec!r}: write openai:MODEL (an OpenAI-compatible server, see --judge-url), "
                          "local:SPEC (an alignx model spec: default, a hub id or a folder) or reward:SPEC (the "
                          "zero-shot reward of the held-out evidence under that model)")
    return kind, rest


# ---------------------------------------------------------------- openai


class OpenAIJudge(ServerBackend):
    """One chat call per ordered pair at temperature 0; `connect` builds a checked one."""

    error, url_option = JudgeError, "--judge-url"

    @property
    def identity(self) -> str:
        return f"judge:openai:{self.model}@{self.url}#prompt-{prompt_version()}"

    def judge(self, chats: Sequence[Messages]) -> Iterator[tuple[int, dict[str, Any]]]:
        yield from answered(self._judge_one, chats, workers=self.workers, name="alignx-judge")

    def close(self) -> None:
        self.server.close()

    def _judge_one(self, messages: Messages) -> dict[str, Any]:
        """Ask, re-asking up to `retries` times while the answer does not read; then unparsed, with the answers."""
        asked = ask_until_read(self._chat, messages, read_verdict, lambda text, _: correction_messages(messages, text),
                               retries=self.retries, stats=self.stats, unreadable="unparsed")
        return {"answers": asked.answers, "verdict": asked.value, "error": asked.error}

    def _chat(self, messages: Messages) -> tuple[str, int]:
        """The answer at temperature 0 (the judge counts no tokens)."""
        self.stats.add("requests")
        return answer_text(self.server.create(messages=messages, temperature=0)), 0


def read_verdict(text: str) -> str:
    """The verdict an answer names; Unreadable when it names none."""
    verdict = parse_verdict(text)
    if verdict is None:
        raise Unreadable("unparsed: no A, B or tie in the answer")
    return verdict


# ---------------------------------------------------------------- local


class LocalJudge:
    """An alignx model read at the answer position: the verdict is the answer word with the highest
    next-token probability (summed over its spellings' first tokens). No sampling, no text to parse."""

    def __init__(self, model_spec: str, *, spec: str, device: str | None = None, dtype: str | None = None,
                 batch_size: int = 8, max_prompt_tokens: int = 8192 - 16):
        from alignx.models import pick_device, pick_dtype, resolve

        self.resolved = resolve(model_spec)
        self.device, self.dtype = pick_device(device), dtype
        self.torch_dtype = pick_dtype(self.device, dtype)
        self.spec, self.batch_size, self.max_prompt_tokens = spec, batch_size, max_prompt_tokens
        self.stats: Counter[str] = Counter()
        self._loaded: Any = None

    @classmethod
    def load(cls, model_spec: str, *, spec: str, device: str | None = None, dtype: str | None = None,
             batch_size: int = 8) -> LocalJudge:
        """A judge on `model_spec`; the weights load at the first judgment, so a fully cached rerun never loads
        them."""
        return cls(model_spec, spec=spec, device=device, dtype=dtype, batch_size=batch_size)

    @property
    def loaded(self) -> Any:
        if self._loaded is None:
            from alignx import models

            self._loaded = models.load(self.resolved, device=str(self.device), dtype=self.dtype)
            self.answer_tokens = answer_token_ids(self._loaded.tokenizer,
                                                  self.render([{"role": "user", "content": "x"}]))
        return self._loaded

    def render(self, messages: Messages) -> str:
        from alignx.prompts import render

        return render(self.loaded.tokenizer, messages)

    @property
    def identity(self) -> str:
        return f"judge:local:{model_identity(self.resolved, self.torch_dtype)}#prompt-{prompt_version()}"

    def judge(self, chats: Sequence[Messages]) -> Iterator[tuple[int, dict[str, Any]]]:
        from alignx.eval.scoring import encode_prompt

        if not chats:
            return
        tokenizer = self.loaded.tokenizer
        encoded = [encode_prompt(tokenizer, self.render(chat), self.max_prompt_tokens) for chat in chats]
        order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i]))  # longest first: OOM shows at once
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            for index, logprobs in zip(batch, self._answer_logprobs([encoded[i] for i in batch]), strict=True):
                verdict = max(logprobs, key=logprobs.get)
                yield index, {"answers": [verdict], "verdict": verdict, "error": None,
                              "logprobs": {k: round(v, 4) for k, v in logprobs.items()}}

    def _answer_logprobs(self, rows: list[list[int]]) -> list[dict[str, float]]:
        """Per row, log P(answer word) at the position after the row's last token."""
        import torch

        device = self.loaded.device
        width = max(map(len, rows))
        pad = self.loaded.tokenizer.pad_token_id or 0
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):  # left padding: every row's last token sits at the last position
            ids[i, width - len(row):] = torch.tensor(row, dtype=torch.long)
            mask[i, width - len(row):] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)  # (B, T): each row counts from its first real token
        ids, mask, positions = ids.to(device), mask.to(device), positions.to(device)
        with torch.inference_mode():
            logits = self.loaded.model(input_ids=ids, attention_mask=None if bool(mask.all()) else mask,
                                       position_ids=positions, use_cache=False, logits_to_keep=1).logits  # (B, 1, V)
        logp = torch.log_softmax(logits[:, -1].float(), dim=-1)  # (B, V)
        self.stats["requests"] += len(rows)
        self.stats["tokens"] += int(mask.sum())
        out = []
        for row in logp:
            out.append({word: float(torch.logsumexp(row[list(tokens)], dim=0))
                        for word, tokens in self.answer_tokens.items()})
        return out

    def close(self) -> None:
        pass


def answer_token_ids(tokenizer: Any, prefix: str) -> dict[str, tuple[int, ...]]:
    """For each answer word, the first tokens of its spellings as the tokenizer encodes them after `prefix`
    (the rendered assistant prefix). A first token that is only a fragment of its word ("T" of "Tie") is
    left out when the word has a whole-word token; a token two words would share is an error."""
    base = tokenizer(prefix, add_special_tokens=False)["input_ids"]
    found: dict[str, tuple[int, ...]] = {}
    for word, spellings in ANSWER_WORDS.items():
        whole, fragments = [], []
        for spelling in spellings:
            ids = tokenizer(prefix + spelling, add_special_tokens=False)["input_ids"]
            if ids[:len(base)] == base and len(ids) > len(base):
                first, rest = ids[len(base)], ids[len(base) + 1:]
            else:  # the spelling merged with the prefix's last token: encode it alone
                alone = tokenizer(spelling, add_special_tokens=False)["input_ids"]
                first, rest = alone[0], alone[1:]
            (fragments if rest else whole).append(first)
        found[word] = tuple(dict.fromkeys(whole or fragments))
    seen: dict[int, str] = {}
    for word, tokens in found.items():
        for token in tokens:
            if token in seen:
                raise JudgeError(f"the tokenizer gives {seen[token]!r} and {word!r} the same first token {token}; "
                                 "this model cannot be a local judge")
            seen[token] = word
    return found


def model_identity(resolved: Any, torch_dtype: Any) -> str:
    """A resolved model spec, its weights folder's fingerprint (and its base's, for an adapter) and its dtype."""
    dtype = str(torch_dtype).removeprefix("torch.")
    base = f"+{_folder_fingerprint(models_path(resolved.base))}" if resolved.is_adapter else ""
    return f"{resolved.spec}@{_folder_fingerprint(resolved.path)}{base}:{dtype}"


def models_path(spec: str | None) -> str:
    from alignx.models import resolve

    return resolve(spec).path if spec else ""


def _folder_fingerprint(path: str) -> str:
    """A short hash of a weights folder's files (names, sizes, times); a hub id stands for itself."""
    folder = Path(path)
    if not folder.is_dir():
        return path
    entries = sorted((p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in folder.iterdir() if p.is_file())
    return f"{path}~{hashlib.sha256(repr(entries).encode()).hexdigest()[:12]}"


def load_judge(spec: str, *, url: str | None = None, key_env: str = DEFAULT_KEY_ENV, workers: int = 8,
               timeout: float = 60.0, retries: int = 2, device: str | None = None, dtype: str | None = None,
               batch_size: int = 8) -> Judge:
    """The openai or local judge `spec` names, checked: JudgeError (one line naming the spec) when it cannot be
    used. (A reward judge is `alignx.judge.reward_judge.RewardJudge`.)"""
    import os

    kind, rest = split_judge_spec(spec)
    if kind == "local":
        return LocalJudge.load(rest, spec=spec, device=device, dtype=dtype, batch_size=batch_size)
    return OpenAIJudge.connect(rest, spec=spec, base_url=url, api_key=os.environ.get(key_env), key_env=key_env,
                               workers=workers, timeout=timeout, retries=retries)
