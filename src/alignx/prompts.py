"""Prompt builders: ICA, PBA, reference and universal prompts as chat messages.

The texts are those the released AlignXpert checkpoints were trained and evaluated on.
Training prompts write the task as the bare post; the released evaluation writes it as
`**Post:**` and reads UGC, PAIR and DEMO under "Historical Behavior and User Preferences".
Rendering to a string goes through the model's own chat template, in `render` only.
"""

from __future__ import annotations

from enum import Enum

from alignx.errors import OptionError, UserError
from alignx.options import parse_option
from alignx.personas import Persona, PersonaView

Messages = list[dict[str, str]]

ICA_SYSTEM = "Generate a task-specific response based on user historical behavior.\n"
PBA_SYSTEM = "Generate a task-specific response based on user preferences.\n"
ICA_EVALUATION_SYSTEM = "Generate a task-specific response based on user historical behavior and preferences.\n"
UNIVERSAL_SYSTEM = "Generate a task-specific response.\n"

UGC_HEADER = "**This person has commented on some posts:**\n\n"
PAIR_HEADER = "**This person has chosen or rejected comments on some posts:**\n\n"


class PromptKind(str, Enum):
    """How a persona is put to the model: ICA shows the history, PBA the preference profile."""

    ICA = "ica"
    PBA = "pba"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, name: str | PromptKind, option: str = "--prompt") -> PromptKind:
        return parse_option(cls, name, option)

    @classmethod
    def for_persona(cls, persona: Persona, prompt: str | PromptKind | None) -> PromptKind:
        """The prompt `persona` is read through: `prompt` if given, else PBA for a preference text (the profile,
        or the preference as the user stated it) and ICA for the history; OptionError for a pairing that cannot
        work (PBA reads a preference text, ICA does not read a profile)."""
        kind = cls.parse(prompt if prompt is not None else cls.PBA if persona in PREFERENCE_TEXTS else cls.ICA)
        if kind is cls.PBA and persona not in PREFERENCE_TEXTS:
            raise OptionError(f"--prompt pba reads a preference text; use --persona profile or stated, not {persona}")
        if kind is cls.ICA and persona is Persona.PROFILE:
            raise OptionError("--persona profile is read through the PBA prompt; use --prompt pba or leave "
                              "--prompt out")
        return kind


PREFERENCE_TEXTS = (Persona.PROFILE, Persona.STATED)  # personas that are one preference text, read by PBA


def _task(post: str, *, evaluation: bool) -> str:
    return f"**Post:**\n{post}\n\n" if evaluation else f"{post}\n\n"


def history_text(view: PersonaView) -> str:
    """The UGC block, the PAIR block and the DEMO text (when the view carries them), as released; then the
    preference as the user stated it, the "User Preferences" of the released evaluation's section title."""
    text = ""
    if view.ugc:
        text += UGC_HEADER + "".join(
            f"{i}. *Post:*\n{c.prompt}\n\n*Comment:*\n{c.comment}\n\n" for i, c in enumerate(view.ugc, 1)
        )
    if view.pairs:
        text += PAIR_HEADER + "".join(
            f"{i}. *Post:*\n{p.prompt}\n\n*Chosen:*\n{p.chosen}\n\n*Rejected:*\n{p.rejected}\n\n"
            for i, p in enumerate(view.pairs, 1)
        )
    if view.demographic:
        text += view.demographic
    if view.stated:
        text += ("\n\n" if text else "") + view.stated
    return text


def ica_training_messages(post: str, view: PersonaView) -> Messages:
    """ICA as trained: the drawn UGC and PAIR items (and DEMO when the view carries it)."""
    user = (
        f"***Task***\n\n{_task(post, evaluation=False)}"
        f"***Historical Behavior***\n\n{history_text(view)}\n\n***Response:***\n\n"
    )
    return [{"role": "system", "content": ICA_SYSTEM}, {"role": "user", "content": user}]


def pba_messages(post: str, profile: str, *, evaluation: bool = True) -> Messages:
    """PBA: the user's preference profile text in place of the history."""
    user = (
        f"***Task***\n\n{_task(post, evaluation=evaluation)}"
        f"***User Preferences***\n\n{profile}\n\n***Response:***\n\n"
    )
    return [{"role": "system", "content": PBA_SYSTEM}, {"role": "user", "content": user}]


def ica_evaluation_messages(post: str, view: PersonaView) -> Messages:
    """The ICA prompt of the released evaluation (policy and base reference alike): history and
    demographics, "historical behavior and preferences"."""
    user = (
        f"***Task***\n\n{_task(post, evaluation=True)}"
        f"***Historical Behavior and User Preferences***\n\n{history_text(view)}"
        "\n\n***Response:***\n\n"
    )
    return [{"role": "system", "content": ICA_EVALUATION_SYSTEM}, {"role": "user", "content": user}]


def universal_messages(post: str) -> Messages:
    """The same task with no persona: the baseline a persona's lift is measured against."""
    user = f"***Task***\n\n{_task(post, evaluation=True)}***Response:***\n\n"
    return [{"role": "system", "content": UNIVERSAL_SYSTEM}, {"role": "user", "content": user}]


def persona_messages(post: str, view: PersonaView, kind: PromptKind | str = PromptKind.ICA) -> Messages:
    """Evaluation messages for a persona view: PBA reads the preference text (the profile, else the stated
    preference), ICA the history; none is universal."""
    if view.is_empty:
        return universal_messages(post)
    text = view.profile or view.stated
    if PromptKind(kind) is PromptKind.PBA or (text and not (view.ugc or view.pairs or view.demographic)):
        if not text:
            raise OptionError("the PBA prompt needs a preference text; use persona 'profile' or 'stated'")
        return pba_messages(post, text)
    return ica_evaluation_messages(post, view)


class ChatTemplateError(UserError):
    """The tokenizer has no chat template to render messages with."""


def render(tokenizer, messages: Messages) -> str:
    """The prompt string a model sees: its own chat template with the assistant turn opened."""
    if not getattr(tokenizer, "chat_template", None):
        name = getattr(tokenizer, "name_or_path", "this model")
        raise ChatTemplateError(
            f"{name} has no chat template; use an instruction-tuned model or set tokenizer.chat_template"
        )
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
