"""What a reward is made of: weighted log-likelihood terms, each scored under the policy or the reference.

Every reward is r(y) = Σ_k w_k · log π_k(y | prompt_k); a `Reward` is a small function from a record's persona
(`RewardContext`) to its `Term`s, and whoever uses it (the evaluator, best-of-N) only scores them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from alignx.eval.scoring import ScoreRequest
from alignx.personas import Persona, PersonaView
from alignx.prompts import Messages, PromptKind


class Role(str, Enum):
    POLICY = "policy"
    REFERENCE = "reference"


RESPONSE = "\x00response\x00"  # where a channel term's messages hold the response being rewarded
_EVIDENCE = "\x00evidence\x00"


@dataclass(frozen=True)
class Term:
    """One w · log π(text | prompt) of a reward, scored under the model `role` names.

    A plain term scores the response y after its prompt: log π(y | messages). A *channel* term (`evidence` set)
    scores the user's own evidence after a conversation in which y is the assistant's answer:
    log π(evidence | messages with y in place of RESPONSE), the evidence being the user's next message. Every
    response is then judged by how well it explains what the user said, on the same scored text.
    """

    weight: float
    role: Role
    messages: Messages
    label: str  # what this prompt is, for reports: "persona", "universal", "chosen examples", ...
    evidence: str | None = None

    def requests(self, render: Callable[[Messages], str], responses: Sequence[str]) -> list[ScoreRequest]:
        """What to score for `responses`: one request with all of them, or for a channel term one per response."""
        if self.evidence is None:
            return [ScoreRequest(render(self.messages), tuple(responses))]
        return [ScoreRequest(self.channel_prompt(render, y), (self.evidence,)) for y in responses]

    def logps(self, answers: Sequence[tuple[float, ...]]) -> list[float]:
        """log π of each response's scored text, from the answers to `requests` (in their order)."""
        return list(answers[0]) if self.evidence is None else [answer[0] for answer in answers]

    def prompt(self, render: Callable[[Messages], str], requests: Sequence[ScoreRequest]) -> str:
        """The prompt string for reports, from this term's `requests`: a plain term's own prompt, a channel
        term's conversation with `{response}` where each response goes."""
        return requests[0].prompt if self.evidence is None else self.channel_prompt(render, "{response}")

    def channel_prompt(self, render: Callable[[Messages], str], response: str) -> str:
        """The rendered conversation with `response` as the assistant's answer, up to where the user's next
        message (the evidence) begins."""
        filled = [{**m, "content": m["content"].replace(RESPONSE, response)} for m in self.messages]
        return render([*filled, {"role": "user", "content": _EVIDENCE}]).split(_EVIDENCE)[0]


@dataclass(frozen=True)
class RewardContext:
    """What a reward reads besides the record: the persona view, its prompt kind and the reference mode."""

    post: str
    view: PersonaView
    persona: Persona
    prompt: PromptKind
    reference: str  # none | base | raw | a model spec
    beta: float


RewardFn = Callable[[RewardContext], list[Term]]


@dataclass(frozen=True)
class Reward:
    name: str
    description: str
    terms: RewardFn
    uses_reference: bool  # False: scored by the policy alone; --reference must stay 'none'
    personas: tuple[Persona, ...]  # persona types it is defined for
