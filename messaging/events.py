"""What platform events do to the history: one status model that never goes backwards.

Each event is stored (deduplicated, so a replayed or duplicated batch is harmless) and linked to
the message it names; statuses only move forward (accepted → sent → delivered → read), so an
event arriving late or out of order changes nothing it should not. A watermark also moves the
bot's earlier messages to the same recipient. A ``message`` event whose text is
``[<messageId>]:<payload>`` is a button press only when that message really had such a button.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from messaging.choices import EventType, MessageType, Provider, Status
from messaging.lifecycle import can_move
from messaging.models import Bot, MessageEvent, OutboundMessage, WebhookBatch
from messaging.webhooks import EnvelopeError, ParsedEvent, clean, parse, press_of

#: The status each event kind proves, in the order a message moves through them.
STATUS_OF: dict[str, str] = {
    EventType.SENT: Status.SENT,
    EventType.DELIVERED: Status.DELIVERED,
    EventType.READ: Status.READ,
}
RANK: dict[str, int] = {Status.ACCEPTED: 1, Status.SENT: 2, Status.DELIVERED: 3, Status.READ: 4}
MAX_WATERMARK_MOVES = 1000
#: How long an open page keeps asking for news of a message.
WATCH_FOR = timedelta(hours=1)
FINAL = frozenset({Status.FAILED, Status.EXPIRED})


def _dedupe_key(event: ParsedEvent, mid: str) -> str:
    identity = [event.kind, mid, event.occurred_at.isoformat(), event.text, event.watermark]
    if event.kind == EventType.UNKNOWN:
        identity.append(json.dumps(event.raw, sort_keys=True, default=str))
    return hashlib.sha256(json.dumps(identity, default=str).encode()).hexdigest()


def advance(message: OutboundMessage, status: str) -> bool:
    """Move the message forward to ``status`` if that is forward; never backwards."""
    with transaction.atomic():
        current = OutboundMessage.objects.select_for_update().get(pk=message.pk)
        if RANK.get(status, 0) <= RANK.get(current.status, 0) or not can_move(
            current.status, status
        ):
            return False
        current.status = status
        current.save(update_fields=["status", "updated_at"])
    message.status = status
    return True


def _button(message: OutboundMessage, payload: str) -> dict | None:
    """The quick-reply button of ``message`` this payload belongs to, if any."""
    body = message.request_body.get("message") if isinstance(message.request_body, dict) else {}
    buttons = body.get("quickRepliesV2", []) if isinstance(body, dict) else []
    for button in buttons:
        if isinstance(button, dict) and button.get("payload") == payload:
            return button
    hidden = [b for b in buttons if isinstance(b, dict) and b.get("payloadHidden")]
    # A hidden payload comes back signed by the device; with one hidden button it is that one.
    return hidden[0] if len(hidden) == 1 else None


def _classify(bot: Bot, event: ParsedEvent) -> tuple[ParsedEvent, str, str, str]:
    """For a reply: (event, messageId it answers, payload, button title) — a press only when
    the named message of this bot really had the button."""
    press = press_of(event.text)
    if press is None:
        return event, event.mids[0] if event.mids else "", "", ""
    mid, payload = press
    target = OutboundMessage.objects.filter(bot=bot, message_id=mid).first()
    button = _button(target, payload) if target is not None else None
    if button is None:
        return event, event.mids[0] if event.mids else mid, "", ""
    return replace(event, kind=EventType.BUTTON), mid, payload, str(button.get("title", ""))


def _store(bot: Bot, batch: WebhookBatch | None, event: ParsedEvent, mid: str, **extra) -> bool:
    message = OutboundMessage.objects.filter(bot=bot, message_id=mid).first() if mid else None
    try:
        with transaction.atomic():
            MessageEvent.objects.create(
                bot=bot,
                batch=batch,
                message=message,
                kind=event.kind,
                mid=mid,
                occurred_at=event.occurred_at,
                recipient_kind=event.recipient_kind,
                recipient_value=event.recipient_value,
                recipient_dlg_id=event.recipient_dlg_id,
                text=event.text[:10_000],
                watermark=event.watermark,
                raw=event.raw,
                dedupe_key=_dedupe_key(event, mid),
                **extra,
            )
    except IntegrityError:
        return False  # seen before: a duplicate or a replayed batch
    status = STATUS_OF.get(event.kind)
    if message is not None and status is not None:
        advance(message, status)
    return True


def _watermark(bot: Bot, batch: WebhookBatch | None, event: ParsedEvent) -> None:
    """Everything this bot sent the same recipient before the watermark reached this state."""
    status = STATUS_OF[event.kind]
    if event.watermark is None or not (event.recipient_dlg_id or event.recipient_value):
        return
    try:
        before = datetime.fromtimestamp(event.watermark / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return
    same_recipient = Q()
    if event.recipient_dlg_id:
        same_recipient |= Q(platform_recipient_id=event.recipient_dlg_id)
        same_recipient |= Q(recipient_kind="id", recipient_value=event.recipient_dlg_id)
    if event.recipient_value:
        same_recipient |= Q(
            recipient_kind=event.recipient_kind, recipient_value=event.recipient_value
        )
    behind = [s for s, rank in RANK.items() if rank < RANK[status]] + [Status.UNKNOWN]
    earlier = OutboundMessage.objects.filter(
        same_recipient, bot=bot, created_at__lte=before, status__in=behind
    ).exclude(message_id__in=event.mids)[:MAX_WATERMARK_MOVES]
    for message in earlier:
        if advance(message, status):
            _store(bot, batch, event, message.message_id, via_watermark=True)


def record(bot: Bot, batch: WebhookBatch | None, events: list[ParsedEvent]) -> int:
    """Store and apply a batch's events; returns how many were new."""
    new = 0
    for event in events:
        if event.kind == EventType.REPLY:
            event, mid, payload, title = _classify(bot, event)
            new += _store(bot, batch, event, mid, payload=payload, button_title=title)
            continue
        for mid in event.mids or ("",):
            new += _store(bot, batch, event, mid)
        if event.kind in (EventType.DELIVERED, EventType.READ):
            _watermark(bot, batch, event)
    return new


def catch_up(message: OutboundMessage) -> None:
    """Apply events that arrived while the send was still being recorded (a fast platform)."""
    statuses = [
        STATUS_OF[kind]
        for kind in MessageEvent.objects.filter(
            bot=message.bot_id, mid=message.message_id, kind__in=list(STATUS_OF)
        ).values_list("kind", flat=True)
    ]
    if statuses:
        best = max(statuses, key=lambda status: RANK[status])
        advance(message, best)
        MessageEvent.objects.filter(
            bot=message.bot_id, mid=message.message_id, message=None
        ).update(message=message)


def receive(bot: Bot, body: bytes, signature_form: str) -> tuple[WebhookBatch, int]:
    """Keep a verified webhook POST and apply its events; returns the batch and new events.

    A body that is not the documented envelope is still kept, with the reason, and raises
    :class:`~messaging.webhooks.EnvelopeError` for the caller to answer 400.
    """
    digest = hashlib.sha256(body).hexdigest()
    batch = WebhookBatch.objects.create(
        bot=bot,
        body=clean(body[:65_536].decode("utf-8", "replace")),
        body_sha256=digest,
        signature_form=signature_form,
        replay=WebhookBatch.objects.filter(bot=bot, body_sha256=digest).exists(),
    )
    try:
        events = parse(body, timezone.now())
    except EnvelopeError as err:
        batch.error = str(err)
        batch.save(update_fields=["error"])
        raise
    batch.event_count = len(events)
    batch.save(update_fields=["event_count"])
    return batch, record(bot, batch, events)


def watching(message: OutboundMessage) -> bool:
    """Whether news of this message may still come: pages poll only while it may.

    A DLG message may still be sent, delivered, read, and for quick replies pressed; Certainly
    sends no events, so only its own send is awaited. After an hour, pages stop asking.
    """
    if timezone.now() - message.created_at > WATCH_FOR or message.status in FINAL:
        return False
    if message.bot.provider != Provider.DLG:
        return message.status in (Status.QUEUED, Status.SENDING)
    if message.status != Status.READ:
        return True
    return (
        message.message_type == MessageType.QUICK_REPLIES
        and not message.events.filter(kind=EventType.BUTTON).exists()
    )


def timeline(message: OutboundMessage) -> list[MessageEvent]:
    return list(message.events.order_by("occurred_at", "id"))
