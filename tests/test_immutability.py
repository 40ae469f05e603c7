"""A sent message is evidence: what was sent, to whom and by whom never changes, its status only
moves forward, and nothing deletes it, whether through the model, a queryset or the admin."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.urls import reverse

from messaging import services
from messaging.choices import Status
from messaging.lifecycle import ImmutableHistory
from messaging.models import Bot, OutboundMessage
from messaging.providers.specs import Address, Text
from tests.roles import client_for, make_user, sender, superuser

__all__ = ["sender", "superuser"]  # fixtures used by name below

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(dlg_bot: Bot, sender: Any) -> OutboundMessage:
    """A message the platform accepted, as the compose page leaves it."""
    sent = services.send(
        bot=dlg_bot,
        address=Address("appCustomerId", "70023"),
        message=Text("Your card is ready"),
        sender=sender,
    )
    assert sent.status == Status.ACCEPTED
    return OutboundMessage.objects.get(pk=sent.pk)


def stored(record: OutboundMessage) -> dict[str, Any]:
    """Every column of the row as the database holds it now."""
    return OutboundMessage.objects.filter(pk=record.pk).values().get()


def refused(action: Any) -> None:
    """Run ``action`` expecting ImmutableHistory, in a savepoint so the test can go on."""
    with pytest.raises(ImmutableHistory), transaction.atomic():
        action()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("request_body", {"recipient": {"appCustomerId": "70023"}, "message": {"text": "Other"}}),
        ("recipient_value", "70021"),
        ("message_id", "dlgc-" + "f" * 32),
        ("summary", "Something else"),
    ],
)
def test_identity_fields_cannot_be_changed_by_save(record, field, value) -> None:
    before = stored(record)
    setattr(record, field, value)

    refused(record.save)

    assert stored(record) == before


def test_the_sender_cannot_be_changed(record) -> None:
    before = stored(record)
    record.sender = make_user("sender", username="mallory")

    refused(record.save)

    assert stored(record) == before


def test_a_sent_message_cannot_be_deleted(record) -> None:
    refused(record.delete)

    assert OutboundMessage.objects.filter(pk=record.pk).exists()


def test_a_queryset_cannot_delete_history(record) -> None:
    refused(OutboundMessage.objects.filter(pk=record.pk).delete)
    refused(OutboundMessage.objects.all().delete)

    assert OutboundMessage.objects.filter(pk=record.pk).exists()


def test_a_queryset_cannot_rewrite_what_was_sent(record) -> None:
    before = stored(record)

    refused(lambda: OutboundMessage.objects.filter(pk=record.pk).update(request_body={}))
    refused(lambda: OutboundMessage.objects.filter(pk=record.pk).update(recipient_value="1"))
    refused(lambda: OutboundMessage.objects.filter(pk=record.pk).update(sender=None))

    assert stored(record) == before


def test_bulk_update_cannot_rewrite_what_was_sent(record) -> None:
    record.request_body = {"forged": True}

    refused(lambda: OutboundMessage.objects.bulk_update([record], ["request_body"]))

    assert stored(record)["request_body"] != {"forged": True}


def test_status_cannot_move_back(record) -> None:
    record.status = Status.QUEUED

    refused(record.save)

    assert stored(record)["status"] == Status.ACCEPTED


def test_status_moves_forward_to_delivered_then_read(record) -> None:
    record.status = Status.DELIVERED
    record.save()
    record.status = Status.READ
    record.save()

    assert stored(record)["status"] == Status.READ
    record.status = Status.DELIVERED
    refused(record.save)
    assert stored(record)["status"] == Status.READ


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("response_body", '{"status": "forged"}'),
        ("http_status", 500),
        ("platform_message_id", "forged-id"),
        ("error_code", "recipient_not_found"),
        ("latency_ms", 987_654),
    ],
)
def test_the_recorded_answer_of_an_accepted_message_cannot_be_changed(record, field, value) -> None:
    before = stored(record)
    setattr(record, field, value)

    refused(record.save)

    assert stored(record) == before


# The same rules, against stale or partly loaded rows and bulk updates.


def test_a_partly_loaded_row_cannot_rewrite_what_was_sent(record) -> None:
    partial = OutboundMessage.objects.only("id").get(pk=record.pk)
    partial.request_body = {"forged": True}

    refused(lambda: partial.save(update_fields=["request_body"]))

    assert stored(record)["request_body"] != {"forged": True}


def test_a_partly_loaded_row_cannot_move_status_back(record) -> None:
    partial = OutboundMessage.objects.only("id").get(pk=record.pk)
    partial.status = Status.QUEUED

    refused(lambda: partial.save(update_fields=["status"]))

    assert stored(record)["status"] == Status.ACCEPTED


def test_a_queryset_cannot_move_status_back_or_rewrite_the_answer(record) -> None:
    before = stored(record)

    refused(
        lambda: OutboundMessage.objects.filter(pk=record.pk).update(
            status=Status.QUEUED, response_body="forged"
        )
    )

    assert stored(record) == before


def test_status_cannot_move_back_after_refresh_from_db(record) -> None:
    elsewhere = OutboundMessage.objects.get(pk=record.pk)
    elsewhere.status = Status.DELIVERED
    elsewhere.save()
    record.refresh_from_db()
    assert record.status == Status.DELIVERED
    record.status = Status.ACCEPTED

    refused(record.save)

    assert stored(record)["status"] == Status.DELIVERED


# Through the admin, as a superuser.


@pytest.fixture
def root_client(superuser: Any):
    return client_for(superuser)


def test_admin_has_no_add_page_for_history(root_client, record) -> None:
    url = reverse("admin:messaging_outboundmessage_add")

    assert root_client.get(url).status_code == 403
    response = root_client.post(
        url, {"message_id": "dlgc-" + "a" * 32, "bot": record.bot_id, "summary": "forged"}
    )

    assert response.status_code == 403
    assert OutboundMessage.objects.count() == 1


def test_admin_change_post_leads_to_the_history_and_changes_nothing(root_client, record) -> None:
    before = stored(record)
    url = reverse("admin:messaging_outboundmessage_change", args=[record.pk])

    response = root_client.post(
        url,
        {
            "summary": "forged",
            "request_body": "{}",
            "status": Status.QUEUED,
            "recipient_value": "1",
            "_save": "Save",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("messaging:history-detail", args=[record.message_id])
    assert stored(record) == before


def test_admin_delete_page_is_refused(root_client, record) -> None:
    url = f"/admin/messaging/outboundmessage/{record.pk}/delete/"

    assert root_client.get(url).status_code == 403
    assert root_client.post(url, {"post": "yes"}).status_code == 403
    assert stored(record)["message_id"] == record.message_id


def test_admin_delete_selected_action_deletes_nothing(root_client, record) -> None:
    before = stored(record)

    response = root_client.post(
        reverse("admin:messaging_outboundmessage_changelist"),
        {"action": "delete_selected", "_selected_action": [str(record.pk)], "post": "yes"},
    )

    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("messaging:history"))
    assert stored(record) == before


def test_admin_offers_no_delete_action_for_history(root_client, record) -> None:
    from django.contrib import admin
    from django.test import RequestFactory

    model_admin = admin.site._registry[OutboundMessage]
    request = RequestFactory().get("/")
    request.user = make_user("superuser", username="root2")

    assert "delete_selected" not in model_admin.get_actions(request)
