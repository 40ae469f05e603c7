"""Campaigns in-process: the outbox sends each recipient exactly once, paced, retried, stopped."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from messaging import campaigns, outbox
from messaging.choices import CampaignStatus, Status
from messaging.models import (
    Bot,
    Campaign,
    MessageTemplate,
    OutboundMessage,
    Recipient,
    RecipientList,
)
from sandbox import defaults
from sandbox.config import config_from_dict
from sandbox.testing import SandboxHandle, running_sandbox

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def open_sandbox() -> Iterator[SandboxHandle]:
    config = defaults.default_config().to_dict()
    config["accept_any_recipient"] = True
    config.pop("customer", None)
    with running_sandbox(config_from_dict(config)) as server:
        yield server


@pytest.fixture
def sandbox_any(open_sandbox: SandboxHandle) -> Iterator[SandboxHandle]:
    open_sandbox.reset()
    yield open_sandbox
    open_sandbox.reset()


def make_campaign(
    sandbox: SandboxHandle,
    size: int,
    *,
    token: str = defaults.DEMO_DLG_TOKEN,
    rate: float = 1000,
    **fields,
) -> Campaign:
    bot = Bot.objects.create(
        name=f"bulk-{token[:6]}",
        provider="dlg",
        base_url=sandbox.url,
        access_token=token,
        rate_limit=rate,
    )
    template = MessageTemplate.objects.create(
        name="notice", message_type="text", content={"text": "Dear {{ first_name }}, notice."}
    )
    people = RecipientList.objects.create(name="customers")
    recipients = Recipient.objects.bulk_create(
        Recipient(
            name=f"C{i}",
            kind="appCustomerId",
            value=str(800000 + i),
            attributes={"first_name": f"Name{i}"},
        )
        for i in range(size)
    )
    people.members.add(*recipients)
    return Campaign.objects.create(
        name="notice", bot=bot, template=template, recipient_list=people, **fields
    )


def run_to_end(campaign: Campaign, limit: int = 50) -> str:
    step = "more"
    for _ in range(limit):
        step = outbox.run(campaign.pk, budget_seconds=5)
        if step == "done":
            return step
        if step == "later":
            due = outbox.next_due_at(campaign)
            if due:
                OutboundMessage.objects.filter(campaign=campaign, status=Status.QUEUED).update(
                    next_attempt_at=None
                )
    return step


def statuses(campaign: Campaign) -> Counter[str]:
    return Counter(
        OutboundMessage.objects.filter(campaign=campaign).values_list("status", flat=True)
    )


def test_every_recipient_gets_the_message_once_with_a_stable_id(sandbox_any, alice):
    campaign = make_campaign(sandbox_any, 40)

    report = campaigns.start(campaign, by=alice)
    run_to_end(campaign)

    campaign.refresh_from_db()
    assert (report.ready, campaign.status, campaign.total) == (40, CampaignStatus.FINISHED, 40)
    assert statuses(campaign) == {Status.ACCEPTED: 40}
    ids = Counter(m["body"]["message"]["messageId"] for m in sandbox_any.messages())
    assert len(ids) == 40
    assert set(ids.values()) == {1}
    recipient = Recipient.objects.get(value="800007")
    assert campaigns.message_id_for(campaign, recipient) in ids
    assert sandbox_any.messages()[0]["body"]["message"]["text"].startswith("Dear Name")


def test_dry_run_reports_problems_and_sends_nothing(sandbox_any):
    campaign = make_campaign(sandbox_any, 3)
    Recipient.objects.filter(value="800001").update(attributes={})

    report = campaigns.dry_run(campaign)

    assert report.ready == 2
    assert [problem.recipient.value for problem in report.problems] == ["800001"]
    assert "first_name" in report.problems[0].reason
    assert sandbox_any.requests() == []
    assert not OutboundMessage.objects.exists()


def test_transient_errors_are_retried_until_accepted(sandbox_any):
    campaign = make_campaign(sandbox_any, 30)
    sandbox_any.set_faults(error_rate=0.3, error_status=502, seed=7)

    campaigns.start(campaign)
    run_to_end(campaign)

    assert statuses(campaign) == {Status.ACCEPTED: 30}
    retried = OutboundMessage.objects.filter(campaign=campaign, attempts__gt=1)
    assert retried.exists()
    assert sandbox_any.stats()["duplicate_message_ids"] == 0


def test_timeouts_become_unknown_and_are_not_resent(sandbox_any, settings):
    settings.CONSOLE_READ_TIMEOUT = 0.3
    campaign = make_campaign(sandbox_any, 10)
    sandbox_any.set_faults(timeout_rate=1.0, timeout_hold_s=1)

    campaigns.start(campaign)
    run_to_end(campaign)

    assert statuses(campaign) == {Status.UNKNOWN: 10}
    assert len(sandbox_any.messages()) == 10


def test_wrong_token_pauses_the_campaign_and_flags_the_bot(sandbox_any):
    campaign = make_campaign(sandbox_any, 5, token="0" * 32)

    campaigns.start(campaign)
    run_to_end(campaign)

    campaign.refresh_from_db()
    campaign.bot.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED
    assert "access token" in campaign.paused_reason
    assert "access token" in campaign.bot.alert
    assert statuses(campaign) == {Status.QUEUED: 5}


def test_expired_messages_are_never_sent_late(sandbox_any):
    campaign = make_campaign(sandbox_any, 5, expires_at=timezone.now() - timedelta(seconds=1))

    campaigns.start(campaign)
    run_to_end(campaign)

    assert statuses(campaign) == {Status.EXPIRED: 5}
    assert sandbox_any.requests() == []


def test_sends_are_spaced_by_the_bots_rate_limit(sandbox_any):
    campaign = make_campaign(sandbox_any, 12, rate=20)

    campaigns.start(campaign)
    run_to_end(campaign)

    stamps = sorted(
        timezone.datetime.fromisoformat(m["received_at"]) for m in sandbox_any.messages()
    )
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(stamps)]
    assert min(gaps) > 0.04  # 20 per second: at least ~50 ms apart, allowing for jitter


def test_cancel_stops_what_is_left(sandbox_any):
    campaign = make_campaign(sandbox_any, 6)
    campaigns.start(campaign)

    campaigns.cancel(campaign)
    run_to_end(campaign)

    assert statuses(campaign) == {Status.CANCELLED: 6}
    assert sandbox_any.requests() == []


def test_a_worker_that_died_mid_send_leaves_unknown_not_a_resend(sandbox_any):
    campaign = make_campaign(sandbox_any, 3)
    campaigns.start(campaign)
    stuck = OutboundMessage.objects.filter(campaign=campaign).first()
    OutboundMessage.objects.filter(pk=stuck.pk).move(
        Status.SENDING,
        from_statuses=[Status.QUEUED],
        lease_owner="dead",
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )

    run_to_end(campaign)

    stuck.refresh_from_db()
    assert (stuck.status, stuck.error_code) == (Status.UNKNOWN, "worker_lost")
    assert statuses(campaign) == {Status.ACCEPTED: 2, Status.UNKNOWN: 1}
