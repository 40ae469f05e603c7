"""The sent-message history: list, detail, CSV export, the stored file, and the change log."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from messaging import export, files, history
from messaging.models import Bot, MessageTemplate, OutboundMessage, Recipient, SecretChange
from messaging.views.access import history_view, permission_view


def _filtered(request: HttpRequest) -> tuple[history.HistoryFilter, Any]:
    form = history.HistoryFilter(request.GET or None)
    messages = history.visible_to(request.user)
    cleaned = form.cleaned_data if form.is_bound and form.is_valid() else {}
    return form, history.apply(messages, cleaned)


@history_view
@require_GET
def history_list(request: HttpRequest) -> HttpResponse:
    form, messages = _filtered(request)
    raw_page = request.GET.get("page", "1")
    result = history.page(messages, int(raw_page) if raw_page.isdigit() else 1)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        **admin.site.each_context(request),
        "title": "Sent messages",
        "filters": form,
        "page": result,
        "query": query.urlencode(),
        "sees_all": request.user.has_perm("messaging.view_outboundmessage"),
        "can_export": request.user.has_perm("messaging.export_history"),
    }
    return render(request, "messaging/history_list.html", context)


def _visible_record(request: HttpRequest, message_id: str) -> OutboundMessage:
    return get_object_or_404(
        history.visible_to(request.user).select_related("bot", "sender", "template", "file"),
        message_id=message_id,
    )


@history_view
@require_GET
def history_detail(request: HttpRequest, message_id: str) -> HttpResponse:
    record = _visible_record(request, message_id)
    context = {
        **admin.site.each_context(request),
        "title": f"Sent message {record.message_id}",
        "record": record,
        "can_resend": request.user.has_perm("messaging.send_message"),
    }
    return render(request, "messaging/history_detail.html", context)


@history_view
@require_GET
def history_file(request: HttpRequest, message_id: str) -> FileResponse:
    """The exact file a message carried, as it was sent."""
    record = _visible_record(request, message_id)
    if record.file is None:
        raise Http404("This message carried no file.")
    document = (record.request_body.get("message") or {}).get("document") or {}
    name = str(document.get("fileName") or record.file.sha256)
    return FileResponse(
        iter([files.read(record.file)]),
        as_attachment=True,
        filename=name,
        content_type="application/octet-stream",
    )


@permission_view("messaging.export_history")
@require_GET
def history_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered history as CSV, streamed; columns documented in docs/history-export.md."""
    _, messages = _filtered(request)
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
