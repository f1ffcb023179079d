"""Zero-training personalized rewards: persona evidence a model that was never trained on personas can use.

A small untrained model barely reads "*Chosen:*" / "*Rejected:*" labels or instructions; what moves its
log-likelihood is which texts sit in its context (it continues in their style and content). So these
rewards compare two contexts that differ only in the user's evidence, r(y) = log π(y | context A) −
log π(y | context B), and compare r(chosen) with r(rejected). Each layout was chosen by its worst accuracy
over the development sources, real users' data (PrefEval's development topics) among them; docs/rewards.md
has every variant tried, with its figures.
"""

from __future__ import annotations

from collections.abc import Sequence

from alignx.eval.terms import Reward, RewardContext, Role, Term
from alignx.personas import Persona
from alignx.prompts import UNIVERSAL_SYSTEM, Messages, pba_messages, universal_messages
from alignx.records import Choice
from alignx.space import parse_profile, render_direction

EXAMPLES_HEADER = "***Examples of responses this person likes***\n\n"


def examples_messages(post: str, examples: list[str]) -> Messages:
    """The universal task with example responses in front of it. The posts the examples answered are left
    out: showing them tied on the development data and fell under the demo test's bar (docs/rewards.md)."""
    blocks = "".join(f"{i}. {text}\n\n" for i, text in enumerate(examples, 1))
    user = f"{EXAMPLES_HEADER}{blocks}***Task***\n\n**Post:**\n{post}\n\n***Response:***\n\n"
    return [{"role": "system", "content": UNIVERSAL_SYSTEM}, {"role": "user", "content": user}]


def said_messages(post: str, said: str | None = None) -> Messages:
    """The question as a plain chat message, after what the user said about themselves (when given)."""
    return [{"role": "system", "content": UNIVERSAL_SYSTEM},
            {"role": "user", "content": f"{said}\n\n{post}" if said else post}]


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


def pair_examples(post: str, pairs: Sequence[Choice]) -> tuple[Messages, Messages]:
    """The contexts PAIR evidence is read through: the user's chosen responses as examples, and their rejected
    ones, each distinct text shown once (a PrefEval user picks one option over three: the chosen text is one
    example, not three). The zero-shot reward and steered generation both read the user this way."""
    return (examples_messages(post, list(dict.fromkeys(p.chosen for p in pairs))),
            examples_messages(post, list(dict.fromkeys(p.rejected for p in pairs))))


def pair_contrast(ctx: RewardContext) -> list[Term]:
    """log π(y | the user's chosen responses as examples) − log π(y | their rejected ones)."""
    chosen, rejected = pair_examples(ctx.post, ctx.view.pairs)
    return [Term(1.0, Role.POLICY, chosen, "chosen examples"), Term(-1.0, Role.POLICY, rejected, "rejected examples")]


def ugc_lift(ctx: RewardContext) -> list[Term]:
    """log π(y | the user's own texts, then the question, as their message) − log π(y | the question alone)."""
    texts = "\n\n".join(dict.fromkeys(c.comment for c in ctx.view.ugc))
    return [Term(1.0, Role.POLICY, said_messages(ctx.post, texts), "own texts"),
            Term(-1.0, Role.POLICY, said_messages(ctx.post), "question alone")]


def demo_lift(ctx: RewardContext) -> list[Term]:
    """log π(y | "About me:" and the description, then the question) − log π(y | the question alone)."""
    return [Term(1.0, Role.POLICY, said_messages(ctx.post, f"About me: {ctx.view.demographic}"), "description"),
            Term(-1.0, Role.POLICY, said_messages(ctx.post), "question alone")]


def stated_lift(ctx: RewardContext) -> list[Term]:
    """Persona lift of the stated preference: log π(y | PBA prompt with the user's words) − log π(y | the task
    alone). No other layout tried did better on real data (docs/rewards.md)."""
    return [Term(1.0, Role.POLICY, pba_messages(ctx.post, ctx.view.stated), "stated preference"),
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
    """The contrast of the evidence the view shows. Choices (PAIR) come with their own counter-evidence, so
    they decide alone when present: no weight of any other part added to them raised accuracy, on real or
    synthetic data. Otherwise the user's own texts and stated preference add up; the description joins only when it is
    all there is, since on real data it pulled every sum down (docs/rewards.md)."""
    view = ctx.view
    if ctx.persona is Persona.PROFILE:
        return profile_contrast(ctx)
    if view.pairs:
        return pair_contrast(ctx)
    terms = (ugc_lift(ctx) if view.ugc else []) + (stated_lift(ctx) if view.stated else [])
    return terms or (demo_lift(ctx) if view.demographic else [])


ZERO_SHOT = Reward("zero-shot", "contrasts of the user's own evidence under the same model: chosen vs rejected "
                   "examples (PAIR), own texts vs none (UGC), description vs none (DEMO), stated preference "
                   "vs none (STATED), profile vs its negation (PROFILE); ALL reads PAIR when present",
                   zero_shot_terms, uses_reference=False,
                   personas=(Persona.UGC, Persona.PAIR, Persona.DEMO, Persona.PROFILE, Persona.STATED, Persona.ALL))
