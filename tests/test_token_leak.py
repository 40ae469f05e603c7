"""A planted bot token and webhook secret, pushed through every page, send outcome, log line,
export and table: neither ever comes back out."""

from __future__ import annotations

import dataclasses
import html
import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse

from messaging.models import Bot, OutboundMessage, SecretChange
from messaging.secrets import fingerprint
from sandbox.config import BotConfig
from sandbox.defaults import default_config
from sandbox.testing import SandboxHandle, running_sandbox
from tests.compose_helpers import post_data
from tests.roles import client_for, superuser
from tests.test_token_safety import everything_stored
from tests.webhook_helpers import entry, envelope, sign

__all__ = ["superuser"]  # a fixture used by name below

pytestmark = pytest.mark.django_db

TOKEN = "LEAK-c2dc9bf3e0c3218e9ab22b56002e4644"
NEW_TOKEN = "LEAK-NEW-7d41e08a5f9c4b2e86a3d0c1b9f57e26"
SECRET = "HOOK-SECRET-9a8b7c6d5e4f30211f2e3d4c5b6a7988"
SECRETS = (TOKEN, NEW_TOKEN, SECRET)
#: What the token looks like on a URL path or in a header, encoded or not.
TOKEN_FORMS = (TOKEN, TOKEN.replace("-", "%2D"), "c2dc9bf3e0c3218e9ab22b56002e4644")


@pytest.fixture(scope="module")
def leak_sandbox() -> Iterator[SandboxHandle]:
    """The demo sandbox, also knowing a bot whose token is the planted one."""
    config = default_config()
    config = dataclasses.replace(config, bots=(*config.bots, BotConfig("leaky", "dlg", TOKEN)))
    with running_sandbox(config) as server:
        yield server


@pytest.fixture
def sandbox_for_leaks(leak_sandbox: SandboxHandle) -> Iterator[SandboxHandle]:
    leak_sandbox.reset()
    yield leak_sandbox
    leak_sandbox.reset()


@pytest.fixture
def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@pytest.fixture
def leaky_bot(sandbox_for_leaks: SandboxHandle) -> Bot:
    return Bot.objects.create(
        name="leaky",
        provider="dlg",
        base_url=sandbox_for_leaks.url,
        access_token=TOKEN,
        webhook_secret=SECRET,
    )


class Seen:
    """Everything a person or a file could show: page bodies, headers, downloads."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.parts: list[str] = []
        self.last = ""

    def keep(self, response: Any) -> Any:
        if getattr(response, "streaming", False):
            body = b"".join(response.streaming_content)
        else:
            body = response.content
        self.last = body.decode("utf-8", errors="replace")
        self.parts.append(self.last)
        self.parts.append(repr(sorted(response.items())))
        for url, _ in getattr(response, "redirect_chain", []):
            self.parts.append(url)
        return response

    def get(self, url: str, **params: Any) -> Any:
        response = self.keep(self.client.get(url, params, follow=True))
        assert response.status_code == 200, url
        return response

    def post(self, url: str, data: Any, **extra: Any) -> Any:
        return self.keep(self.client.post(url, data, follow=True, **extra))

    @property
    def text(self) -> str:
        return "\n".join(self.parts)


def compose_send(seen: Seen, bot: Bot, **fields: Any) -> OutboundMessage:
    data = post_data(bot, **fields)
    response = seen.post(reverse("messaging:compose"), data)
    assert response.status_code == 200
    return OutboundMessage.objects.get(message_id=data["message_id"])


def log_everything(caplog: Any) -> None:
    """Capture at DEBUG from every logger, including those configured with a level of their
    own (``messaging`` is INFO unless LOG_LEVEL says otherwise)."""
    caplog.set_level(logging.DEBUG)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and logger.level != logging.NOTSET:
            caplog.set_level(logging.DEBUG, logger=name)


def assert_nowhere(*places: str) -> None:
    for place in places:
        for secret in (*SECRETS, *TOKEN_FORMS):
            assert secret not in place


def test_token_and_secret_appear_nowhere(
    superuser, leaky_bot, sandbox_for_leaks, closed_port_url, settings, caplog
) -> None:
    log_everything(caplog)
    seen = Seen(client_for(superuser))
    compose = reverse("messaging:compose")

    # Every way a send can end.
    accepted = compose_send(seen, leaky_bot, text="Your card is ready")
    refused = compose_send(seen, leaky_bot, recipient_value="404404")
    leaky_bot.base_url = closed_port_url
    leaky_bot.save()
    unreachable = compose_send(seen, leaky_bot)
    leaky_bot.base_url = sandbox_for_leaks.url
    leaky_bot.save()
    settings.CONSOLE_READ_TIMEOUT = 0.3
    sandbox_for_leaks.set_faults(timeout_rate=1.0, timeout_hold_s=2)
    timed_out = compose_send(seen, leaky_bot)
    sandbox_for_leaks.set_faults()
    outcomes = [r.status for r in (accepted, refused, unreachable, timed_out)]
    assert outcomes == ["accepted", "failed", "failed", "unknown"]
    assert (refused.error_code, unreachable.error_code) == (
        "recipient_not_found",
        "connection_failed",
    )

    # The platform's events, signed with the secret, and one forged.
    hook = reverse("dlg-webhook", args=[leaky_bot.pk])
    body = envelope(entry("delivery", {"mids": [accepted.message_id], "watermark": 1}))
    signed = seen.post(
        hook, body, content_type="application/json", HTTP_X_SIGNATURE=sign(body, secret=SECRET)
    )
    forged = seen.post(hook, body, content_type="application/json", HTTP_X_SIGNATURE="sha1=00")
    assert (signed.status_code, forged.status_code) == (200, 403)

    # Every page that shows the bot or its messages.
    seen.get(compose, bot=leaky_bot.pk)
    preview = seen.post(reverse("messaging:compose-preview"), post_data(leaky_bot))
    assert preview.status_code == 200
    assert "<BOT-TOKEN>" in html.unescape(preview.content.decode())
    seen.get(reverse("admin:messaging_bot_change", args=[leaky_bot.pk]))
    seen.get(reverse("admin:messaging_bot_changelist"))
    seen.get(reverse("admin:index"))
    seen.get(reverse("messaging:history"))
    for record in (accepted, refused, unreachable, timed_out):
        seen.get(reverse("messaging:history-detail", args=[record.message_id]))
        seen.get(reverse("messaging:sent", args=[record.message_id]))
    csv = seen.get(reverse("messaging:history-export"))
    assert csv["Content-Type"].startswith("text/csv")
    assert all(r.message_id in seen.last for r in (accepted, refused, unreachable, timed_out))
    seen.get(reverse("messaging:change-log"))

    assert "sendmessage/<BOT-TOKEN>" in caplog.text  # the request lines were captured
    assert_nowhere(seen.text, caplog.text, everything_stored())
    for record in caplog.records:
        assert_nowhere(record.getMessage(), repr(record.args), str(record.exc_info))


def test_changing_the_token_in_the_admin_is_logged_as_fingerprints(
    superuser, leaky_bot, caplog
) -> None:
    log_everything(caplog)
    seen = Seen(client_for(superuser))
    change = reverse("admin:messaging_bot_change", args=[leaky_bot.pk])

    seen.post(
        change,
        {
            "name": "leaky",
            "provider": "dlg",
            "base_url": leaky_bot.base_url,
            "access_token": NEW_TOKEN,
            "is_active": "on",
            "rate_limit": "10",
            "webhook_id": "",
            "webhook_secret": "",
        },
    )
    log_page = seen.get(reverse("messaging:change-log")).content.decode()

    leaky_bot.refresh_from_db()
    assert leaky_bot.access_token == NEW_TOKEN
    assert leaky_bot.webhook_secret == SECRET
    change_of_token = SecretChange.objects.filter(bot=leaky_bot, secret="access_token").first()
    assert change_of_token is not None
    assert change_of_token.old_fingerprint == fingerprint(TOKEN)
    assert change_of_token.new_fingerprint == fingerprint(NEW_TOKEN)
    assert change_of_token.changed_by == superuser
    assert not SecretChange.objects.filter(
        bot=leaky_bot, secret="webhook_secret", changed_by=superuser
    ).exists()
    assert fingerprint(TOKEN) in log_page
    assert fingerprint(NEW_TOKEN) in log_page
    assert superuser.username in log_page
    seen.get(change)
    assert_nowhere(seen.text, caplog.text, everything_stored())


def test_a_form_error_does_not_echo_a_typed_token(superuser, leaky_bot) -> None:
    seen = Seen(client_for(superuser))

    response = seen.post(
        reverse("admin:messaging_bot_change", args=[leaky_bot.pk]),
        {
            "name": "",
            "provider": "dlg",
            "base_url": "not a url",
            "access_token": NEW_TOKEN,
            "webhook_secret": SECRET,
            "rate_limit": "0",
        },
    )

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert_nowhere(seen.text)
    leaky_bot.refresh_from_db()
    assert leaky_bot.access_token == TOKEN
