"""The console's admin pages: bots (secrets masked), the directory, templates and history."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from messaging.choices import Provider
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
        "alert",
        "alert_at",
        "token_fingerprint",
        "webhook_secret_fingerprint",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
    ]
    fieldsets = [
        (None, {"fields": ["name", "provider", "base_url", "is_active", "rate_limit"]}),
        ("Platform alert", {"fields": ["alert", "alert_at"]}),
        ("Access token", {"fields": ["access_token", "token_fingerprint"]}),
        ("Webhook", {"fields": ["webhook_id", "webhook_secret", "webhook_secret_fingerprint"]}),
        ("Changes", {"fields": ["created_at", "created_by", "updated_at", "updated_by"]}),
    ]

    def get_urls(self) -> list[Any]:
        extra = [
            path(
                "<int:object_id>/webhook-secret/",
                self.admin_site.admin_view(self.generate_webhook_secret),
                name="messaging_bot_webhook_secret",
            )
        ]
        return extra + super().get_urls()

    def generate_webhook_secret(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Make a new app secret and show it once, to be handed to the DLG platform admin."""
        bot = get_object_or_404(Bot, pk=object_id)
        if request.method != "POST" or not self.has_change_permission(request, bot):
            raise PermissionDenied
        bot.webhook_secret = secrets.token_hex(20)
        if not bot.webhook_id:
            bot.webhook_id = f"dlg-console-{bot.pk}"
        bot.updated_by = request.user  # type: ignore[assignment]
        bot.save()
        self.log_change(request, bot, [{"changed": {"fields": ["webhook app secret"]}}])
        # Shown in this response only: a flash message would park the secret in a cookie.
        context = {
            **self.admin_site.each_context(request),
            "title": f"New webhook app secret for {bot.name}",
            "bot": bot,
            "secret": bot.webhook_secret,
            "opts": self.opts,
            "webhook_url": request.build_absolute_uri(reverse("dlg-webhook", args=[bot.pk])),
        }
        response = TemplateResponse(request, "admin/messaging/bot/webhook_secret.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any
    ) -> HttpResponse:
        bot = context.get("original")
        if bot is not None and bot.provider == Provider.DLG:
            context["webhook_url"] = request.build_absolute_uri(
                reverse("dlg-webhook", args=[bot.pk])
            )
        return super().render_change_form(request, context, *args, **kwargs)

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


# Registered in modules of their own, kept small; imported here so the admin finds them.
from messaging import admin_campaigns, admin_lists  # noqa: E402, F401
