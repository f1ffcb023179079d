"""Request bodies of the HTTP API, with the limits and checks that turn bad input into a 422 naming the field.

Memory bodies forbid unknown fields (a typo is reported, not ignored); the chat body accepts
OpenAI's other fields and forwards them to an upstream server.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator

from alignx.space import DIRECTION_VALUES, N_DIMENSIONS, direction_problem

MAX_TEXT = 32_000  # characters of one text field; the whole body is capped separately (max_body_bytes)
MAX_MESSAGES = 256

Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


def _check_direction(value: Any) -> Any:
    # Checked on the raw JSON so `true` is not silently read as 1.
    problem = direction_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


Direction = Annotated[list[float], BeforeValidator(_check_direction)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewUser(_Body):
    name: Name


class FeedbackIn(_Body):
    prompt: Text
    chosen: Text
    rejected: Text
    direction: Direction | None = Field(None, description="90 values in {0, 0.5, 1} explaining the choice")


class ContentIn(_Body):
    prompt: Text
    comment: Text
    direction: Direction | None = None


class DemographicIn(_Body):
    text: Text


class ProfileEdit(_Body):
    set: dict[str, float | None] = Field(description='{"<index>": 0 | 0.5 | 1, or null to clear the override}')

    @field_validator("set")
    @classmethod
    def _indices_and_values(cls, value: dict[str, float | None]) -> dict[str, float | None]:
        if not value:
            raise ValueError('name at least one dimension, e.g. {"set": {"16": 1}}')
        for key, v in value.items():
            if not key.isdigit() or not 0 <= int(key) < N_DIMENSIONS:
                raise ValueError(f"key {key!r} is not a dimension index 0..{N_DIMENSIONS - 1}")
            if v is not None and v not in DIRECTION_VALUES:
                raise ValueError(f"dimension {key}: value {v!r} is not one of 0, 0.5, 1 (or null to clear)")
        return {str(int(k)): v for k, v in value.items()}

    def values(self) -> dict[int, float | None]:
        return {int(k): v for k, v in self.set.items()}


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # `name` and the like are accepted and ignored

    role: Literal["system", "developer", "user", "assistant"]
    content: Annotated[str, StringConstraints(max_length=MAX_TEXT)] | list[TextPart]

    def text(self) -> str:
        return self.content if isinstance(self.content, str) else "".join(p.text for p in self.content)

    def plain(self) -> dict[str, str]:
        return {"role": "system" if self.role == "developer" else self.role, "content": self.text()}


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # other OpenAI fields go to an upstream server as they are

    model: str = "default"
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    n: Literal[1] = 1
    user: str | None = Field(None, description="with the admin token: the user id whose memory to use")
    personalize: bool = Field(True, description="false: the universal answer (no persona), for comparison")
