"""The console's nouns: bots, recipients, templates and the history of sent messages."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from messaging.choices import AddressKind, EventType, MessageType, Provider, Status
from messaging.fields import EncryptedTextField
from messaging.lifecycle import (
    IDENTITY_FIELDS,
    OUTCOME_FIELDS,
    ImmutableHistory,
    can_move,
    check_change,
)
from messaging.secrets import fingerprint

SECRET_FIELDS = ("access_token", "webhook_secret")


class Bot(models.Model):
    """A sending identity on one platform, holding the secret that platform issued."""

    name = models.CharField(max_length=100, unique=True)
    provider = models.CharField(max_length=20, choices=Provider.choices)
    base_url = models.URLField(
        "API base URL",
        max_length=500,
        help_text="For DLG the server address, e.g. https://api.dlgmessenger.com; "
        "for Certainly https://app.certainly.io.",
    )
    access_token = EncryptedTextField(
        blank=True, help_text="Encrypted at rest; never shown again after saving."
    )
    is_active = models.BooleanField("active", default=True)
    webhook_id = models.CharField(max_length=200, blank=True)
    webhook_secret = EncryptedTextField("webhook app secret", blank=True)
    rate_limit = models.FloatField(
        "send rate limit (messages per second)",
        default=10.0,
        validators=[MinValueValidator(0.1)],
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save, and record who changed a secret (as fingerprints, never the value)."""
        before = getattr(self, "_stored_secrets", dict.fromkeys(SECRET_FIELDS, ""))
        super().save(*args, **kwargs)
        after = {name: getattr(self, name) for name in SECRET_FIELDS}
        for name in SECRET_FIELDS:
            if before[name] != after[name]:
                SecretChange.objects.create(
                    bot=self,
                    bot_name=self.name,
                    secret=name,
                    old_fingerprint=fingerprint(before[name]),
                    new_fingerprint=fingerprint(after[name]),
                    changed_by=self.updated_by,
                )
        self._stored_secrets = after

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any, **kwargs: Any) -> Bot:
        bot = super().from_db(db, field_names, values, **kwargs)
        bot._stored_secrets = {name: getattr(bot, name, "") for name in SECRET_FIELDS}
        return bot

    @property
    def token_fingerprint(self) -> str:
        return fingerprint(self.access_token)

    @property
    def webhook_secret_fingerprint(self) -> str:
        return fingerprint(self.webhook_secret)

    def clean(self) -> None:
        self.base_url = self.base_url.rstrip("/")


class SecretChange(models.Model):
    """Every change of a bot's token or webhook secret: who, when, and which secret it became
    (as fingerprints, so the log itself holds nothing worth stealing)."""

    bot = models.ForeignKey(
        Bot, on_delete=models.SET_NULL, null=True, blank=True, related_name="secret_changes"
    )
    bot_name = models.CharField(max_length=100)
    secret = models.CharField(
        max_length=20,
        choices=[("access_token", "access token"), ("webhook_secret", "webhook app secret")],
    )
    old_fingerprint = models.CharField(max_length=40)
    new_fingerprint = models.CharField(max_length=40)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        change = f"{self.old_fingerprint} → {self.new_fingerprint}"
        return f"{self.bot_name}: {self.get_secret_display()} {change}"


class Recipient(models.Model):
    """Someone a bot can write to, in the address the platform knows them by."""

    name = models.CharField("display name", max_length=200)
    kind = models.CharField("address kind", max_length=20, choices=AddressKind.choices)
    value = models.CharField("address", max_length=200)
    attributes = models.JSONField(
        default=dict,
        blank=True,
        help_text='Values for template placeholders, e.g. {"first_name": "Ayşe"}.',
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="recipient_unique_address"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({AddressKind(self.kind).label} {self.value})"

    @property
    def provider(self) -> Provider:
        return AddressKind(self.kind).provider

    def clean(self) -> None:
        self.value = self.value.strip()
        if not isinstance(self.attributes, dict):
            raise ValidationError({"attributes": "Attributes must be a JSON object."})
        if "\\u0000" in json.dumps(self.attributes):
            raise ValidationError({"attributes": "Attributes cannot contain NUL characters."})
        for key in self.attributes:
            if not key.isidentifier():
                raise ValidationError(
                    {"attributes": f"“{key}” cannot be used as a placeholder name."}
                )


class MessageTemplate(models.Model):
    """Reusable content with ``{{ variable }}`` placeholders filled from recipient attributes."""

    name = models.CharField(max_length=200, unique=True)
    message_type = models.CharField(max_length=20, choices=MessageType.choices)
    content = models.JSONField(
        help_text="The message's fields for its type; see the compose page for their meaning."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from messaging.templating import validate_template_content

        validate_template_content(self.message_type, self.content)


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


class WebhookBatch(models.Model):
    """One POST a platform made to our webhook, kept as received (bounded) for auditors."""

    bot = models.ForeignKey(Bot, on_delete=models.PROTECT, related_name="webhook_batches")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    body = models.TextField(help_text="The raw body, cut at 64 KB.")
    body_sha256 = models.CharField(max_length=64, db_index=True)
    signature_form = models.CharField(max_length=20)
    event_count = models.PositiveIntegerField(default=0)
    replay = models.BooleanField(default=False, help_text="The same body arrived before.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "webhook batches"

    def __str__(self) -> str:
        return f"{self.bot} {self.received_at:%Y-%m-%d %H:%M:%S} ({self.event_count} events)"


class MessageEvent(models.Model):
    """Something the platform reported after sending: sent, delivered, read, a reply or a
    button press; or an event we do not recognise, kept rather than dropped."""

    bot = models.ForeignKey(Bot, on_delete=models.PROTECT, related_name="events")
    batch = models.ForeignKey(
        WebhookBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    message = models.ForeignKey(
        OutboundMessage, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    kind = models.CharField(max_length=20, choices=EventType.choices)
    mid = models.CharField("message id named", max_length=200, blank=True, db_index=True)
    occurred_at = models.DateTimeField(db_index=True)
    received_at = models.DateTimeField(auto_now_add=True)
    recipient_kind = models.CharField(max_length=20, blank=True)
    recipient_value = models.CharField(max_length=200, blank=True)
    recipient_dlg_id = models.CharField(max_length=200, blank=True)
    text = models.TextField(blank=True)
    payload = models.TextField(blank=True)
    button_title = models.CharField(max_length=200, blank=True)
    watermark = models.BigIntegerField(null=True, blank=True)
    via_watermark = models.BooleanField(
        default=False, help_text="Implied by a watermark, not named in the event."
    )
    raw = models.JSONField(null=True, blank=True)
    dedupe_key = models.CharField(max_length=64)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["bot", "dedupe_key"], name="event_unique_per_bot"),
        ]
        indexes = [
            models.Index(fields=["bot", "kind", "-occurred_at"], name="event_bot_kind_time"),
            models.Index(fields=["recipient_value"], name="event_recipient_value"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.mid}"
