"""The send service records before it calls, and records what the platform answered."""

from __future__ import annotations

import hashlib

import pytest

from messaging import services
from messaging.choices import Status
from messaging.models import OutboundMessage, Recipient
from messaging.providers.specs import Address, CertainlyText, Document, InvalidMessage, Text
from sandbox import defaults

pytestmark = pytest.mark.django_db
CUSTOMER = Address("appCustomerId", "70023")


def test_text_to_customer_70023_is_accepted_and_recorded(dlg_bot, sandbox, alice) -> None:
    recipient = Recipient.objects.create(name="Ayşe", kind="appCustomerId", value="70023")

    record = services.send(
        bot=dlg_bot, address=CUSTOMER, message=Text("Merhaba"), sender=alice, recipient=recipient
    )

    record.refresh_from_db()
    [received] = sandbox.messages()
    assert record.status == Status.ACCEPTED
    assert record.platform_recipient_id == "2074022437"
    assert record.platform_message_id == record.message_id
    assert received["body"]["message"]["messageId"] == record.message_id
    assert record.request_body == received["body"]
    assert (record.sender, record.recipient_name, record.attempts) == (alice, "Ayşe", 1)
    assert record.http_status == 200
    assert record.latency_ms is not None
    assert record.sent_at


def test_document_history_keeps_a_summary_not_the_file(dlg_bot, sandbox, alice) -> None:
    data = b"%PDF-1.7\n" + b"x" * 1000

    record = services.send(
        bot=dlg_bot, address=CUSTOMER, message=Document("statement.pdf", data), sender=alice
    )

    digest = hashlib.sha256(data).hexdigest()
    assert record.request_body["message"]["document"]["fileData"] == (
        f"<base64: {len(data)} bytes, sha256={digest}>"
    )
    assert sandbox.messages()[0]["body"]["message"]["document"]["fileName"] == "statement.pdf"


def test_platform_refusal_is_recorded_as_failed_in_plain_words(dlg_bot, sandbox, alice) -> None:
    record = services.send(
        bot=dlg_bot, address=Address("appCustomerId", "404404"), message=Text("Hi"), sender=alice
    )

    record.refresh_from_db()
    assert (record.status, record.error_code, record.http_status) == (
        Status.FAILED,
        "recipient_not_found",
        500,
    )
    assert "does not know this recipient" in record.error_message
    assert "recepient not found" in record.response_body


def test_lost_answer_is_recorded_as_unknown_not_failed(dlg_bot, sandbox, alice, settings) -> None:
    settings.CONSOLE_READ_TIMEOUT = 0.3
    sandbox.set_faults(timeout_rate=1.0, timeout_hold_s=2)

    record = services.send(bot=dlg_bot, address=CUSTOMER, message=Text("Hi"), sender=alice)

    assert (record.status, record.error_code) == (Status.UNKNOWN, "read_timeout")


def test_invalid_message_records_nothing_and_sends_nothing(dlg_bot, sandbox, alice) -> None:
    with pytest.raises(InvalidMessage):
        services.send(bot=dlg_bot, address=CUSTOMER, message=Text(""), sender=alice)

    assert OutboundMessage.objects.count() == 0
    assert sandbox.requests() == []


def test_switched_off_bot_is_refused_before_anything_is_sent(dlg_bot, sandbox, alice) -> None:
    dlg_bot.is_active = False
    dlg_bot.save()

    with pytest.raises(InvalidMessage, match="switched off"):
        services.send(bot=dlg_bot, address=CUSTOMER, message=Text("Hi"), sender=alice)

    assert sandbox.requests() == []


def test_certainly_text_is_posted_with_basic_auth(certainly_bot, sandbox, alice) -> None:
    record = services.send(
        bot=certainly_bot,
        address=Address("user_id", "c-1001"),
        message=CertainlyText("An agent will join shortly."),
        sender=alice,
    )

    [received] = sandbox.messages()
    assert record.status == Status.ACCEPTED
    assert received["body"] == {"text_message": "An agent will join shortly.", "user_id": "c-1001"}
    assert received["bot"] == defaults.DEMO_CERTAINLY_BOT_NAME


def test_a_dlg_bot_cannot_address_a_certainly_user(dlg_bot, sandbox, alice) -> None:
    with pytest.raises(InvalidMessage) as caught:
        services.send(
            bot=dlg_bot, address=Address("user_id", "c-1001"), message=Text("Hi"), sender=alice
        )

    assert "recipient" in caught.value.by_field()


def test_changed_token_takes_effect_on_the_next_send(dlg_bot, sandbox, alice) -> None:
    services.send(bot=dlg_bot, address=CUSTOMER, message=Text("one"), sender=alice)
    dlg_bot.access_token = "f" * 32
    dlg_bot.save()

    record = services.send(bot=dlg_bot, address=CUSTOMER, message=Text("two"), sender=alice)

    assert record.error_code == "wrong_token"
