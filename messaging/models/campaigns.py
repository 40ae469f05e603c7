"""Bulk sends: recipient lists and the campaigns that send one template to a whole list."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from messaging.choices import CampaignStatus
from messaging.models.bots import Bot
from messaging.models.directory import MessageTemplate, Recipient


class RecipientList(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    members = models.ManyToManyField(
        Recipient, through="RecipientListMember", related_name="lists", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RecipientListMember(models.Model):
    recipient_list = models.ForeignKey(RecipientList, on_delete=models.CASCADE)
    recipient = models.ForeignKey(Recipient, on_delete=models.CASCADE)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["recipient_list", "recipient"], name="list_member_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient} in {self.recipient_list}"


class Campaign(models.Model):
    """One template to every member of a list, through one bot, now or at a set time.

    Its messages are the outbox: one history row per recipient, created when the campaign
    starts, which workers claim, send and settle.
    """

    name = models.CharField(max_length=200)
    bot = models.ForeignKey(Bot, on_delete=models.PROTECT, related_name="campaigns")
    template = models.ForeignKey(MessageTemplate, on_delete=models.PROTECT, related_name="+")
    recipient_list = models.ForeignKey(RecipientList, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=20, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    scheduled_at = models.DateTimeField(
        "send at", null=True, blank=True, help_text="Leave empty to send as soon as it starts."
    )
    expires_at = models.DateTimeField(
        "expires at",
        null=True,
        blank=True,
        help_text="A message not sent by then becomes expired and is never sent late.",
    )
    resend_unknown = models.BooleanField(
        "resend unknown outcomes",
        default=False,
        help_text="Send again a message whose outcome is unknown (a timeout after it left). "
        "The customer may get it twice.",
    )
    paused_reason = models.TextField(blank=True)
    # When the next check for stalled work is due: one pending check per campaign at a time.
    watchdog_at = models.DateTimeField(null=True, blank=True)
    total = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("run_campaign", "Can start, pause, resume and cancel campaigns")]

    def __str__(self) -> str:
        return self.name
