"""Driving the console in a real browser: signing in, waiting out htmx swaps, sending."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Locator, Page, expect

from messaging.models import Bot

PASSWORD = "correct horse battery staple"


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base_url}/admin/")


def open_compose(page: Page, base_url: str, username: str = "alice") -> None:
    sign_in(page, base_url, username)
    page.get_by_role("link", name="Compose a message").click()
    expect(page.get_by_role("heading", name="Compose a message")).to_be_visible()
    expect(page.get_by_test_id("phone")).to_be_visible()


@contextmanager
def swapped(page: Page, endpoint: str) -> Iterator[None]:
    """Wait until the htmx request the block starts has been answered, swapped in and settled."""
    with page.expect_response(lambda response: f"/compose/{endpoint}/" in response.url):
        yield
    # Settled, not only answered: htmx wires up swapped-in elements as the swap settles.
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


def choose_bot(page: Page, bot: Bot) -> None:
    with swapped(page, "refresh"):
        page.get_by_label("Bot").select_option(str(bot.pk))
    expect(page.locator(".phone-bar")).to_have_text(bot.name)


def choose_type(page: Page, label: str) -> None:
    with swapped(page, "refresh"):
        page.get_by_label("Type", exact=True).select_option(label=label)


def type_recipient(page: Page, kind: str, value: str) -> None:
    page.locator("#id_recipient_kind").select_option(label=kind)
    page.locator("#id_recipient_value").fill(value)


def send(page: Page) -> str:
    """Press Send, wait for the result page and return the message id it shows."""
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_test_id("send-result")).to_be_visible()
    return page.get_by_test_id("message-id").inner_text().strip()


def button_field(page: Page, row: int, name: str) -> Locator:
    return page.locator(f"#id_buttons-{row}-{name}")
