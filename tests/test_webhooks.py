"""DLG's webhook: signatures, the envelope, one status model that never goes backwards,
and presses told apart from typed text."""

from __future__ import annotations

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messaging import services
from messaging.choices import EventType, Status
from messaging.models import MessageEvent, OutboundMessage, WebhookBatch
from messaging.providers.specs import Address, QuickReplies, QuickReply, Text
from tests.webhook_helpers import entry, envelope, post, sign

pytestmark = pytest.mark.django_db
CUSTOMER = Address("appCustomerId", "70023")


def sent(bot, sandbox, alice, message=None) -> OutboundMessage:
    return services.send(bot=bot, address=CUSTOMER, message=message or Text("Hi"), sender=alice)


@pytest.mark.parametrize("form", ["hex", "HEX", "base64", "sha1=hex", "sha1=base64"])
def test_each_signature_form_is_accepted_and_recorded(client, hooked_bot, form):
    body = envelope(entry("messageEcho", {"app_id": 1, "is_echo": True, "mid": "nobody"}))

    response = post(client, hooked_bot, body, signature=sign(body, form))

    assert response.status_code == 200
    expected = {"HEX": "hex"}.get(form, form)
    assert WebhookBatch.objects.get().signature_form == expected


def test_tampered_body_is_refused(client, hooked_bot):
    body = envelope(entry("reads", {"mids": ["x"], "watermark": 1}))
    signature = sign(body)

    response = post(client, hooked_bot, body.replace(b"x", b"y"), signature=signature)

    assert response.status_code == 403
    assert not WebhookBatch.objects.exists()


def test_missing_signature_or_wrong_secret_is_refused(client, hooked_bot):
    body = envelope()

    assert post(client, hooked_bot, body, signature=None).status_code == 403
    assert post(client, hooked_bot, body, signature=sign(body, secret="other")).status_code == 403


def test_other_methods_and_oversized_bodies_are_refused(client, hooked_bot):
    url = reverse("dlg-webhook", args=[hooked_bot.pk])

    assert client.get(url).status_code == 405
    big = b"{" + b" " * (256 * 1024) + b"}"
    assert post(client, hooked_bot, big).status_code == 413


def test_lifecycle_moves_forward_and_ignores_late_or_repeated_events(
    client, hooked_bot, sandbox, alice
):
    record = sent(hooked_bot, sandbox, alice)
    mid = record.message_id
    read = envelope(entry("reads", {"mids": [mid], "watermark": 1}))
    delivered = envelope(entry("delivery", {"mids": [mid], "watermark": 1}))
    echo = envelope(entry("messageEcho", {"app_id": 1614379680, "is_echo": True, "mid": mid}))

    for body in (read, delivered, echo, read):
        assert post(client, hooked_bot, body).status_code == 200

    record.refresh_from_db()
    assert record.status == Status.READ
    kinds = sorted(record.events.values_list("kind", flat=True))
    assert kinds == ["delivered", "read", "sent"]
    assert WebhookBatch.objects.filter(replay=True).count() == 1


def test_replayed_batch_changes_nothing(client, hooked_bot, sandbox, alice):
    record = sent(hooked_bot, sandbox, alice)
    body = envelope(entry("delivery", {"mids": [record.message_id], "watermark": 1}))

    post(client, hooked_bot, body)
    response = post(client, hooked_bot, body)

    assert response.json() == {"received": 1, "new": 0}
    assert MessageEvent.objects.count() == 1


def test_watermark_moves_earlier_messages_to_the_same_recipient(client, hooked_bot, sandbox, alice):
    first, second = sent(hooked_bot, sandbox, alice), sent(hooked_bot, sandbox, alice)
    later = sent(hooked_bot, sandbox, alice)
    other = services.send(
        bot=hooked_bot, address=Address("appCustomerId", "70021"), message=Text("x"), sender=alice
    )
    watermark = int(second.created_at.timestamp() * 1000) + 1

    post(
        client,
        hooked_bot,
        envelope(entry("reads", {"mids": [second.message_id], "watermark": watermark})),
    )

    statuses = dict(OutboundMessage.objects.values_list("message_id", "status"))
    assert statuses[first.message_id] == Status.READ
    assert statuses[second.message_id] == Status.READ
    assert statuses[later.message_id] == Status.ACCEPTED
    assert statuses[other.message_id] == Status.ACCEPTED
    assert first.events.get().via_watermark


def test_press_of_a_real_button_is_linked_with_its_title(client, hooked_bot, sandbox, alice):
    buttons = (QuickReply("Yes please", "yes"), QuickReply("No", "no"))
    record = sent(hooked_bot, sandbox, alice, QuickReplies("Continue?", buttons))
    text = f"[{record.message_id}]:yes"

    post(client, hooked_bot, envelope(entry("message", {"mid": record.message_id, "text": text})))

    event = record.events.get()
    assert (event.kind, event.payload, event.button_title) == (
        EventType.BUTTON,
        "yes",
        "Yes please",
    )


def test_text_that_only_looks_like_a_press_is_a_typed_reply(client, hooked_bot, sandbox, alice):
    record = sent(hooked_bot, sandbox, alice)  # a plain text: it had no buttons
    text = f"[{record.message_id}]:yes"

    post(client, hooked_bot, envelope(entry("message", {"mid": record.message_id, "text": text})))

    event = record.events.get()
    assert (event.kind, event.text, event.button_title) == (EventType.REPLY, text, "")


def test_unknown_event_kinds_and_message_ids_are_stored_not_dropped(client, hooked_bot):
    body = envelope(
        entry("typing", {"on": True}),
        entry("delivery", {"mids": ["not-ours"], "watermark": 1}),
    )

    response = post(client, hooked_bot, body)

    assert response.status_code == 200
    kinds = sorted(MessageEvent.objects.values_list("kind", "mid"))
    assert kinds == [("delivered", "not-ours"), ("unknown", "")]
    assert MessageEvent.objects.filter(message=None).count() == 2


def test_unknown_outcome_is_resolved_by_the_first_event(
    client, hooked_bot, sandbox, alice, settings
):
    settings.CONSOLE_READ_TIMEOUT = 0.3
    sandbox.set_faults(timeout_rate=1.0, timeout_hold_s=1)
    record = sent(hooked_bot, sandbox, alice)
    assert record.status == Status.UNKNOWN

    post(
        client,
        hooked_bot,
        envelope(entry("delivery", {"mids": [record.message_id], "watermark": 1})),
    )

    record.refresh_from_db()
    assert record.status == Status.DELIVERED


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "object",
                    "entry",
                    "messaging",
                    "mids",
                    "mid",
                    "text",
                    "delivery",
                    "reads",
                    "message",
                    "messageEcho",
                    "timestamp",
                    "recipient",
                    "watermark",
                    "id",
                ]
            )
            | st.text(max_size=8),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.one_of(
        st.binary(max_size=200),
        JSONISH.map(lambda value: __import__("json").dumps(value).encode()),
        st.builds(lambda entries: envelope(*entries), st.lists(JSONISH, max_size=4)),
    )
)
def test_malformed_bodies_never_cause_a_server_error(client, hooked_bot, body):
    response = post(client, hooked_bot, body)

    assert response.status_code in (200, 400), response.content[:200]


def test_nul_characters_in_events_are_stored_safely(client, hooked_bot):
    body = envelope(entry("message", {"mid": "x\u0000", "text": "hi\u0000there"}), {"\u0000": 1})

    response = post(client, hooked_bot, body)

    assert response.status_code == 200
    reply = MessageEvent.objects.get(kind=EventType.REPLY)
    assert reply.text == "hi\ufffdthere"
