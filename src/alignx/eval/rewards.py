"""Personalized rewards: how a persona becomes r(response | post, persona).

Every reward is a weighted sum of log-likelihoods, r(y) = Σ_k w_k · log π_k(y | prompt_k), where
each term names which model scores it (the policy, or the reference chosen by `--reference`) and the
chat messages of its prompt. A reward is a small function from a record's persona to its terms; whoever
uses it (evaluation, `alignx.eval.evaluator.rewards_of` for ranking any candidate responses) only scores them.
An example is correct when r(chosen) > r(rejected).

`dpo` is the released protocol, β·(log π_policy(y | persona prompt) − log π_ref(y | reference prompt)).
The zero-training rewards are in `alignx.eval.zero_shot`; docs/rewards.md gives each one's formula.
"""

from __future__ import annotations

from alignx.errors import OptionError
from alignx.eval.terms import Reward, RewardContext, Role, Term
from alignx.eval.zero_shot import ZERO_SHOT
from alignx.personas import Persona
from alignx.prompts import persona_messages, universal_messages


def dpo_terms(ctx: RewardContext) -> list[Term]:
    """β·log π(y | persona prompt) − β·log π_ref(y | reference prompt); `raw` drops the second term, `none`
    scores the universal prompt under the same model (persona lift), other references read the persona."""
    policy = Term(ctx.beta, Role.POLICY, persona_messages(ctx.post, ctx.view, ctx.prompt), "persona")
    if ctx.reference == "raw":
        return [policy]
    if ctx.reference == "none":
        return [policy, Term(-ctx.beta, Role.POLICY, universal_messages(ctx.post), "universal")]
    return [policy, Term(-ctx.beta, Role.REFERENCE, policy.messages, "persona")]


DPO = Reward("dpo", "β(log π_policy − log π_ref), the released protocol (reference by --reference)",
             dpo_terms, uses_reference=True, personas=tuple(Persona))
REWARDS: dict[str, Reward] = {reward.name: reward for reward in (DPO, ZERO_SHOT)}


def register(reward: Reward) -> None:
    """Add a reward under its name (benchmarks/reward_variants.py adds the variants it compares)."""
    if reward.name in REWARDS:
        raise ValueError(f"reward {reward.name!r} is registered twice")
    REWARDS[reward.name] = reward


def get(name: str) -> Reward:
    """The reward `name`; OptionError listing the rewards when unknown."""
    if name not in REWARDS:
        raise OptionError(f"unknown --reward {name!r}; choose one of {', '.join(REWARDS)}")
    return REWARDS[name]
