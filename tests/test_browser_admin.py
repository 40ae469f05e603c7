"""The console's front door works in a real browser: an admin signs in and sees the bots."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_signs_in_and_sees_bot_tokens_only_as_fingerprints(
    page: Page, live_server, admin_user, dlg_bot
) -> None:
    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Messaging")).to_be_visible()
    page.get_by_role("link", name="Bots").click()

    row = page.get_by_role("row", name="demo-dlg")
    expect(row).to_contain_text(dlg_bot.token_fingerprint)
    assert dlg_bot.access_token not in page.content()
