"""The campaign outbox: workers claim queued messages, send them at their slot, settle them.

The history rows are the source of truth. A worker claims rows with a lease (``lease_owner``,
``lease_expires_at``); a claimed row that was never started goes back to the queue when its
lease ends, while a row left ``sending`` by a worker that died may already have reached the
platform, so it becomes ``unknown`` (or, if the campaign asked for it, is queued again under
the same message id). Every send goes through the same path as the compose page.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from messaging import pacing, services
from messaging.choices import CampaignStatus, Status
from messaging.models import Campaign, OutboundMessage, OutboundMessageQuerySet
from messaging.providers.base import OutgoingRequest

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0
#: Errors about the bot itself: no message through it can succeed until a person acts.
BOT_ERRORS = frozenset({"wrong_token", "bot_not_alive", "bad_credentials"})
RESCUE_FIELDS = ("status", "error_code", "error_message", "lease_owner", "lease_expires_at")


def lease() -> timedelta:
    return timedelta(seconds=settings.CAMPAIGN_LEASE_SECONDS)


def _messages(campaign: Campaign) -> OutboundMessageQuerySet:
    return OutboundMessage.objects.filter(campaign=campaign)


def due(campaign: Campaign, now: datetime) -> OutboundMessageQuerySet:
    """Queued messages whose time has come and which no live claim holds."""
    return _messages(campaign).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now),
        status=Status.QUEUED,
    )


def claim(campaign: Campaign, owner: str, limit: int) -> list[OutboundMessage]:
    """Take up to ``limit`` due messages for this worker, atomically.

    PostgreSQL skips rows another worker has locked; SQLite serialises writers, and the
    IMMEDIATE transaction makes this read-then-mark one step.
    """
    now = timezone.now()
    with transaction.atomic():
        rows = due(campaign, now).order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        ids = list(rows.values_list("id", flat=True)[:limit])
        if ids:
            OutboundMessage.objects.filter(id__in=ids).update(
                lease_owner=owner, lease_expires_at=now + lease()
            )
    return list(
        OutboundMessage.objects.filter(id__in=ids, lease_owner=owner)
        .select_related("bot")
        .order_by("id")
    )


def reap(campaign: Campaign) -> None:
    """Recover messages from workers whose lease ran out."""
    now = timezone.now()
    expired_claims = _messages(campaign).filter(status=Status.QUEUED, lease_expires_at__lt=now)
    expired_claims.update(lease_owner="", lease_expires_at=None)
    stranded = _messages(campaign).filter(status=Status.SENDING, lease_expires_at__lt=now)
    for record in stranded:
        # The request may have left before the worker died: never resend without being told.
        record.error_code = "worker_lost"
        record.error_message = (
            "The worker sending this message stopped before the platform answered, so it may or "
            "may not have been delivered."
        )
        record.status = Status.QUEUED if campaign.resend_unknown else Status.UNKNOWN
        record.lease_owner, record.lease_expires_at = "", None
        record.save(
            update_fields=[
                "status",
                "error_code",
                "error_message",
                "lease_owner",
                "lease_expires_at",
            ]
        )


def expire(campaign: Campaign) -> int:
    """Mark queued messages expired once the campaign's deadline passed: never sent late."""
    if campaign.expires_at is None or timezone.now() < campaign.expires_at:
        return 0
    return (
        _messages(campaign)
        .filter(status=Status.QUEUED)
        .move(
            Status.EXPIRED,
            from_statuses=[Status.QUEUED],
            error_code="expired",
            error_message="Not sent before the campaign's expiry time.",
            lease_owner="",
            lease_expires_at=None,
        )
    )


def backoff(attempts: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter; a platform's Retry-After is a floor."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    delay = random.uniform(0, ceiling)  # noqa: S311 - jitter, not security
    return max(delay, retry_after or 0.0)


def start_sending(record: OutboundMessage) -> bool:
    """Mark the message as leaving now; False if the claim was lost meanwhile."""
    now = timezone.now()
    moved = OutboundMessage.objects.filter(
        pk=record.pk, status=Status.QUEUED, lease_owner=record.lease_owner
    ).move(
        Status.SENDING,
        from_statuses=[Status.QUEUED],
        lease_expires_at=now + lease(),
        next_attempt_at=None,
        attempts=F("attempts") + 1,
    )
    if moved:
        record.status = Status.SENDING
        record.attempts += 1
        record.next_attempt_at = None
    return bool(moved)


def settle(campaign: Campaign, record: OutboundMessage, outcome: services.Attempt) -> None:
    """Record an attempt's outcome, deciding between done, retry later, and pause."""
    error = outcome.error
    record.lease_owner, record.lease_expires_at = "", None
    services.apply_outcome(record, outcome)
    if error is not None and error.code in BOT_ERRORS:
        # The bot, not the message, is at fault: keep the message queued and stop the campaign.
        record.status = Status.QUEUED
        pause(campaign, error.message, flag_bot=True)
    elif error is not None and not error.permanent and not error.outcome_unknown:
        if record.attempts < MAX_ATTEMPTS:
            record.status = Status.QUEUED
            wait = backoff(record.attempts, error.retry_after)
            record.next_attempt_at = timezone.now() + timedelta(seconds=wait)
        else:
            record.status = Status.FAILED
            record.error_message = f"Gave up after {record.attempts} attempts: {error.message}"
    elif error is not None and error.outcome_unknown and campaign.resend_unknown:
        record.status = Status.QUEUED
    services.save_outcome(record, also=("lease_owner", "lease_expires_at"))
    if record.status == Status.ACCEPTED:
        services.events.catch_up(record)


def pause(campaign: Campaign, reason: str, *, flag_bot: bool = False) -> None:
    Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.RUNNING).update(
        status=CampaignStatus.PAUSED, paused_reason=reason
    )
    if flag_bot:
        type(campaign.bot).objects.filter(pk=campaign.bot_id).update(
            alert=reason, alert_at=timezone.now()
        )
    logger.warning("Campaign %s paused: %s", campaign.pk, reason)


def _post(
    request: OutgoingRequest, slot: datetime, client: services.ProviderClient
) -> services.Attempt:
    pacing.wait_for(slot)
    return services.attempt(client, request)


def run(campaign_id: int, *, budget_seconds: float = 20.0) -> str:
    """Work on one campaign for up to ``budget_seconds``; returns what should happen next:
    ``"more"`` (call again now), ``"later"`` (retries are waiting), or ``"done"``."""
    campaign = Campaign.objects.select_related("bot").get(pk=campaign_id)
    if campaign.status != CampaignStatus.RUNNING:
        return "done"
    reap(campaign)
    expire(campaign)
    owner = uuid.uuid4().hex
    concurrency = max(1, settings.CAMPAIGN_CONCURRENCY)
    client = services.client_for(campaign.bot)
    deadline = time.monotonic() + budget_seconds
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="send") as pool:
        while time.monotonic() < deadline:
            campaign.refresh_from_db(fields=["status"])
            if campaign.status != CampaignStatus.RUNNING:
                break
            batch = claim(campaign, owner, concurrency * 2)
            if not batch:
                break
            slots = pacing.reserve(campaign.bot, len(batch))
            running: list[tuple[OutboundMessage, Future[services.Attempt]]] = []
            for record, slot in zip(batch, slots, strict=True):
                if campaign.expires_at is not None and slot >= campaign.expires_at:
                    break  # its slot is past the deadline: expire() marks it, never sent late
                pacing.wait_for(slot - timedelta(milliseconds=5))
                if not start_sending(record):
                    continue
                request = client.request_for(record.request_body)
                running.append((record, pool.submit(_post, request, slot, client)))
            for record, future in running:
                settle(campaign, record, future.result())
            expire(campaign)
    return next_step(campaign)


def next_step(campaign: Campaign) -> str:
    """Finish the campaign when nothing is left; otherwise say when to look again."""
    campaign.refresh_from_db()
    if campaign.status != CampaignStatus.RUNNING:
        return "done"
    now = timezone.now()
    if due(campaign, now).exists():
        return "more"
    waiting = _messages(campaign).filter(status__in=[Status.QUEUED, Status.SENDING]).exists()
    if waiting:
        return "later"
    Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.RUNNING).update(
        status=CampaignStatus.FINISHED, finished_at=now
    )
    return "done"


def next_due_at(campaign: Campaign) -> datetime | None:
    """When the earliest waiting message may be tried again (or a lease ends)."""
    rows = _messages(campaign).filter(status__in=[Status.QUEUED, Status.SENDING])
    times = [
        value
        for value in (
            rows.exclude(next_attempt_at=None)
            .order_by("next_attempt_at")
            .values_list("next_attempt_at", flat=True)
            .first(),
            rows.exclude(lease_expires_at=None)
            .order_by("lease_expires_at")
            .values_list("lease_expires_at", flat=True)
            .first(),
        )
        if value is not None
    ]
    return min(times) if times else None
