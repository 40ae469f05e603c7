"""Shared fixtures: the sandbox on loopback is the outside world, and a fixed cast of users.

alice sends, bob administers bots, carol audits; anonymous visitors get nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User

from messaging.models import Bot
from sandbox import defaults
from sandbox.testing import SandboxHandle, running_sandbox

# Playwright's sync API keeps an event loop in the test thread; Django's ORM refuses to run
# beside one unless told it is safe, which it is here (one thread, no async views).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxHandle]:
    with running_sandbox() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxHandle) -> Iterator[SandboxHandle]:
    """The demo-configured sandbox, quiet: no records, no faults."""
    sandbox_server.reset()
    yield sandbox_server
    sandbox_server.reset()


@pytest.fixture
def dlg_bot(db: Any, sandbox: SandboxHandle) -> Bot:
    return Bot.objects.create(
        name=defaults.DEMO_DLG_BOT_NAME,
        provider="dlg",
        base_url=sandbox.url,
        access_token=defaults.DEMO_DLG_TOKEN,
    )


@pytest.fixture
def hooked_bot(dlg_bot: Bot) -> Bot:
    """The DLG bot with a webhook app secret, ready to receive signed events."""
    from tests.webhook_helpers import SECRET

    dlg_bot.webhook_secret = SECRET
    dlg_bot.webhook_id = "demo-dlg-webhook"
    dlg_bot.save()
    return dlg_bot


@pytest.fixture
def certainly_bot(db: Any, sandbox: SandboxHandle) -> Bot:
    return Bot.objects.create(
        name=defaults.DEMO_CERTAINLY_BOT_NAME,
        provider="certainly",
        base_url=sandbox.url,
        access_token=defaults.DEMO_CERTAINLY_TOKEN,
    )


def _user(username: str, *codenames: str, superuser: bool = False) -> User:
    user = User.objects.create_user(
        username, password="correct horse battery staple", is_staff=True, is_superuser=superuser
    )
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def alice(db: Any) -> User:
    """A member of staff who sends messages."""
    return _user("alice", "send_message", "view_bot", "view_recipient", "view_messagetemplate")


@pytest.fixture
def carol(db: Any) -> User:
    """An auditor: reads the history, sends nothing."""
    return _user("carol", "view_outboundmessage")


@pytest.fixture
def admin_user(db: Any) -> User:
    return _user("root", superuser=True)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's chromium, started the way this closed network needs."""
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }
