"""Templates fill placeholders from recipient attributes and refuse what cannot be sent."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from messaging.providers.specs import QuickReplies, QuickReply, Text, Trigger
from messaging.templating import MissingVariables, render, validate_template_content


def test_placeholders_are_filled_with_spacing_tolerated() -> None:
    message = render(
        "text",
        {"text": "Dear {{first_name}}, {{ balance }} TL"},
        {
            "first_name": "Ayşe",
            "balance": 120,
        },
    )

    assert message == Text("Dear Ayşe, 120 TL")


def test_a_missing_variable_is_an_error_never_an_empty_string() -> None:
    with pytest.raises(MissingVariables) as caught:
        render("text", {"text": "Dear {{ first_name }} {{ last_name }}"}, {"first_name": "A"})

    assert caught.value.names == ["last_name"]
    assert "“last_name”" in str(caught.value)


def test_quick_reply_and_trigger_templates_render_every_field() -> None:
    buttons = [{"title": "Pay {{ amount }}", "payload": "pay-{{ amount }}", "payload_hidden": True}]

    quick = render("quick_replies", {"text": "Go?", "buttons": buttons}, {"amount": 5})
    trigger = render(
        "trigger", {"text": "Tap", "command": "Open", "data": "{id:{{ id }}}"}, {"id": 7}
    )

    assert quick == QuickReplies("Go?", (QuickReply("Pay 5", "pay-5", payload_hidden=True),))
    assert trigger == Trigger("Tap", "Open", "{id:7}")


@pytest.mark.parametrize(
    ("message_type", "content", "problem"),
    [
        ("text", {"text": ""}, "text: This field is required."),
        ("text", {"body": "x"}, "“body” is not a field"),
        ("document", {"text": "x"}, "Documents cannot be templates"),
        ("text", {"text": "Hi {{ first name }}"}, "Write placeholders as {{ name }}"),
        (
            "quick_replies",
            {"text": "x", "buttons": [{"title": "a", "payload": "b"}] * 12},
            "between 1 and 11",
        ),
        (
            "quick_replies",
            {"text": "x", "buttons": [{"title": "a", "payload": "b", "image_url": "javascript:x"}]},
            "http:// or https://",
        ),
    ],
)
def test_template_content_is_validated_per_type(message_type, content, problem) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_template_content(message_type, content)

    assert problem in str(caught.value)
