"""Zero-training personalized rewards: persona evidence a model that was never trained on personas can use.

A small untrained model barely reads "*Chosen:*" / "*Rejected:*" labels or instructions; what moves its
log-likelihood is which texts sit in its context (it continues in their style and content). So these
rewards contrast two contexts that differ only in the user's evidence, r(y) = log π(y | context A) −
log π(y | context B), and compare r(chosen) with r(rejected). docs/rewards.md has each formula and its
figures on the development set.
"""

from __future__ import annotations

from alignx.personas import Persona, PersonaView
from alignx.prompts import UNIVERSAL_SYSTEM, Messages, ica_evaluation_messages, pba_messages, universal_messages
from alignx.rewards import Reward, RewardContext, Role, Term, register
from alignx.space import parse_profile, render_direction

EXAMPLES_HEADER = "***Examples of responses this person likes***\n\n"


def examples_messages(post: str, examples: list[str]) -> Messages:
    """The universal task with example responses in front of it. The posts the examples answered are left
    out: on the development set showing them cost tokens and gained nothing (docs/rewards.md)."""
    blocks = "".join(f"{i}. {text}\n\n" for i, text in enumerate(examples, 1))
    user = f"{EXAMPLES_HEADER}{blocks}***Task***\n\n**Post:**\n{post}\n\n***Response:***\n\n"
    return [{"role": "system", "content": UNIVERSAL_SYSTEM}, {"role": "user", "content": user}]


def negated_profile(profile: str) -> str | None:
    """The profile with every named pole flipped (positive <-> negative); None when the text is not made of
    the 90 dimensions' labels (a free-text profile has no negation we can trust)."""
    try:
        vector = parse_profile(profile)
    except ValueError:
        return None
    if all(v == 0.5 for v in vector):
        return None
    return render_direction([1.0 - v if v != 0.5 else 0.5 for v in vector])


# ---------------------------------------------------------------- per persona part


def pair_contrast(ctx: RewardContext) -> list[Term]:
    """log π(y | the user's chosen responses as examples) − log π(y | their rejected ones)."""
    return [Term(1.0, Role.POLICY, examples_messages(ctx.post, [p.chosen for p in ctx.view.pairs]), "chosen examples"),
            Term(-1.0, Role.POLICY, examples_messages(ctx.post, [p.rejected for p in ctx.view.pairs]),
                 "rejected examples")]


def ugc_lift(ctx: RewardContext) -> list[Term]:
    """log π(y | the user's own comments as examples) − log π(y | no examples)."""
    return [Term(1.0, Role.POLICY, examples_messages(ctx.post, [c.comment for c in ctx.view.ugc]),
                 "comments as examples"),
            Term(-1.0, Role.POLICY, universal_messages(ctx.post), "universal")]


def demo_lift(ctx: RewardContext) -> list[Term]:
    """Persona lift of the description: log π(y | the released evaluation prompt with the DEMO text) −
    log π(y | the task alone). A shorter "about the user" framing did no better on the development set."""
    described = ica_evaluation_messages(ctx.post, PersonaView(demographic=ctx.view.demographic))
    return [Term(1.0, Role.POLICY, described, "description"),
            Term(-1.0, Role.POLICY, universal_messages(ctx.post), "universal")]


def profile_contrast(ctx: RewardContext) -> list[Term]:
    """log π(y | PBA prompt, profile) − log π(y | PBA prompt, the profile negated); a profile that is not
    made of dimension labels is contrasted with the universal prompt instead."""
    negated = negated_profile(ctx.view.profile)
    reference = (pba_messages(ctx.post, negated), "negated profile") if negated else (
        universal_messages(ctx.post), "universal")
    return [Term(1.0, Role.POLICY, pba_messages(ctx.post, ctx.view.profile), "profile"),
            Term(-1.0, Role.POLICY, *reference)]


# ---------------------------------------------------------------- rewards


def zero_shot_terms(ctx: RewardContext) -> list[Term]:
    """The contrast of the strongest evidence the view shows. Choices (PAIR) come with their own
    counter-evidence, so they decide alone when present; otherwise the lifts of the comments (UGC) and the
    description (DEMO) add up. Adding the weaker lifts to PAIR lowered accuracy on the development set at
    every weight tried (docs/rewards.md)."""
    view = ctx.view
    if ctx.persona is Persona.PROFILE:
        return profile_contrast(ctx)
    if view.pairs:
        return pair_contrast(ctx)
    return (ugc_lift(ctx) if view.ugc else []) + (demo_lift(ctx) if view.demographic else [])


register(Reward("zero-shot", "contrasts of the user's own evidence under the same model: chosen vs rejected "
                "examples (PAIR), own comments vs none (UGC), description vs none (DEMO), profile vs its negation "
                "(PROFILE); ALL reads PAIR when present",
                zero_shot_terms, uses_reference=False,
                personas=(Persona.UGC, Persona.PAIR, Persona.DEMO, Persona.PROFILE, Persona.ALL)))
