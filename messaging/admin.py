"""The console's admin pages: bots (secrets masked), the directory, templates and history."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

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
    """The history has its own pages (filters that stay fast at a million rows, CSV export);
    the admin's list and form lead there, and nobody adds, edits or deletes through the admin,
    superusers included."""

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        query = request.META.get("QUERY_STRING", "")
        return redirect(reverse("messaging:history") + (f"?{query}" if query else ""))

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        record = (
            OutboundMessage.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        )
        if record is None or not self.has_view_permission(request, record):
            raise PermissionDenied
        return redirect(record.get_absolute_url())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
