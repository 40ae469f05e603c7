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
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
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
        pk=record.pk,
        status=Status.QUEUED,
        lease_owner=record.lease_owner,
        campaign__status=CampaignStatus.RUNNING,  # a pause stops every worker at once
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


#: What settling a message writes, in one guarded UPDATE.
SETTLED_FIELDS = (*services.ANSWER_FIELDS, "lease_owner", "lease_expires_at")


def settle(
    campaign: Campaign, record: OutboundMessage, outcome: services.Attempt, *, events: bool = True
) -> str:
    """Record an attempt's outcome, deciding between done and retry later; returns a reason to
    pause the campaign (the platform refused the bot itself), or "".

    One UPDATE guarded by the status the message was sent under, so a row another worker
    already settled is never overwritten.
    """
    pause_reason = ""
    error = outcome.error
    record.lease_owner, record.lease_expires_at = "", None
    services.apply_outcome(record, outcome)
    if error is not None and error.code in BOT_ERRORS:
        # The bot, not the message, is at fault: keep the message queued and stop the campaign.
        record.status = Status.QUEUED
        pause_reason = error.message
    elif error is not None and not error.permanent and not error.outcome_unknown:
        if record.attempts < MAX_ATTEMPTS:
            record.status = Status.QUEUED
            wait_seconds = backoff(record.attempts, error.retry_after)
            record.next_attempt_at = timezone.now() + timedelta(seconds=wait_seconds)
        else:
            record.status = Status.FAILED
            record.error_message = f"Gave up after {record.attempts} attempts: {error.message}"
    elif error is not None and error.outcome_unknown and campaign.resend_unknown:
        record.status = Status.QUEUED
    OutboundMessage.objects.filter(pk=record.pk, status=Status.SENDING).move(
        record.status,
        from_statuses=[Status.SENDING],
        **{name: getattr(record, name) for name in SETTLED_FIELDS},
    )
    if record.status == Status.ACCEPTED and events:
        services.events.catch_up(record)
    return pause_reason


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
    ``"more"`` (call again now), ``"later"`` (retries are waiting), or ``"done"``.

    Messages flow through a fixed number of sending threads: a send slot is reserved only when
    a thread is free (so a slot is never spent waiting for one, and posts cannot bunch up past
    the rate limit), and each answer is recorded as soon as it arrives.
    """
    campaign = Campaign.objects.select_related("bot").get(pk=campaign_id)
    if campaign.status != CampaignStatus.RUNNING:
        return "done"
    reap(campaign)
    expire(campaign)
    with Sender(campaign, deadline=time.monotonic() + budget_seconds) as sender:
        sender.work()
    expire(campaign)
    return next_step(campaign)


class Sender:
    """One worker's pass over a campaign: claimed messages in, settled messages out."""

    STATUS_CHECK_SECONDS = 0.5

    def __init__(self, campaign: Campaign, *, deadline: float) -> None:
        self.campaign = campaign
        self.deadline = deadline
        self.owner = uuid.uuid4().hex
        self.concurrency = max(1, settings.CAMPAIGN_CONCURRENCY)
        self.client = services.client_for(campaign.bot)
        self.claimed: deque[OutboundMessage] = deque()
        self.in_flight: dict[Future[services.Attempt], OutboundMessage] = {}
        self.checked_at = time.monotonic()
        self.stopping = False
        # Events can only arrive early for a bot with a webhook; skip the look-up otherwise.
        self.events = bool(campaign.bot.webhook_secret)
        self.pause_reason = ""

    def __enter__(self) -> Sender:
        self.pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="send")
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._drain()
        finally:
            self.pool.shutdown(wait=True)
            self._release(self.claimed)
        if self.pause_reason:
            # Paused once nothing of this worker's is in flight any more.
            pause(self.campaign, self.pause_reason, flag_bot=True)

    def work(self) -> None:
        while not self._should_stop():
            free = self.concurrency - len(self.in_flight)
            if free == 0:
                self._settle(timeout=None)
                continue
            if not self.claimed:
                self.claimed.extend(claim(self.campaign, self.owner, self.concurrency * 2))
                if not self.claimed:
                    if not self.in_flight:
                        return
                    self._settle(timeout=None)
                    continue
            take = [self.claimed.popleft() for _ in range(min(free, len(self.claimed)))]
            slots = pacing.reserve(self.campaign.bot, len(take))
            for index, (record, slot) in enumerate(zip(take, slots, strict=True)):
                if not self._dispatch(record, slot):
                    self.claimed.extendleft(reversed(take[index:]))
                    self.stopping = True
                    break

    def _should_stop(self) -> bool:
        if self.stopping or time.monotonic() >= self.deadline:
            return True
        if time.monotonic() - self.checked_at >= self.STATUS_CHECK_SECONDS:
            self.checked_at = time.monotonic()
            self.campaign.refresh_from_db(fields=["status"])
            self.stopping = self.campaign.status != CampaignStatus.RUNNING
        return self.stopping

    def _dispatch(self, record: OutboundMessage, slot: datetime) -> bool:
        """Send at the slot; False (nothing sent) when this worker should stop: the slot is past
        the campaign's expiry, or the campaign is no longer running."""
        expires_at = self.campaign.expires_at
        if expires_at is not None and slot >= expires_at:
            return False  # expire() marks it: never sent late
        # Record answers while waiting for the slot, so none waits on the pacing.
        while (delay := (slot - timezone.now()).total_seconds() - 0.005) > 0:
            self._settle(timeout=delay)
        if not start_sending(record):
            return False  # paused, cancelled or taken over: stop, and hand back what is left
        request = self.client.request_for(record.request_body)
        self.in_flight[self.pool.submit(_post, request, slot, self.client)] = record
        return True

    def _settle(self, timeout: float | None) -> None:
        if not self.in_flight:
            if timeout:
                time.sleep(timeout)
            return
        finished, _ = wait(self.in_flight, timeout=timeout, return_when=FIRST_COMPLETED)
        for future in finished:
            reason = settle(
                self.campaign, self.in_flight.pop(future), future.result(), events=self.events
            )
            if reason:
                self.pause_reason, self.stopping = reason, True

    def _drain(self) -> None:
        while self.in_flight:
            self._settle(timeout=None)

    @staticmethod
    def _release(records: deque[OutboundMessage]) -> None:
        """Hand back claimed messages that were never started, for any worker to take now."""
        ids = [record.pk for record in records]
        if ids:
            OutboundMessage.objects.filter(id__in=ids, status=Status.QUEUED).update(
                lease_owner="", lease_expires_at=None
            )


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
