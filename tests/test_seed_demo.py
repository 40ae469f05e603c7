"""The demo world is created once, updated in place, and works against the sandbox."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from messaging import services
from messaging.choices import Status
from messaging.models import Bot, MessageTemplate, Recipient
from messaging.providers.specs import Address, Text
from messaging.templating import render

pytestmark = pytest.mark.django_db


def seed(settings, sandbox) -> str:
    settings.SANDBOX_URL = sandbox.url
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_prints_each_password_once_and_is_idempotent(settings, sandbox) -> None:
    first = seed(settings, sandbox)
    second = seed(settings, sandbox)

    passwords = dict(re.findall(r"User (\w+) \(.*\), password: (\S+)", first))
    assert set(passwords) == {"admin", "sender", "auditor"}
    assert "password:" not in second
    for username, password in passwords.items():
        assert User.objects.get(username=username).check_password(password)
    assert Bot.objects.count() == 2
    assert Recipient.objects.filter(kind="appCustomerId", value="70023").exists()


def test_demo_bot_sends_to_customer_70023_through_the_sandbox(settings, sandbox) -> None:
    seed(settings, sandbox)
    bot = Bot.objects.get(name="demo-dlg")

    record = services.send(
        bot=bot,
        address=Address("appCustomerId", "70023"),
        message=Text("Hello from the demo"),
        sender=User.objects.get(username="sender"),
    )

    assert record.status == Status.ACCEPTED
    assert sandbox.messages()[0]["body"]["message"]["text"] == "Hello from the demo"


def test_every_demo_template_renders_for_a_demo_recipient(settings, sandbox) -> None:
    seed(settings, sandbox)
    variables = {"first_name": "Ayşe", "payee": "Mehmet", "customer_no": "70023"}

    for template in MessageTemplate.objects.all():
        template.full_clean()
        render(template.message_type, template.content, variables)
