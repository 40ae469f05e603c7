"""A campaign's own page: its live progress, and the buttons that steer it."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from messaging import campaigns
from messaging.choices import CampaignStatus, Status
from messaging.models import Campaign
from messaging.providers.specs import InvalidMessage
from messaging.views.access import permission_view

LIVE_STATUSES = (CampaignStatus.RUNNING, CampaignStatus.SCHEDULED)
SHOWN_STATUSES = (
    Status.ACCEPTED,
    Status.SENT,
    Status.DELIVERED,
    Status.READ,
    Status.FAILED,
    Status.UNKNOWN,
    Status.EXPIRED,
    Status.CANCELLED,
)


def _progress_context(campaign: Campaign) -> dict[str, Any]:
    progress = campaigns.progress(campaign)
    counts = progress.counts
    delivered_or_better = sum(
        counts.get(status, 0) for status in (Status.SENT, Status.DELIVERED, Status.READ)
    )
    return {
        "campaign": campaign,
        "progress": progress,
        "accepted": counts.get(Status.ACCEPTED, 0) + delivered_or_better,
        "rows": [
            (Status(status).label, counts.get(status, 0), status) for status in SHOWN_STATUSES
        ],
        "live": campaign.status in LIVE_STATUSES,
    }


@permission_view("messaging.view_campaign")
@require_http_methods(["GET"])
def campaign_page(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(
        Campaign.objects.select_related("bot", "template", "recipient_list"), pk=pk
    )
    context = _progress_context(campaign)
    if request.GET.get("live") == "1" and request.headers.get("HX-Request") == "true":
        response = render(request, "messaging/campaign.html#progress", context)
        if not context["live"]:
            response.status_code = HttpResponseStopPolling.status_code
        return response
    return render(
        request,
        "messaging/campaign.html",
        {
            **admin.site.each_context(request),
            **context,
            "title": f"Campaign: {campaign.name}",
            "can_run": request.user.has_perm("messaging.run_campaign"),
            "members": campaign.recipient_list.members.count(),
            "report": None,
        },
    )


@permission_view("messaging.run_campaign")
@require_POST
def campaign_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Dry run, start, pause, resume, cancel, or settle the unknown outcomes."""
    campaign = get_object_or_404(Campaign.objects.select_related("bot", "template"), pk=pk)
    if action == "dry-run":
        report = campaigns.dry_run(campaign)
        context = {
            **admin.site.each_context(request),
            **_progress_context(campaign),
            "title": f"Campaign: {campaign.name}",
            "can_run": True,
            "members": campaign.recipient_list.members.count(),
            "report": report,
        }
        return render(request, "messaging/campaign.html", context)
    try:
        message = _act(request, campaign, action)
    except (ValueError, InvalidMessage) as err:
        messages.error(request, str(err))
    else:
        messages.success(request, message)
    return redirect("messaging:campaign", pk=campaign.pk)


def _act(request: HttpRequest, campaign: Campaign, action: str) -> str:
    if action == "start":
        report = campaigns.start(campaign, by=request.user)
        problems = f"; {len(report.problems)} could not be rendered" if report.problems else ""
        return f"Started: {report.ready} messages queued{problems}."
    if action == "pause":
        campaigns.pause(campaign)
        return "Paused. Messages already on their way finish; nothing new is sent."
    if action == "resume":
        campaigns.resume(campaign)
        return "Resumed."
    if action == "cancel":
        cancelled = campaigns.cancel(campaign)
        return f"Cancelled: {cancelled} messages will not be sent."
    if action == "resend-unknown":
        return (
            f"{campaigns.resend_unknown(campaign)} messages with an unknown outcome queued again."
        )
    if action == "drop-unknown":
        return f"{campaigns.drop_unknown(campaign)} messages with an unknown outcome marked failed."
    raise PermissionDenied
