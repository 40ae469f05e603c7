"""In a real browser: a campaign started from its page fills its progress bar live."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth.models import Permission, User
from playwright.sync_api import Page, expect

from messaging import outbox
from messaging.models import Campaign, MessageTemplate, Recipient, RecipientList
from tests.browser_helpers import PASSWORD, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def campaign(dlg_bot) -> Campaign:
    customers = RecipientList.objects.create(name="Branch customers")
    customers.members.add(
        *[
            Recipient.objects.create(
                name=name, kind="appCustomerId", value=value, attributes={"first_name": name}
            )
            for name, value in [("Ayşe", "70023"), ("Mehmet", "70021"), ("Zeynep", "70022")]
        ]
    )
    template = MessageTemplate.objects.create(
        name="Card", message_type="text", content={"text": "Dear {{ first_name }}, your card."}
    )
    dlg_bot.rate_limit = 2  # slow enough to watch the bar move
    dlg_bot.save()
    return Campaign.objects.create(
        name="Card notice", bot=dlg_bot, template=template, recipient_list=customers
    )


def test_a_started_campaign_shows_its_progress_without_a_reload(
    page: Page, live_server, campaign, sandbox
) -> None:
    # Direct rights, not the Senders group: transactional tests flush the groups migrations made.
    runner = User.objects.create_user("runner", password=PASSWORD, is_staff=True)
    runner.user_permissions.set(
        Permission.objects.filter(codename__in=["view_campaign", "run_campaign"])
    )
    sign_in(page, live_server.url, "runner")
    page.goto(f"{live_server.url}/admin/console/campaigns/{campaign.pk}/")
    page.get_by_role("button", name="Dry run").click()
    expect(page.get_by_test_id("dry-run")).to_contain_text("3 messages ready; 0 problems")

    page.get_by_role("button", name="Start").click()
    expect(page.get_by_test_id("campaign-status")).to_have_text("Running")
    page.evaluate("window.__samePage = true")
    worker = threading.Thread(target=outbox.run, args=[campaign.pk], kwargs={"budget_seconds": 10})
    worker.start()

    expect(page.get_by_test_id("pending")).not_to_have_text("3", timeout=10_000)
    worker.join()
    outbox.next_step(campaign)
    expect(page.get_by_test_id("campaign-status")).to_have_text("Finished", timeout=10_000)
    expect(page.get_by_test_id("progress-percent")).to_have_text("100%")
    expect(page.get_by_test_id("count-accepted-total")).to_have_text("3")
    assert page.evaluate("window.__samePage") is True
    assert len(sandbox.messages()) == 3
