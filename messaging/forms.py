"""Admin forms: secrets are write-only and bots only address what their platform knows."""

from __future__ import annotations

from typing import Any

from django import forms

from messaging.models import Bot, MessageTemplate


class SecretField(forms.CharField):
    """A password-style input that never renders the stored value back into the page."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("strip", True)
        kwargs.setdefault(
            "widget", forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
        )
        super().__init__(**kwargs)


class BotForm(forms.ModelForm):
    access_token = SecretField(
        help_text="Leave blank to keep the current token. Stored encrypted; never shown again."
    )
    webhook_secret = SecretField(
        label="Webhook app secret", help_text="Leave blank to keep the current secret."
    )

    class Meta:
        model = Bot
        fields = [
            "name",
            "provider",
            "base_url",
            "access_token",
            "is_active",
            "rate_limit",
            "webhook_id",
            "webhook_secret",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            self.fields["access_token"].required = True
            self.fields["access_token"].help_text = "Stored encrypted; never shown again."

    def clean_access_token(self) -> str:
        # Blank keeps the stored token: the field is never pre-filled, by design.
        return self.cleaned_data["access_token"] or self.instance.access_token

    def clean_webhook_secret(self) -> str:
        return self.cleaned_data["webhook_secret"] or self.instance.webhook_secret

    def clean_base_url(self) -> str:
        return self.cleaned_data["base_url"].rstrip("/")


class MessageTemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ["name", "message_type", "content"]
