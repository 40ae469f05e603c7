"""What auditors and staff see of a message's life: the timeline, live updates and replies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse

from messaging import services
from messaging.providers.specs import Address, QuickReplies, QuickReply, Text
from tests.webhook_helpers import entry, envelope, post

pytestmark = pytest.mark.django_db
CUSTOMER = Address("appCustomerId", "70023")
POLL = {"HTTP_HX_REQUEST": "true"}


def quick_reply_message(bot, alice):
    buttons = (QuickReply("Yes", "yes"), QuickReply("No", "no"))
    return services.send(
        bot=bot, address=CUSTOMER, message=QuickReplies("Continue?", buttons), sender=alice
    )


def test_timeline_lists_each_event_with_its_time_and_the_pressed_button(
    client, hooked_bot, sandbox, alice
):
    record = quick_reply_message(hooked_bot, alice)
    mid = record.message_id
    post(
        client,
        hooked_bot,
        envelope(
            entry("messageEcho", {"app_id": 1, "is_echo": True, "mid": mid}),
            entry("delivery", {"mids": [mid], "watermark": 1}),
            entry("reads", {"mids": [mid], "watermark": 1}),
            entry("message", {"mid": mid, "text": f"[{mid}]:no"}),
        ),
    )
    client.force_login(alice)

    page = client.get(reverse("messaging:history-detail", args=[mid])).content.decode()

    timeline = page[page.index('data-testid="timeline"') :]
    kinds = [part.split('"')[0] for part in timeline.split('data-kind="')[1:]]
    assert kinds == ["sent", "delivered", "read", "button"]
    assert 'data-testid="pressed-button">No</strong>' in timeline


def test_detail_polls_while_news_may_come_and_stops_with_286(client, hooked_bot, sandbox, alice):
    record = quick_reply_message(hooked_bot, alice)
    client.force_login(alice)
    url = reverse("messaging:history-detail", args=[record.message_id]) + "?live=1"

    waiting = client.get(url, **POLL)
    post(
        client,
        hooked_bot,
        envelope(
            entry("reads", {"mids": [record.message_id], "watermark": 1}),
            entry("message", {"mid": record.message_id, "text": f"[{record.message_id}]:yes"}),
        ),
    )
    done = client.get(url, **POLL)

    assert waiting.status_code == 200
    assert 'hx-trigger="every 2s' in waiting.content.decode()
    assert done.status_code == 286
    assert "hx-trigger" not in done.content.decode()


def test_history_list_stops_polling_when_every_row_is_final(client, dlg_bot, sandbox, alice):
    services.send(
        bot=dlg_bot, address=Address("appCustomerId", "404404"), message=Text("x"), sender=alice
    )
    client.force_login(alice)

    response = client.get(reverse("messaging:history") + "?live=1", **POLL)

    assert response.status_code == 286


def test_old_messages_are_not_watched(client, hooked_bot, sandbox, alice):
    record = services.send(bot=hooked_bot, address=CUSTOMER, message=Text("x"), sender=alice)
    with connection.cursor() as cursor:  # the model refuses to rewrite history, by design
        cursor.execute(
            "UPDATE messaging_outboundmessage SET created_at = %s WHERE id = %s",
            [record.created_at - timedelta(hours=2), record.pk],
        )
    client.force_login(alice)

    response = client.get(reverse("messaging:history") + "?live=1", **POLL)

    assert response.status_code == 286


def test_replies_list_shows_presses_and_typed_text_filterable_by_recipient(
    client, hooked_bot, sandbox, alice
):
    record = quick_reply_message(hooked_bot, alice)
    mid = record.message_id
    post(
        client,
        hooked_bot,
        envelope(
            entry("message", {"mid": mid, "text": f"[{mid}]:yes"}),
            entry("message", {"mid": mid, "text": "Can you call me?"}),
            entry("message", {"mid": "elsewhere", "text": "Hello"}, customer="70021", dlg_id="1"),
        ),
    )
    client.force_login(alice)

    everything = client.get(reverse("messaging:replies")).content.decode()
    filtered = client.get(reverse("messaging:replies"), {"recipient": "70021"}).content.decode()

    assert "Pressed <strong>Yes</strong>" in everything
    assert "“Can you call me?”" in everything
    assert "Hello" not in everything  # not a reply to one of alice's messages
    assert filtered.count('data-testid="reply-row"') == 0
