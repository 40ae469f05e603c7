"""The sent-message history: list, detail, CSV export, the stored file, and the change log."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseStopPolling

from messaging import events, export, files, history
from messaging.choices import EventType
from messaging.models import (
    Bot,
    MessageEvent,
    MessageTemplate,
    OutboundMessage,
    Recipient,
    SecretChange,
)
from messaging.views.access import history_view, permission_view


def _filtered(request: HttpRequest) -> tuple[history.HistoryFilter, Any]:
    """The visible messages narrowed by the filters; none at all while a filter is invalid,
    so a mistyped date range can never widen a list or an export to everything."""
    form = history.HistoryFilter(request.GET or None)
    messages = history.visible_to(request.user)
    if form.is_bound and not form.is_valid():
        return form, messages.none()
    return form, history.apply(messages, form.cleaned_data if form.is_bound else {})


@history_view
@require_GET
def history_list(request: HttpRequest) -> HttpResponse:
    form, messages = _filtered(request)
    raw_page = request.GET.get("page", "1")
    result = history.page(messages, int(raw_page) if raw_page.isdigit() else 1)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("live", None)
    watched = any(events.watching(record) for record in result.rows)
    if _polled(request):
        rows = {"page": result, "watched": watched, "live_url": request.get_full_path()}
        response = render(request, "messaging/history_list.html#rows", rows)
        return response if watched else _stop_polling(response)
    context = {
        **admin.site.each_context(request),
        "title": "Sent messages",
        "filters": form,
        "page": result,
        "query": query.urlencode(),
        "sees_all": request.user.has_perm("messaging.view_outboundmessage"),
        "can_export": request.user.has_perm("messaging.export_history"),
        "watched": watched,
        "live_url": f"{request.path}?{query.urlencode()}&page={result.number}&live=1",
    }
    return render(request, "messaging/history_list.html", context)


def _polled(request: HttpRequest) -> bool:
    """An htmx poll for the live part of a page, rather than a visit."""
    return request.GET.get("live") == "1" and request.headers.get("HX-Request") == "true"


def _stop_polling(response: HttpResponse) -> HttpResponse:
    """Keep the content but tell htmx to stop asking: nothing shown can change any more."""
    response.status_code = HttpResponseStopPolling.status_code
    return response


def _visible_record(request: HttpRequest, message_id: str) -> OutboundMessage:
    return get_object_or_404(
        history.visible_to(request.user).select_related("bot", "sender", "template", "file"),
        message_id=message_id,
    )


@history_view
@require_GET
def history_detail(request: HttpRequest, message_id: str) -> HttpResponse:
    record = _visible_record(request, message_id)
    live = {
        "record": record,
        "timeline": events.timeline(record),
        "watched": events.watching(record),
    }
    if _polled(request):
        response = render(request, "messaging/history_detail.html#live", live)
        return response if live["watched"] else _stop_polling(response)
    context = {
        **admin.site.each_context(request),
        **live,
        "title": f"Sent message {record.message_id}",
        "can_resend": request.user.has_perm("messaging.send_message"),
    }
    return render(request, "messaging/history_detail.html", context)


@history_view
@require_GET
def replies(request: HttpRequest) -> HttpResponse:
    """What customers answered: typed replies and button presses, newest first."""
    found = MessageEvent.objects.filter(kind__in=[EventType.REPLY, EventType.BUTTON])
    if not request.user.has_perm("messaging.view_outboundmessage"):
        found = found.filter(message__sender_id=request.user.pk)
    bots = Bot.objects.filter(provider="dlg")
    bot = request.GET.get("bot", "")
    if bot.isdigit():
        found = found.filter(bot_id=int(bot))
    recipient = request.GET.get("recipient", "").strip()
    if recipient:
        found = found.filter(Q(recipient_value=recipient) | Q(recipient_dlg_id=recipient))
    raw_page = request.GET.get("page", "1")
    number = max(int(raw_page) if raw_page.isdigit() else 1, 1)
    start = (number - 1) * history.PAGE_SIZE
    rows = list(
        found.select_related("bot", "message").order_by("-occurred_at", "-id")[
            start : start + history.PAGE_SIZE + 1
        ]
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        **admin.site.each_context(request),
        "title": "Replies",
        "rows": rows[: history.PAGE_SIZE],
        "page": history.Page(rows=[], number=number, has_next=len(rows) > history.PAGE_SIZE),
        "bots": bots,
        "chosen_bot": bot,
        "recipient": recipient,
        "query": query.urlencode(),
    }
    return render(request, "messaging/replies.html", context)


@history_view
@require_GET
def history_file(request: HttpRequest, message_id: str) -> HttpResponse:
    """The exact file a message carried, as it was sent."""
    record = _visible_record(request, message_id)
    if record.file is None:
        raise Http404("This message carried no file.")
    document = (record.request_body.get("message") or {}).get("document") or {}
    name = str(document.get("fileName") or record.file.sha256)
    response = HttpResponse(files.read(record.file), content_type="application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=name)
    return response


@permission_view("messaging.export_history")
@require_GET
def history_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The filtered history as CSV, streamed; columns documented in docs/history-export.md."""
    form, messages = _filtered(request)
    if form.is_bound and not form.is_valid():
        problems = "; ".join(
            f"{name}: {' '.join(str(error) for error in errors)}"
            for name, errors in form.errors.items()
        )
        return HttpResponse(
            f"Nothing exported: fix the filters first ({problems}).",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(export.rows(messages), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="sent-messages-{stamp}.csv"'
    return response


AUDITED_MODELS = (Bot, Recipient, MessageTemplate)


@permission_view("admin.view_logentry")
@require_GET
def change_log(request: HttpRequest) -> HttpResponse:
    """Who created, changed or deleted bots, templates, recipients, users and groups, and when;
    and every change of a bot's secrets, as fingerprints."""
    from django.contrib.auth.models import Group, User

    content_types = ContentType.objects.get_for_models(*AUDITED_MODELS, User, Group).values()
    entries = (
        LogEntry.objects.filter(content_type__in=content_types)
        .select_related("user", "content_type")
        .order_by("-action_time")[:500]
    )
    secret_changes = SecretChange.objects.select_related("changed_by")[:200]
    context = {
        **admin.site.each_context(request),
        "title": "Change log",
        "entries": entries,
        "secret_changes": secret_changes,
    }
    return render(request, "messaging/change_log.html", context)
