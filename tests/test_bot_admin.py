"""Bot admins set tokens without ever seeing them again."""

from __future__ import annotations

import pytest
from django.urls import reverse

from messaging.models import Bot

pytestmark = pytest.mark.django_db
TOKEN = "c2dc9bf3e0c3218e9ab22b56002e4644"


def form_data(**overrides: str) -> dict[str, str]:
    return {
        "name": "retail",
        "provider": "dlg",
        "base_url": "https://api.dlg.example/",
        "access_token": TOKEN,
        "is_active": "on",
        "rate_limit": "5",
        "webhook_id": "",
        "webhook_secret": "",
        **overrides,
    }


def test_new_bot_requires_a_token(client, admin_user) -> None:
    client.force_login(admin_user)

    response = client.post(reverse("admin:messaging_bot_add"), form_data(access_token=""))

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not Bot.objects.exists()


def test_token_is_stored_and_never_rendered_back(client, admin_user) -> None:
    client.force_login(admin_user)
    client.post(reverse("admin:messaging_bot_add"), form_data())
    bot = Bot.objects.get()

    change_page = client.get(reverse("admin:messaging_bot_change", args=[bot.pk])).content.decode()
    list_page = client.get(reverse("admin:messaging_bot_changelist")).content.decode()

    assert bot.access_token == TOKEN
    assert bot.base_url == "https://api.dlg.example"
    assert (bot.created_by, bot.updated_by) == (admin_user, admin_user)
    for page in (change_page, list_page):
        assert TOKEN not in page
        assert bot.token_fingerprint in page


def test_blank_token_on_edit_keeps_the_current_one(client, admin_user) -> None:
    client.force_login(admin_user)
    client.post(reverse("admin:messaging_bot_add"), form_data())
    bot = Bot.objects.get()

    client.post(
        reverse("admin:messaging_bot_change", args=[bot.pk]),
        form_data(access_token="", rate_limit="2"),
    )

    bot.refresh_from_db()
    assert (bot.access_token, bot.rate_limit) == (TOKEN, 2.0)


def test_webhook_details_and_a_new_secret_shown_once(client, admin_user, dlg_bot) -> None:
    client.force_login(admin_user)
    change_url = reverse("admin:messaging_bot_change", args=[dlg_bot.pk])
    secret_url = reverse("admin:messaging_bot_webhook_secret", args=[dlg_bot.pk])

    page = client.get(change_url).content.decode()
    shown = client.post(secret_url).content.decode()
    again = client.get(change_url).content.decode()

    dlg_bot.refresh_from_db()
    assert f"http://testserver/webhooks/dlg/{dlg_bot.pk}/" in page
    assert f'<code data-testid="new-secret">{dlg_bot.webhook_secret}</code>' in shown
    assert len(dlg_bot.webhook_secret) == 40
    assert dlg_bot.webhook_secret not in again
    assert dlg_bot.webhook_secret_fingerprint in again
    change = dlg_bot.secret_changes.get(secret="webhook_secret")
    assert (change.changed_by, change.old_fingerprint) == (admin_user, "(not set)")


def test_a_new_secret_needs_a_post_and_the_change_permission(client, carol, dlg_bot) -> None:
    client.force_login(carol)
    secret_url = reverse("admin:messaging_bot_webhook_secret", args=[dlg_bot.pk])

    assert client.post(secret_url).status_code == 403
    dlg_bot.refresh_from_db()
    assert dlg_bot.webhook_secret == ""
