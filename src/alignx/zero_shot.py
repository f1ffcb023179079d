"""Zero-training personalized rewards: persona evidence a model that was never trained on personas can use.

A small untrained model barely reads "*Chosen:*" / "*Rejected:*" labels or instructions; what moves its
log-likelihood is which texts sit in its context (it continues in their style and content). So these
rewards contrast two contexts that differ only in the user's evidence, r(y) = log π(y | context A) −
log π(y | context B), and compare r(chosen) with r(rejected). docs/rewards.md has each formula and its
figures on the development set.
"""

from __future__ import annotations

from alignx.personas import Persona, PersonaView
from alignx.prompts import UNIVERSAL_SYSTEM, Messages, pba_messages, universal_messages
from alignx.rewards import Reward, RewardContext, Role, Term, register
from alignx.space import parse_profile, render_direction

EXAMPLES_HEADER = "***Examples of responses this person likes***\n\n"


def examples_messages(post: str, examples: list[str], *, posts: list[str] | None = None) -> Messages:
    """The universal task with example responses in front of it (and the posts they answered, if given)."""
    blocks = []
    for i, text in enumerate(examples, 1):
        context = f"*Post:*\n{posts[i - 1]}\n\n*Response:*\n" if posts else ""
        blocks.append(f"{i}. {context}{text}\n\n")
    user = f"{EXAMPLES_HEADER}{''.join(blocks)}***Task***\n\n**Post:**\n{post}\n\n***Response:***\n\n"
    return [{"role": "system", "content": UNIVERSAL_SYSTEM}, {"role": "user", "content": user}]


def dialogue_messages(post: str, turns: list[tuple[str, str]]) -> Messages:
    """The universal task after earlier turns in which the assistant answered other posts with `turns`'
    responses: the model continues in the manner of "its own" previous answers."""
    history = [m for q, a in turns for m in ({"role": "user", "content": q}, {"role": "assistant", "content": a})]
    task = universal_messages(post)
    return [task[0], *history, task[1]]


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


def pair_dialogue(ctx: RewardContext, view: PersonaView) -> list[Term]:
    """log π(y | earlier turns answered with the user's chosen responses) − log π(y | with their rejected ones)."""
    return [Term(1.0, Role.POLICY, dialogue_messages(ctx.post, [(p.prompt, p.chosen) for p in view.pairs]),
                 "chosen turns"),
            Term(-1.0, Role.POLICY, dialogue_messages(ctx.post, [(p.prompt, p.rejected) for p in view.pairs]),
                 "rejected turns")]


def ugc_dialogue(ctx: RewardContext, view: PersonaView) -> list[Term]:
    """log π(y | earlier turns answered with the user's own comments) − log π(y | no earlier turns)."""
    return [Term(1.0, Role.POLICY, dialogue_messages(ctx.post, [(c.prompt, c.comment) for c in view.ugc]),
                 "comment turns"),
            Term(-1.0, Role.POLICY, universal_messages(ctx.post), "universal")]


def pair_contrast(ctx: RewardContext, view: PersonaView, *, with_posts: bool) -> list[Term]:
    """log π(y | the user's chosen responses as examples) − log π(y | their rejected ones)."""
    posts = [p.prompt for p in view.pairs] if with_posts else None
    return [Term(1.0, Role.POLICY, examples_messages(ctx.post, [p.chosen for p in view.pairs], posts=posts),
                 "chosen examples"),
            Term(-1.0, Role.POLICY, examples_messages(ctx.post, [p.rejected for p in view.pairs], posts=posts),
                 "rejected examples")]


def pair_itemwise(ctx: RewardContext, view: PersonaView) -> list[Term]:
    """The mean over history items of log π(y | chosen_i as the example) − log π(y | rejected_i)."""
    weight = 1.0 / len(view.pairs)
    terms = []
    for i, p in enumerate(view.pairs, 1):
        terms.append(Term(weight, Role.POLICY, examples_messages(ctx.post, [p.chosen]), f"chosen example {i}"))
        terms.append(Term(-weight, Role.POLICY, examples_messages(ctx.post, [p.rejected]), f"rejected example {i}"))
    return terms


def ugc_lift(ctx: RewardContext, view: PersonaView, *, with_posts: bool) -> list[Term]:
    """log π(y | the user's own comments as examples) − log π(y | no examples)."""
    posts = [c.prompt for c in view.ugc] if with_posts else None
    return [Term(1.0, Role.POLICY, examples_messages(ctx.post, [c.comment for c in view.ugc], posts=posts),
                 "comments as examples"),
            Term(-1.0, Role.POLICY, universal_messages(ctx.post), "universal")]


def demo_lift(ctx: RewardContext, view: PersonaView) -> list[Term]:
    """log π(y | the user's description before the task) − log π(y | the task alone)."""
    user = universal_messages(ctx.post)
    described = [user[0], {"role": "user", "content": f"***About the user***\n\n{view.demographic}\n\n"
                                                       f"{user[1]['content']}"}]
    return [Term(1.0, Role.POLICY, described, "description"), Term(-1.0, Role.POLICY, user, "universal")]


def profile_contrast(ctx: RewardContext, view: PersonaView) -> list[Term]:
    """log π(y | PBA prompt, profile) − log π(y | PBA prompt, the profile negated); a profile that is not
    made of dimension labels is contrasted with the universal prompt instead."""
    negated = negated_profile(view.profile)
    reference = (pba_messages(ctx.post, negated), "negated profile") if negated else (
        universal_messages(ctx.post), "universal")
    return [Term(1.0, Role.POLICY, pba_messages(ctx.post, view.profile), "profile"),
            Term(-1.0, Role.POLICY, *reference)]


# ---------------------------------------------------------------- rewards


def zero_shot_terms(ctx: RewardContext, *, with_posts: bool = False, itemwise: bool = False,
                    dialogue: bool = False) -> list[Term]:
    """Every part of the persona the view shows contributes its contrast; the terms add up."""
    view, terms = ctx.view, []
    if ctx.persona is Persona.PROFILE:
        return profile_contrast(ctx, view)
    if view.ugc:
        terms += ugc_dialogue(ctx, view) if dialogue else ugc_lift(ctx, view, with_posts=with_posts)
    if view.pairs:
        if dialogue:
            terms += pair_dialogue(ctx, view)
        else:
            terms += pair_itemwise(ctx, view) if itemwise else pair_contrast(ctx, view, with_posts=with_posts)
    if view.demographic:
        terms += demo_lift(ctx, view)
    return terms


HISTORY_PERSONAS = (Persona.UGC, Persona.PAIR, Persona.DEMO, Persona.PROFILE, Persona.ALL)

register(Reward("zero-shot", "contrast of the user's evidence: chosen vs rejected examples (PAIR), own comments "
                "vs none (UGC), description vs none (DEMO), profile vs its negation (PROFILE)",
                zero_shot_terms, uses_reference=False, personas=HISTORY_PERSONAS))
register(Reward("zero-shot-posts", "zero-shot with each example shown under the post it answered",
                lambda ctx: zero_shot_terms(ctx, with_posts=True), uses_reference=False, personas=HISTORY_PERSONAS))
register(Reward("zero-shot-dialogue", "zero-shot with the evidence as earlier chat turns the assistant answered",
                lambda ctx: zero_shot_terms(ctx, dialogue=True), uses_reference=False, personas=HISTORY_PERSONAS))
register(Reward("zero-shot-itemwise", "zero-shot with PAIR evidence gathered one history item at a time",
                lambda ctx: zero_shot_terms(ctx, itemwise=True), uses_reference=False, personas=HISTORY_PERSONAS))
