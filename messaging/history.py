"""Finding sent messages: one filter for the list, the export and any later report.

Built to stay fast at millions of rows: every filter is backed by an index, pages are read with
LIMIT (one row more than shown, to know whether there is a next page) and never counted, and
related rows come in the same query.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone

from messaging.choices import MessageType, Provider, Status
from messaging.models import Bot, OutboundMessage

PAGE_SIZE = 50
MAX_PAGE = 100_000


class HistoryFilter(forms.Form):
    """The history's filters, as GET parameters (bookmarkable, shareable, exportable)."""

    q = forms.CharField(label="Message or recipient id", required=False, max_length=200, strip=True)
    text = forms.CharField(label="Text contains", required=False, max_length=200, strip=True)
    bot = forms.ModelChoiceField(queryset=Bot.objects.all(), required=False)
    provider = forms.ChoiceField(choices=[("", "All"), *Provider.choices], required=False)
    message_type = forms.ChoiceField(
        label="Type", choices=[("", "All"), *MessageType.choices], required=False
    )
    status = forms.ChoiceField(choices=[("", "All"), *Status.choices], required=False)
    sender = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_staff=True).order_by("username"),
        required=False,
    )
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return cleaned


def visible_to(user: Any) -> QuerySet[OutboundMessage]:
    """Everything for those who may see all history; a sender sees what they sent."""
    messages = OutboundMessage.objects.all()
    if user.has_perm("messaging.view_outboundmessage"):
        return messages
    return messages.filter(sender=user)


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def apply(messages: QuerySet[OutboundMessage], cleaned: dict[str, Any]) -> QuerySet:
    """Narrow the messages by the validated filters; newest first."""
    if query := cleaned.get("q"):
        messages = messages.filter(Q(message_id=query) | Q(recipient_value=query))
    if text := cleaned.get("text"):
        messages = messages.filter(summary__icontains=text)
    if cleaned.get("bot"):
        messages = messages.filter(bot=cleaned["bot"])
    if cleaned.get("provider"):
        messages = messages.filter(bot__in=Bot.objects.filter(provider=cleaned["provider"]))
    for name in ("message_type", "status", "sender"):
        if cleaned.get(name):
            messages = messages.filter(**{name: cleaned[name]})
    if cleaned.get("since"):
        messages = messages.filter(created_at__gte=_day_start(cleaned["since"]))
    if cleaned.get("until"):
        next_day = cleaned["until"] + datetime.timedelta(days=1)
        messages = messages.filter(created_at__lt=_day_start(next_day))
    return messages.order_by("-created_at", "-id")


@dataclass(frozen=True)
class Page:
    rows: list[OutboundMessage]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def page(messages: QuerySet[OutboundMessage], number: int) -> Page:
    """One page of rows, without counting the whole result (COUNT is slow at a million rows)."""
    number = min(max(number, 1), MAX_PAGE)
    start = (number - 1) * PAGE_SIZE
    rows = list(
        messages.select_related("bot", "sender").defer("request_body", "response_body")[
            start : start + PAGE_SIZE + 1
        ]
    )
    return Page(rows=rows[:PAGE_SIZE], number=number, has_next=len(rows) > PAGE_SIZE)
