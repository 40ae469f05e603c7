"""What the platforms told us after sending: webhook batches and the events in them."""

from __future__ import annotations

from django.db import models

from messaging.choices import EventType
from messaging.models.bots import Bot
from messaging.models.history import OutboundMessage


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
