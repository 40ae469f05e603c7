"""A bot token never appears in an error, a log line or the database."""

from __future__ import annotations

import logging
import socket
import traceback

import pytest
from django.core.management import call_command
from django.db import connection

from messaging import services
from messaging.choices import Status
from messaging.models import Bot
from messaging.providers.base import ProviderError
from messaging.providers.dlg import DlgClient
from messaging.providers.specs import Address, Text

TOKEN = "c2dc9bf3e0c3218e9ab22b56002e4644"


@pytest.fixture
def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def everything_stored() -> str:
    """Every value of every table, as text, the way a database dump would show it."""
    dumped = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            dumped.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(dumped)


def test_connection_error_never_quotes_the_token(closed_port_url: str, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    client = DlgClient(closed_port_url, TOKEN)

    with pytest.raises(ProviderError) as caught:
        client.send(client.prepare(Address("appCustomerId", "70023"), Text("hi"), "m-1"))

    error = caught.value
    assert error.__context__ is None
    assert error.__cause__ is None
    rendered = "".join(traceback.format_exception(error))
    assert TOKEN not in rendered
    assert TOKEN not in repr(error.__dict__)
    assert "<BOT-TOKEN>" in error.message
    assert TOKEN not in caplog.text


def test_debug_logging_of_a_successful_send_hides_the_token(sandbox, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    from sandbox import defaults

    client = DlgClient(sandbox.url, defaults.DEMO_DLG_TOKEN)
    client.send(client.prepare(Address("appCustomerId", "70023"), Text("hi"), "m-2"))

    assert "sendmessage/<BOT-TOKEN>" in caplog.text
    assert defaults.DEMO_DLG_TOKEN not in caplog.text


@pytest.mark.django_db
def test_failed_send_leaves_no_token_in_the_database_or_logs(closed_port_url, alice, caplog):
    caplog.set_level(logging.DEBUG)
    bot = Bot.objects.create(
        name="leaky", provider="dlg", base_url=closed_port_url, access_token=TOKEN
    )

    record = services.send(
        bot=bot, address=Address("appCustomerId", "70023"), message=Text("hi"), sender=alice
    )

    assert record.status == Status.FAILED
    assert record.error_code == "connection_failed"
    assert TOKEN not in everything_stored()
    assert TOKEN not in caplog.text


@pytest.mark.django_db
def test_token_is_encrypted_at_rest() -> None:
    Bot.objects.create(name="b", provider="dlg", base_url="https://x.example", access_token=TOKEN)

    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token FROM messaging_bot")
        [(stored,)] = cursor.fetchall()

    assert TOKEN not in stored
    assert stored.startswith("gAAAAA")  # a Fernet token
    assert Bot.objects.get().access_token == TOKEN


@pytest.mark.django_db
def test_rotation_re_encrypts_with_the_newest_key_so_the_old_one_can_go(settings) -> None:
    from cryptography.fernet import Fernet

    old_key = settings.CONSOLE_ENCRYPTION_KEYS[0]
    Bot.objects.create(
        name="b",
        provider="dlg",
        base_url="https://x.example",
        access_token=TOKEN,
        webhook_secret="hook-secret",
    )
    new_key = Fernet.generate_key().decode()

    settings.CONSOLE_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_secrets", stdout=open("/dev/null", "w"))  # noqa: SIM115
    settings.CONSOLE_ENCRYPTION_KEYS = [new_key]

    bot = Bot.objects.get()
    assert (bot.access_token, bot.webhook_secret) == (TOKEN, "hook-secret")


@pytest.mark.django_db
def test_a_removed_key_is_named_as_the_problem_without_quoting_secrets(settings) -> None:
    from cryptography.fernet import Fernet

    from messaging.secrets import UndecryptableSecret

    Bot.objects.create(name="b", provider="dlg", base_url="https://x.example", access_token=TOKEN)
    settings.CONSOLE_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    with pytest.raises(UndecryptableSecret, match="CONSOLE_ENCRYPTION_KEYS") as caught:
        Bot.objects.get()

    assert TOKEN not in str(caught.value)


def test_fingerprint_identifies_without_revealing() -> None:
    from messaging.secrets import fingerprint

    shown = fingerprint(TOKEN)

    assert shown.startswith("…4644 · ")
    assert TOKEN[:-4] not in shown
    assert fingerprint(TOKEN) != fingerprint(TOKEN[:-1] + "5")
