"""Campaigns: render a template for every member of a list, then let workers send the outbox.

Starting a campaign writes one history row per recipient (status queued) with a message id
derived from the campaign and the recipient, so every retry of that message, on any worker,
reuses the same id, and a unique constraint makes a second row for the same recipient
impossible. What each row will send is fixed when it is written.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from messaging import services, templating
from messaging.choices import CampaignStatus, Status
from messaging.models import Campaign, OutboundMessage, Recipient
from messaging.providers.specs import Address, InvalidMessage, Message, validate

_NAMESPACE = uuid.UUID("6f0a4c52-8f0b-4d4e-9a43-5b8c2f1d7e90")
BATCH = 1000


def message_id_for(campaign: Campaign, recipient: Recipient) -> str:
    """The same id for this campaign and recipient, every time it is asked for."""
    key = f"campaign:{campaign.pk}:{recipient.kind}:{recipient.value}"
    return f"dlgc-{uuid.uuid5(_NAMESPACE, key).hex}"


@dataclass
class Problem:
    recipient: Recipient
    reason: str


@dataclass
class Report:
    """What a dry run found: how many messages are ready and why the others are not."""

    ready: int = 0
    problems: list[Problem] = field(default_factory=list)


def _render(campaign: Campaign, recipient: Recipient) -> Message:
    address = Address(recipient.kind, recipient.value)
    message = templating.render(
        campaign.template.message_type, campaign.template.content, recipient.attributes or {}
    )
    validate(address, message, campaign.bot.provider)
    return message


def _members(campaign: Campaign) -> Any:
    return campaign.recipient_list.members.order_by("id")


def dry_run(campaign: Campaign) -> Report:
    """Render and check every message, send nothing."""
    report = Report()
    for recipient in _members(campaign).iterator(chunk_size=BATCH):
        try:
            _render(campaign, recipient)
        except (InvalidMessage, templating.MissingVariables) as err:
            report.problems.append(Problem(recipient, str(err)))
        else:
            report.ready += 1
    return report


def start(campaign: Campaign, *, by: Any = None) -> Report:
    """Write the outbox and hand the campaign to the workers (now, or at its time).

    Recipients whose message cannot be rendered are recorded as failed, with the reason,
    so the history accounts for every member of the list.
    """
    if campaign.status != CampaignStatus.DRAFT:
        raise ValueError("Only a draft campaign can be started.")
    services.check_sendable(campaign.bot)
    client = services.client_for(campaign.bot)
    report = Report()
    rows: list[OutboundMessage] = []
    for recipient in _members(campaign).iterator(chunk_size=BATCH):
        message_id = message_id_for(campaign, recipient)
        address = Address(recipient.kind, recipient.value)
        try:
            message = _render(campaign, recipient)
        except (InvalidMessage, templating.MissingVariables) as err:
            report.problems.append(Problem(recipient, str(err)))
            rows.append(_row(campaign, recipient, message_id, {}, Status.FAILED, str(err), by))
            continue
        body = client.build_request(address, message, message_id).recorded_body
        row = _row(campaign, recipient, message_id, body, Status.QUEUED, "", by)
        row.summary = services.summary_of(message)
        rows.append(row)
        report.ready += 1
    with transaction.atomic():
        for index in range(0, len(rows), BATCH):
            OutboundMessage.objects.bulk_create(rows[index : index + BATCH], ignore_conflicts=True)
        later = campaign.scheduled_at is not None and campaign.scheduled_at > timezone.now()
        campaign.status = CampaignStatus.SCHEDULED if later else CampaignStatus.RUNNING
        campaign.total = len(rows)
        campaign.started_at = timezone.now()
        campaign.save(update_fields=["status", "total", "started_at"])
        transaction.on_commit(lambda: launch(campaign))
    return report


def _row(
    campaign: Campaign,
    recipient: Recipient,
    message_id: str,
    body: dict[str, Any],
    status: str,
    error: str,
    by: Any,
) -> OutboundMessage:
    return OutboundMessage(
        message_id=message_id,
        bot=campaign.bot,
        campaign=campaign,
        recipient=recipient,
        recipient_kind=recipient.kind,
        recipient_value=recipient.value,
        recipient_name=recipient.name,
        message_type=campaign.template.message_type,
        template=campaign.template,
        request_body=body,
        status=status,
        error_code="invalid_message" if error else "",
        error_message=error,
        sender=by if getattr(by, "is_authenticated", False) else None,
    )


def launch(campaign: Campaign, parallel: int | None = None) -> None:
    """Queue the tasks that work on the campaign (several, so several workers can share it)."""
    from django.conf import settings

    from messaging.tasks import run_campaign

    count = parallel or settings.CAMPAIGN_PARALLEL_TASKS
    runner = run_campaign
    if campaign.status == CampaignStatus.SCHEDULED and campaign.scheduled_at is not None:
        runner = run_campaign.using(run_after=campaign.scheduled_at)
    for _ in range(count):
        runner.enqueue(campaign.pk)


def pause(campaign: Campaign, reason: str = "Paused by a person.") -> None:
    Campaign.objects.filter(
        pk=campaign.pk, status__in=[CampaignStatus.RUNNING, CampaignStatus.SCHEDULED]
    ).update(status=CampaignStatus.PAUSED, paused_reason=reason)


def resume(campaign: Campaign) -> None:
    """Carry on; a bot flagged by the platform must have been fixed first."""
    campaign.bot.refresh_from_db()
    if campaign.bot.alert:
        raise ValueError(
            f"The bot {campaign.bot.name} needs attention first: {campaign.bot.alert} "
            "Clear the alert on the bot's page once it is fixed."
        )
    updated = Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.PAUSED).update(
        status=CampaignStatus.RUNNING, paused_reason=""
    )
    if updated:
        campaign.refresh_from_db()
        launch(campaign)


def cancel(campaign: Campaign) -> int:
    """Stop for good: messages not yet sent are cancelled, never sent."""
    with transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).exclude(
            status__in=[CampaignStatus.FINISHED, CampaignStatus.CANCELLED]
        ).update(status=CampaignStatus.CANCELLED, finished_at=timezone.now())
        return (
            OutboundMessage.objects.filter(campaign=campaign, status=Status.QUEUED)
            .filter(lease_owner="")
            .move(Status.CANCELLED, from_statuses=[Status.QUEUED])
        )


def resend_unknown(campaign: Campaign) -> int:
    """A person decided: send the messages with an unknown outcome again (same message id)."""
    moved = OutboundMessage.objects.filter(campaign=campaign, status=Status.UNKNOWN).move(
        Status.QUEUED, from_statuses=[Status.UNKNOWN], next_attempt_at=None
    )
    if moved and campaign.status in (CampaignStatus.FINISHED, CampaignStatus.RUNNING):
        Campaign.objects.filter(pk=campaign.pk).update(
            status=CampaignStatus.RUNNING, finished_at=None
        )
        campaign.refresh_from_db()
        launch(campaign, parallel=1)
    return moved


def drop_unknown(campaign: Campaign) -> int:
    """A person decided: do not send the unknown ones again; they count as failed."""
    return OutboundMessage.objects.filter(campaign=campaign, status=Status.UNKNOWN).move(
        Status.FAILED,
        from_statuses=[Status.UNKNOWN],
        error_code="dropped",
        error_message="Outcome unknown; a person chose not to send it again.",
    )


@dataclass(frozen=True)
class Progress:
    counts: dict[str, int]
    total: int
    rate: float
    eta_seconds: float | None

    @property
    def pending(self) -> int:
        return self.counts.get(Status.QUEUED, 0) + self.counts.get(Status.SENDING, 0)

    @property
    def done(self) -> int:
        return self.total - self.pending

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


RATE_WINDOW = timedelta(seconds=10)


def progress(campaign: Campaign) -> Progress:
    """Counts by status, the recent sending rate, and an estimate of the time left."""
    rows = OutboundMessage.objects.filter(campaign=campaign)
    counts = {
        entry["status"]: entry["count"]
        for entry in rows.values("status").annotate(count=Count("id")).order_by()
    }
    since = timezone.now() - RATE_WINDOW
    recent = rows.filter(sent_at__gte=since).count()
    rate = recent / RATE_WINDOW.total_seconds()
    total = sum(counts.values())
    pending = counts.get(Status.QUEUED, 0) + counts.get(Status.SENDING, 0)
    eta = pending / rate if rate > 0 and pending else None
    return Progress(counts=counts, total=total, rate=rate, eta_seconds=eta)
