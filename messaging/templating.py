"""Message templates: content stored per message type, with ``{{ variable }}`` placeholders.

Placeholders are filled by plain substitution, not by Django's template engine: a message is
not HTML (no escaping wanted) and staff-written templates must not be able to run tags.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError

from messaging.choices import MessageType
from messaging.providers.specs import (
    CertainlyText,
    FieldError,
    Message,
    QuickReplies,
    QuickReply,
    Text,
    Trigger,
    message_errors,
)

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_BRACES = re.compile(r"\{\{|\}\}")

#: The keys a template's content may hold, per message type. Documents are not templated:
#: their file is chosen at send time.
CONTENT_KEYS: dict[str, tuple[str, ...]] = {
    MessageType.TEXT: ("text",),
    MessageType.QUICK_REPLIES: ("text", "buttons"),
    MessageType.TRIGGER: ("text", "command", "data"),
    MessageType.CERTAINLY_TEXT: ("text",),
}
BUTTON_KEYS = ("title", "payload", "payload_seen_by_user", "payload_hidden", "image_url")


class MissingVariables(ValueError):
    """The recipient lacks attributes the template uses."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        listed = ", ".join(f"“{name}”" for name in names)
        super().__init__(f"The recipient has no value for {listed}.")


def placeholders(value: Any) -> set[str]:
    """Every placeholder name used anywhere in the content."""
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value))
    if isinstance(value, dict):
        return set().union(*(placeholders(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(placeholders(item) for item in value))
    return set()


def fill(value: Any, variables: dict[str, Any]) -> Any:
    """Substitute placeholders throughout the content; raise if any is missing."""
    missing = sorted(name for name in placeholders(value) if variables.get(name) in (None, ""))
    if missing:
        raise MissingVariables(missing)
    return _fill(value, variables)


def _fill(value: Any, variables: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda match: str(variables[match.group(1)]), value)
    if isinstance(value, dict):
        return {key: _fill(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, variables) for item in value]
    return value


def message_from_content(message_type: str, content: dict[str, Any]) -> Message:
    """Build the message spec a template's content describes."""
    if message_type == MessageType.QUICK_REPLIES:
        buttons = tuple(
            QuickReply(
                title=str(button.get("title", "")),
                payload=str(button.get("payload", "")),
                payload_seen_by_user=str(button.get("payload_seen_by_user", "")),
                payload_hidden=bool(button.get("payload_hidden", False)),
                image_url=str(button.get("image_url", "")),
            )
            for button in content.get("buttons", [])
        )
        return QuickReplies(text=str(content.get("text", "")), buttons=buttons)
    if message_type == MessageType.TRIGGER:
        return Trigger(
            text=str(content.get("text", "")),
            command=str(content.get("command", "")),
            data=str(content.get("data", "")),
        )
    if message_type == MessageType.CERTAINLY_TEXT:
        return CertainlyText(text=str(content.get("text", "")))
    return Text(text=str(content.get("text", "")))


def content_errors(message_type: str, content: Any) -> list[FieldError]:
    """Why this content cannot be a template of this type (empty when it can)."""
    if message_type not in CONTENT_KEYS:
        return [FieldError("message_type", "Documents cannot be templates; choose another type.")]
    if not isinstance(content, dict):
        return [FieldError("content", "Content must be a JSON object.")]
    errors = [
        FieldError("content", f"“{key}” is not a field of this message type.")
        for key in content
        if key not in CONTENT_KEYS[message_type]
    ]
    for index, button in enumerate(content.get("buttons", []) or []):
        if not isinstance(button, dict):
            errors.append(FieldError(f"buttons.{index}", "Each button must be a JSON object."))
            continue
        errors += [
            FieldError(f"buttons.{index}", f"“{key}” is not a button field.")
            for key in button
            if key not in BUTTON_KEYS
        ]
    if errors:
        return errors
    leftover = _BRACES.findall(PLACEHOLDER.sub("", _all_text(content)))
    if leftover:
        errors.append(
            FieldError("content", "Write placeholders as {{ name }}, with a simple name inside.")
        )
    # Placeholders stand in for text the recipient supplies, so a sample value must pass.
    sample = _fill(content, dict.fromkeys(placeholders(content), "x"))
    return errors + message_errors(message_from_content(message_type, sample))


def _all_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "\n".join(_all_text(item) for item in value.values())
    if isinstance(value, list):
        return "\n".join(_all_text(item) for item in value)
    return ""


def validate_template_content(message_type: str, content: Any) -> None:
    """Model-level check: raise a ValidationError naming every problem."""
    errors = content_errors(message_type, content)
    if errors:
        raise ValidationError({"content": [f"{error.field}: {error.message}" for error in errors]})


def render(message_type: str, content: dict[str, Any], variables: dict[str, Any]) -> Message:
    """The message a template becomes for one recipient."""
    return message_from_content(message_type, fill(content, variables))
