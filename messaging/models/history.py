"""The history of sent messages, and the files they carried."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from messaging.choices import AddressKind, MessageType, Status
from messaging.lifecycle import (
    IDENTITY_FIELDS,
    OUTCOME_FIELDS,
    ImmutableHistory,
    can_move,
    check_change,
)
from messaging.models.bots import Bot
from messaging.models.directory import MessageTemplate, Recipient


class StoredFile(models.Model):
    """An uploaded file, stored once under its SHA-256 so the history can show and re-send
    exactly the bytes that were sent, however many messages carried them."""

    sha256 = models.CharField(max_length=64, unique=True)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "stored file"

    def __str__(self) -> str:
        return f"{self.sha256[:12]}… ({self.size:,} bytes)"

    @property
    def storage_name(self) -> str:
        return f"files/{self.sha256[:2]}/{self.sha256}"


MESSAGE_ID_PATTERN = r"^dlgc-[0-9a-f]{32}$"


def new_message_id() -> str:
    """Our id for a message: sent to DLG as ``messageId`` and echoed by every event."""
    return f"dlgc-{uuid.uuid4().hex}"


class OutboundMessageQuerySet(models.QuerySet):
    """Bulk writes obey the same rule as single ones: history is never deleted or rewritten.

    ``update`` may not touch what was sent, the recorded answer or the status; statuses move in
    bulk only through :meth:`move`, which names where they come from.
    """

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableHistory("Sent messages cannot be deleted.")

    def update(self, **kwargs: Any) -> int:
        guarded = {*IDENTITY_FIELDS, *OUTCOME_FIELDS, "status"}
        fixed = [name for name in kwargs if {name, f"{name}_id"} & guarded]
        if fixed:
            raise ImmutableHistory(
                f"A sent message's {', '.join(fixed)} cannot be changed in bulk."
            )
        return super().update(**kwargs)

    def move(self, to: str, *, from_statuses: list[str], **fields: Any) -> int:
        """Move the rows in ``from_statuses`` forward to ``to`` (refused if that is backwards)."""
        backwards = [status for status in from_statuses if not can_move(status, to)]
        if backwards:
            raise ImmutableHistory(f"A message cannot go from {', '.join(backwards)} to {to}.")
        return super().update(status=to, updated_at=timezone.now(), **fields)


class OutboundMessage(models.Model):
    """One message the console tried to send, written before the call and updated after.

    The recipient is a snapshot: the history must still say who got the message after the
    directory entry is edited or deleted.
    """

    message_id = models.CharField(max_length=100, unique=True, default=new_message_id)
    bot = models.ForeignKey(Bot, on_delete=models.PROTECT, related_name="messages")
    recipient = models.ForeignKey(
        Recipient, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    recipient_kind = models.CharField(max_length=20, choices=AddressKind.choices)
    recipient_value = models.CharField(max_length=200)
    recipient_name = models.CharField(max_length=200, blank=True)
    message_type = models.CharField(max_length=20, choices=MessageType.choices)
    template = models.ForeignKey(
        MessageTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    campaign = models.ForeignKey(
        "messaging.Campaign",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="messages",
    )
    # The outbox's bookkeeping while a campaign's message waits or is being sent.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    file = models.ForeignKey(
        StoredFile, on_delete=models.PROTECT, null=True, blank=True, related_name="messages"
    )
    summary = models.CharField(
        max_length=300,
        blank=True,
        help_text="The message's text or file name, for lists and search.",
    )
    request_body = models.JSONField(
        help_text="The body exactly as sent, without the token and with file data summarised."
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    platform_recipient_id = models.CharField(max_length=200, blank=True)
    platform_message_id = models.CharField(max_length=200, blank=True)
    error_code = models.CharField(max_length=50, blank=True)
    error_message = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sent_messages",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OutboundMessageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "sent message"
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "recipient_value", "recipient_kind"],
                condition=models.Q(campaign__isnull=False),
                name="one_message_per_campaign_recipient",
            ),
        ]
        permissions = [
            ("send_message", "Can compose and send messages"),
            ("export_history", "Can export the sent-message history"),
        ]
        indexes = [
            # The list's own order, so the newest page is read straight off the index.
            models.Index(fields=["-created_at", "-id"], name="outbound_newest_first"),
            models.Index(fields=["bot", "-created_at"], name="outbound_bot_created"),
            models.Index(
                fields=["bot", "status", "-created_at"], name="outbound_bot_status_created"
            ),
            models.Index(fields=["status", "-created_at"], name="outbound_status_created"),
            models.Index(fields=["message_type", "-created_at"], name="outbound_type_created"),
            models.Index(fields=["sender", "-created_at"], name="outbound_sender_created"),
            models.Index(fields=["recipient_value"], name="outbound_recipient_value"),
            # The outbox's claim: a campaign's queued messages in order.
            models.Index(fields=["campaign", "status", "id"], name="outbound_campaign_queue"),
        ]

    def __str__(self) -> str:
        return self.message_id

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Create freely; afterwards allow only what the send pipeline and events may change.

        The comparison is with the row as stored now, not as loaded: a stale or partly loaded
        instance cannot slip a change past the rules.
        """
        if not self._state.adding and self.pk is not None:
            names = (*IDENTITY_FIELDS, *OUTCOME_FIELDS, "status")
            stored = type(self).objects.filter(pk=self.pk).values(*names).first()
            if stored is not None:
                mine = {name: self.__dict__[name] for name in names if name in self.__dict__}
                check_change(stored, mine)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("messaging:history-detail", args=[self.message_id])

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ImmutableHistory("Sent messages cannot be deleted.")
