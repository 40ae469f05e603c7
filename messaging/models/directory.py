"""Who we write to and what we say: the recipient directory and message templates."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from messaging.choices import AddressKind, MessageType, Provider


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
