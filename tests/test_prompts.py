import pytest
from conftest import make_record

from alignx.models import embedded_model_dir
from alignx.personas import persona_view
from alignx.prompts import (
    ChatTemplateError,
    ica_evaluation_messages,
    ica_training_messages,
    pba_messages,
    persona_messages,
    render,
    universal_messages,
)
from alignx.records import Record


@pytest.fixture(scope="module")
def record():
    return Record.from_dict(make_record(0))


def test_reference_prompt_matches_released_evaluation_text(record):
    system, user = ica_evaluation_messages(record.prompt, persona_view(record, "all"))
    assert system["content"] == "Generate a task-specific response based on user historical behavior and preferences.\n"
    assert user["content"] == (
        f"***Task***\n\n**Post:**\n{record.prompt}\n\n"
        "***Historical Behavior and User Preferences***\n\n"
        "**This person has commented on some posts:**\n\n"
        "1. *Post:*\nBest way to learn Spanish?\n\n*Comment:*\nDaily flashcards. Done.\n\n"
        "2. *Post:*\nIs coffee bad for you?\n\n*Comment:*\nIn moderation, no.\n\n"
        "**This person has chosen or rejected comments on some posts:**\n\n"
        "1. *Post:*\nHow to fix a flat tire?\n\n*Chosen:*\nPatch kit, five minutes.\n\n"
        "*Rejected:*\nFirst, let us consider the history of tires...\n\n"
        f"{record.demographic}\n\n***Response:***\n\n"
    )


def test_training_prompts_write_the_bare_post(record):
    view = persona_view(record, "pair")
    system, user = ica_training_messages(record.prompt, view)
    assert system["content"].startswith("Generate a task-specific response based on user historical behavior.")
    assert user["content"].startswith(f"***Task***\n\n{record.prompt}\n\n***Historical Behavior***\n\n**This person has chosen")
    assert user["content"].endswith("\n\n\n\n***Response:***\n\n")
    system, user = pba_messages(record.prompt, "Likes humor", evaluation=False)
    assert system["content"] == "Generate a task-specific response based on user preferences.\n"
    assert user["content"] == f"***Task***\n\n{record.prompt}\n\n***User Preferences***\n\nLikes humor\n\n***Response:***\n\n"


def test_persona_messages_dispatch(record):
    assert persona_messages(record.prompt, persona_view(record, "none")) == universal_messages(record.prompt)
    assert persona_messages(record.prompt, persona_view(record, "profile"))[1]["content"].count("Concise") == 1
    with pytest.raises(ValueError, match="needs a preference text"):
        persona_messages(record.prompt, persona_view(record, "ugc"), "pba")


@pytest.mark.slow  # the embedded model's tokenizer
def test_render_uses_the_models_own_template(record):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(embedded_model_dir())
    text = render(tok, universal_messages(record.prompt))
    assert text.startswith("<|im_start|>system\nGenerate a task-specific response.\n<|im_end|>")
    assert text.endswith("<|im_start|>assistant\n")
    tok.chat_template = None
    with pytest.raises(ChatTemplateError, match="has no chat template"):
        render(tok, universal_messages(record.prompt))
