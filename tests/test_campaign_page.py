"""Steering a campaign from its page: dry run, start, live progress, pause, resume, cancel."""

from __future__ import annotations

import pytest
from django.urls import reverse

from messaging import outbox
from messaging.choices import CampaignStatus, Status
from messaging.models import Campaign, MessageTemplate, OutboundMessage, Recipient, RecipientList
from tests.roles import client_for, make_user

pytestmark = pytest.mark.django_db
POLL = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def campaign(dlg_bot) -> Campaign:
    people = RecipientList.objects.create(name="Branch customers")
    people.members.add(
        Recipient.objects.create(
            name="Ayşe", kind="appCustomerId", value="70023", attributes={"first_name": "Ayşe"}
        ),
        Recipient.objects.create(name="Nobody", kind="appCustomerId", value="70021"),
    )
    template = MessageTemplate.objects.create(
        name="Card", message_type="text", content={"text": "Dear {{ first_name }}, your card."}
    )
    return Campaign.objects.create(
        name="Card notice", bot=dlg_bot, template=template, recipient_list=people
    )


def act(client, campaign: Campaign, action: str):
    return client.post(
        reverse("messaging:campaign-action", args=[campaign.pk, action]), follow=True
    )


def test_dry_run_lists_problems_and_sends_nothing(campaign, sandbox):
    client = client_for(make_user("sender"))

    page = act(client, campaign, "dry-run").content.decode()

    assert "1 message ready; 1 problem. Nothing was sent." in page
    assert "The recipient has no value for “first_name”." in page
    assert sandbox.requests() == []


def test_start_queues_the_outbox_and_the_page_follows_it_live(campaign, sandbox):
    client = client_for(make_user("sender"))

    page = act(client, campaign, "start").content.decode()
    live = client.get(reverse("messaging:campaign", args=[campaign.pk]) + "?live=1", **POLL)
    outbox.run(campaign.pk, budget_seconds=5)
    outbox.next_step(campaign)
    final = client.get(reverse("messaging:campaign", args=[campaign.pk]) + "?live=1", **POLL)

    assert "Started: 1 messages queued; 1 could not be rendered." in page
    assert live.status_code == 200
    assert 'hx-trigger="every 1s' in live.content.decode()
    assert final.status_code == 286
    assert 'data-testid="count-accepted">1<' in final.content.decode()
    assert 'data-testid="count-failed">1<' in final.content.decode()
    assert 'data-testid="progress-percent">100%<' in final.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.FINISHED


def test_pause_resume_and_cancel(campaign, sandbox):
    client = client_for(make_user("sender"))
    act(client, campaign, "start")

    act(client, campaign, "pause")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED
    assert outbox.run(campaign.pk) == "done"
    assert sandbox.requests() == []

    act(client, campaign, "resume")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING

    page = act(client, campaign, "cancel").content.decode()
    assert "Cancelled: 1 messages will not be sent." in page
    queued = OutboundMessage.objects.filter(campaign=campaign, status=Status.QUEUED)
    assert not queued.exists()


def test_resume_is_refused_while_the_bot_needs_attention(campaign, sandbox):
    client = client_for(make_user("sender"))
    act(client, campaign, "start")
    act(client, campaign, "pause")
    campaign.bot.alert = "DLG did not recognise this bot's access token."
    campaign.bot.save()

    page = act(client, campaign, "resume").content.decode()

    assert "needs attention first" in page
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED


def test_a_new_token_clears_the_bots_alert(campaign):
    campaign.bot.alert = "wrong token"
    campaign.bot.save()

    campaign.bot.access_token = "a-fresh-token-0001"
    campaign.bot.save()

    campaign.bot.refresh_from_db()
    assert campaign.bot.alert == ""


def test_adding_a_campaign_in_the_admin_leads_to_its_page(dlg_bot, campaign):
    client = client_for(make_user("sender"))
    data = {
        "name": "Second notice",
        "bot": dlg_bot.pk,
        "template": campaign.template.pk,
        "recipient_list": campaign.recipient_list.pk,
    }

    response = client.post(reverse("admin:messaging_campaign_add"), data)

    created = Campaign.objects.get(name="Second notice")
    assert response["Location"] == reverse("messaging:campaign", args=[created.pk])
    assert created.status == CampaignStatus.DRAFT
