"""Chat messages as the model host takes them: one set of rules for every door (prompt imports, generation jobs,
replies, and the chat API), so a prompt that imports is a prompt that generates.

A prompt is a string (one user message) or a non-empty list of `{role, content}` objects with nothing else in them;
roles are system, user or assistant; the text holds no NUL (PostgreSQL cannot store it) and no lone surrogate (it
cannot be encoded as UTF-8, so every page, export and model call would fail on it); and the last message is the
user's, since that is what a model answers.
"""

from django.core.exceptions import ValidationError

from core.values import text_check

ROLES = ("system", "user", "assistant")


def messages_validate(value, *, name: str = "prompt") -> list[dict]:
    """The messages as a fresh `[{role, content}]` list, or a ValidationError that says what is wrong."""
    if value is None:
        raise ValidationError(f"{name} is missing")
    if isinstance(value, str):
        value = [{"role": "user", "content": value}]
    if not isinstance(value, list) or not value:
        raise ValidationError(f"{name} must be a string or a non-empty list of {{role, content}} messages")
    messages = []
    for index, message in enumerate(value):
        if not isinstance(message, dict) or set(message) != {"role", "content"}:
            raise ValidationError(f"{name}[{index}] must be an object with exactly the keys role and content")
        if message["role"] not in ROLES:
            raise ValidationError(f"{name}[{index}].role must be one of {', '.join(ROLES)}, got {message['role']!r}")
        content = text_check(message["content"], f"{name}[{index}].content")
        messages.append({"role": message["role"], "content": content})
    if not any(message["content"].strip() for message in messages):
        raise ValidationError(f"{name} is empty")
    if messages[-1]["role"] != "user":
        raise ValidationError(f"{name}: the last message must be the user's, for the model to answer it")
    return messages


def storable(text: str) -> str:
    """Model text as the database can hold it: PostgreSQL refuses NUL characters in text."""
    return text.replace("\x00", "\ufffd")
