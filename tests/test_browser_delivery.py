"""In a real browser: a quick-reply message's life appears on its page without a reload."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from messaging.models import Bot
from sandbox import defaults
from tests.browser_helpers import (
    button_field,
    choose_type,
    open_compose,
    send,
    swapped,
    type_recipient,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def webhooked_bot(live_server, sandbox) -> Bot:
    bot = Bot.objects.create(
        name=defaults.DEMO_DLG_BOT_NAME,
        provider="dlg",
        base_url=sandbox.url,
        access_token=defaults.DEMO_DLG_TOKEN,
        webhook_id=defaults.DEMO_DLG_WEBHOOK_ID,
        webhook_secret=defaults.DEMO_DLG_WEBHOOK_SECRET,
    )
    sandbox.set_webhook(
        defaults.DEMO_DLG_BOT_NAME,
        f"{live_server.url}/webhooks/dlg/{bot.pk}/",
        app_secret=defaults.DEMO_DLG_WEBHOOK_SECRET,
    )
    return bot


def test_quick_reply_message_shows_its_life_and_the_pressed_button_live(
    page: Page, live_server, alice, webhooked_bot, sandbox
) -> None:
    open_compose(page, live_server.url)
    choose_type(page, "Quick replies")
    type_recipient(page, "DLG customer id", "70023")
    page.locator("#id_text").fill("Can you make your appointment tomorrow at 10:00?")
    for row, (title, payload) in enumerate([("Yes", "appointment-yes"), ("No", "appointment-no")]):
        with swapped(page, "refresh"):
            page.get_by_role("button", name="Add a button").click()
        button_field(page, row, "title").fill(title)
        button_field(page, row, "payload").fill(payload)
    send(page)

    expect(page.get_by_text("accepted the message")).to_be_visible()
    page.evaluate("window.__samePage = true")
    status = page.get_by_test_id("status")
    expect(status).to_have_text("Accepted")
    expect(page.get_by_test_id("pressed-button")).to_have_text("Yes", timeout=20_000)

    kinds = page.get_by_test_id("event").evaluate_all("items => items.map(i => i.dataset.kind)")
    assert kinds == ["sent", "delivered", "read", "button"]
    expect(status).to_have_text("Read")
    assert page.evaluate("window.__samePage") is True
    [posted] = [m for m in sandbox.messages() if m["platform"] == "dlg"]
    assert re.fullmatch(r"dlgc-[0-9a-f]{32}", posted["body"]["message"]["messageId"])
