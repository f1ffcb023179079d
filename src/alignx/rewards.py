"""Personalized rewards: how a persona becomes r(response | post, persona).

Every reward here is a weighted sum of log-likelihoods, r(y) = Σ_k w_k · log π_k(y | prompt_k), where
each term names which model scores it (the policy, or the reference chosen by `--reference`) and the
chat messages of its prompt. A reward is a small function from a record's persona to its terms; whoever
uses it (evaluation, `alignx.evaluate.rewards_of` for ranking any candidate responses) only scores them.
An example is correct when r(chosen) > r(rejected).

`dpo` is the released protocol, β·(log π_policy(y | persona prompt) − log π_ref(y | reference prompt)).
The zero-training rewards are in `alignx.zero_shot`; docs/rewards.md gives each one's formula.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from alignx.errors import OptionError
from alignx.personas import Persona, PersonaView
from alignx.prompts import Messages, PromptKind, persona_messages, universal_messages
from alignx.scoring import ScoreRequest


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


def dpo_terms(ctx: RewardContext) -> list[Term]:
    """β·log π(y | persona prompt) − β·log π_ref(y | reference prompt); `raw` drops the second term, `none`
    scores the universal prompt under the same model (persona lift), other references read the persona."""
    policy = Term(ctx.beta, Role.POLICY, persona_messages(ctx.post, ctx.view, ctx.prompt), "persona")
    if ctx.reference == "raw":
        return [policy]
    if ctx.reference == "none":
        return [policy, Term(-ctx.beta, Role.POLICY, universal_messages(ctx.post), "universal")]
    return [policy, Term(-ctx.beta, Role.REFERENCE, policy.messages, "persona")]


REWARDS: dict[str, Reward] = {}


def register(reward: Reward) -> None:
    if reward.name in REWARDS:
        raise ValueError(f"reward {reward.name!r} is registered twice")
    REWARDS[reward.name] = reward


register(Reward("dpo", "β(log π_policy − log π_ref), the released protocol (reference by --reference)",
                dpo_terms, uses_reference=True, personas=tuple(Persona)))


def get(name: str) -> Reward:
    """The reward `name`; OptionError listing the rewards when unknown."""
    import alignx.zero_shot  # noqa: F401  (registers the zero-training rewards; it imports this module)

    if name not in REWARDS:
        raise OptionError(f"unknown --reward {name!r}; choose one of {', '.join(REWARDS)}")
    return REWARDS[name]
