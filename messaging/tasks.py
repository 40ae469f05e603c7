"""Background tasks: thin wrappers that take ids and call the outbox.

A campaign is worked on in slices (``outbox.run`` stops after a time budget) so that one long
campaign never holds a worker hostage, and a pause takes effect quickly. Before each slice a
single delayed "watchdog" task is queued per campaign: if the worker running the slice is
killed, the watchdog picks the campaign up once the lease has run out.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.tasks import task
from django.utils import timezone

from messaging import outbox
from messaging.choices import CampaignStatus
from messaging.models import Campaign


def _arm_watchdog(campaign_id: int) -> None:
    """Queue one delayed check for this campaign unless one is already waiting."""
    now = timezone.now()
    when = now + outbox.lease() + timedelta(seconds=5)
    armed = Campaign.objects.filter(
        Q(watchdog_at__isnull=True) | Q(watchdog_at__lt=now + outbox.lease() / 2),
        pk=campaign_id,
        status=CampaignStatus.RUNNING,
    ).update(watchdog_at=when)
    if armed:
        run_campaign.using(run_after=when).enqueue(campaign_id)


@task()
def run_campaign(campaign_id: int) -> str:
    """Send one slice of a campaign, then queue whatever should follow."""
    Campaign.objects.filter(
        pk=campaign_id, status=CampaignStatus.SCHEDULED, scheduled_at__lte=timezone.now()
    ).update(status=CampaignStatus.RUNNING)
    _arm_watchdog(campaign_id)
    step = outbox.run(campaign_id)
    if step == "more":
        run_campaign.enqueue(campaign_id)
    elif step == "later":
        campaign = Campaign.objects.get(pk=campaign_id)
        when = outbox.next_due_at(campaign) or timezone.now() + timedelta(seconds=1)
        run_campaign.using(run_after=when).enqueue(campaign_id)
    return step
