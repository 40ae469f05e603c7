"""Bots: sending identities on a platform, and the log of changes to their secrets."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from messaging.choices import Provider
from messaging.fields import EncryptedTextField
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
    alert = models.TextField(
        blank=True,
        help_text="Set when the platform refused the bot itself (wrong token, bot not alive); "
        "campaigns through it are paused until this is cleared.",
    )
    alert_at = models.DateTimeField(null=True, blank=True)
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
        if self.pk is not None and before["access_token"] != self.access_token and self.alert:
            # A new token is the fix the alert asked for; campaigns may be resumed.
            self.alert, self.alert_at = "", None
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "alert", "alert_at"}
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


class BotPace(models.Model):
    """When a bot may next send: the one shared clock that keeps every worker under the bot's
    rate limit together (a row per bot, locked briefly to reserve send slots)."""

    bot = models.OneToOneField(Bot, on_delete=models.CASCADE, primary_key=True, related_name="+")
    next_slot_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.bot_id} next at {self.next_slot_at}"
