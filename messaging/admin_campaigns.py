"""Campaigns in the admin: created here as drafts, then run from their own page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from messaging.choices import CampaignStatus
from messaging.models import Bot, Campaign, MessageTemplate


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "bot",
        "template",
        "recipient_list",
        "status",
        "scheduled_at",
        "created_at",
    ]
    list_filter = ["status", "bot"]
    search_fields = ["name"]
    list_select_related = ["bot", "template", "recipient_list"]
    fields = [
        "name",
        "bot",
        "template",
        "recipient_list",
        "scheduled_at",
        "expires_at",
        "resend_unknown",
    ]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "bot":
            kwargs["queryset"] = Bot.objects.filter(is_active=True)
        if db_field.name == "template":
            kwargs["queryset"] = MessageTemplate.objects.exclude(message_type="document")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Campaign, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)

    def has_change_permission(self, request: HttpRequest, obj: Campaign | None = None) -> bool:
        # Once started, a campaign is steered from its page, never edited.
        if obj is not None and obj.status != CampaignStatus.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Campaign | None = None) -> bool:
        if obj is not None and obj.status != CampaignStatus.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def response_add(
        self, request: HttpRequest, obj: Campaign, post_url_continue: Any = None
    ) -> HttpResponse:
        return redirect("messaging:campaign", pk=obj.pk)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        campaign = Campaign.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        if campaign is not None and campaign.status != CampaignStatus.DRAFT:
            return redirect("messaging:campaign", pk=campaign.pk)
        return super().change_view(request, object_id, form_url, extra_context)

    def response_change(self, request: HttpRequest, obj: Campaign) -> HttpResponse:
        return redirect("messaging:campaign", pk=obj.pk)
