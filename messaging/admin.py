"""The console's admin pages: bots (secrets masked), the directory, templates and history."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from messaging.forms import BotForm, MessageTemplateForm
from messaging.models import Bot, MessageTemplate, OutboundMessage, Recipient

admin.site.site_header = "DLG Console"
admin.site.site_title = "DLG Console"
admin.site.index_title = "Messaging"


@admin.register(Bot)
class BotAdmin(admin.ModelAdmin):
    form = BotForm
    list_display = ["name", "provider", "base_url", "is_active", "token_fingerprint", "rate_limit"]
    list_filter = ["provider", "is_active"]
    search_fields = ["name"]
    readonly_fields = [
        "token_fingerprint",
        "webhook_secret_fingerprint",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
    ]
    fieldsets = [
        (None, {"fields": ["name", "provider", "base_url", "is_active", "rate_limit"]}),
        ("Access token", {"fields": ["access_token", "token_fingerprint"]}),
        ("Webhook", {"fields": ["webhook_id", "webhook_secret", "webhook_secret_fingerprint"]}),
        ("Changes", {"fields": ["created_at", "created_by", "updated_at", "updated_by"]}),
    ]

    @admin.display(description="token")
    def token_fingerprint(self, bot: Bot) -> str:
        return bot.token_fingerprint

    @admin.display(description="webhook secret")
    def webhook_secret_fingerprint(self, bot: Bot) -> str:
        return bot.webhook_secret_fingerprint

    def save_model(self, request: HttpRequest, obj: Bot, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        obj.updated_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)


@admin.register(Recipient)
class RecipientAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "value", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["name", "value"]


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    form = MessageTemplateForm
    list_display = ["name", "message_type", "updated_at"]
    list_filter = ["message_type"]
    search_fields = ["name"]

    def save_model(
        self, request: HttpRequest, obj: MessageTemplate, form: Any, change: bool
    ) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    """The send history: read-only for everybody, superusers included."""

    list_display = [
        "message_id",
        "created_at",
        "bot",
        "message_type",
        "recipient_kind",
        "recipient_value",
        "status",
        "sender",
    ]
    list_filter = ["status", "message_type", "bot"]
    list_select_related = ["bot", "sender"]
    search_fields = ["=message_id", "=recipient_value"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in OutboundMessage._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
