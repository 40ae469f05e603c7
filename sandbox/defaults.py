"""The demo world the sandbox serves when no config file is given.

Other code (console fixtures, demo seeding, benchmarks) imports these constants so that the
console and the sandbox agree on bots and recipients without sharing any wire code. The tokens
are public demo values: they only ever open this local emulator.
"""

from __future__ import annotations

from typing import Any

from sandbox.config import BotConfig, SandboxConfig
from sandbox.webhook_config import DOCS_APP_ID, CustomerSettings, DeliverySettings, WebhookConfig

DEMO_DLG_BOT_NAME = "demo-dlg"
DEMO_DLG_TOKEN = "66509fe2ec7ea9d6ec63c26eedab20f5"  # noqa: S105 (public demo value)

DEMO_DEAD_BOT_NAME = "demo-dlg-dead"
# Configured but switched off: every send answers 500 "Sender bot is not alive."
DEMO_DEAD_BOT_TOKEN = "03bc08d9646d041c0a2f43e6c20a151b"  # noqa: S105 (public demo value)

# The demo bot's webhook block. Its url stays unset until a receiver is named
# (`--webhook-url`, PUT /_sandbox/webhook), so a plain demo run posts nowhere.
DEMO_DLG_WEBHOOK_ID = "demo-dlg-webhook"
DEMO_DLG_WEBHOOK_SECRET = "5f1c0e9a7b3d42c6a8e19f04b7d2c63e9a1f5b08"  # noqa: S105 (public demo value)
DEMO_DLG_APP_ID = DOCS_APP_ID
DEMO_DLG_SENDER_ID = str(DOCS_APP_ID)
# Short enough that a person clicking through the demo sees statuses move.
DEMO_FLUSH_MS = 700

DEMO_CERTAINLY_BOT_NAME = "demo-certainly"
DEMO_CERTAINLY_TOKEN = "XMqtnqvesXZGCzg8oH07vbSNPOqtlswDyiLmSSAnZ9sTVTM7"  # noqa: S105 (public demo value)

# DLG answers `recipient_id` with its own user id, not the customer number that was sent.
# 70021 -> 243540663 is the pairing shown in the DLG webhook documentation's envelope.
DEMO_DLG_USER_IDS: dict[str, dict[str, str]] = {
    "appCustomerId": {
        "70021": "243540663",
        "70022": "1873360512",
        "70023": "2074022437",
    },
    "appStaffId": {"S1001": "1520983744"},
    "id": {"243540663": "243540663"},
}

DEMO_CERTAINLY_USER_IDS = ["c-1001", "c-1002"]

DEMO_RECIPIENTS: list[dict[str, Any]] = [
    {
        "name": "Ayşe Kaya",
        "kind": "appCustomerId",
        "value": "70021",
        "attributes": {
            "first_name": "Ayşe",
            "last_name": "Kaya",
            "account": "TR33 0006 1005 1978 6457 8413 26",
            "segment": "retail",
        },
    },
    {
        "name": "Mehmet Demir",
        "kind": "appCustomerId",
        "value": "70022",
        "attributes": {
            "first_name": "Mehmet",
            "last_name": "Demir",
            "account": "TR64 0001 0009 9912 3456 7890 01",
            "segment": "private",
        },
    },
    {
        "name": "Zeynep Çelik",
        "kind": "appCustomerId",
        "value": "70023",
        "attributes": {
            "first_name": "Zeynep",
            "last_name": "Çelik",
            "account": "TR12 0004 6000 1188 8000 0123 45",
            "segment": "retail",
        },
    },
    {
        "name": "Can Öztürk (staff)",
        "kind": "appStaffId",
        "value": "S1001",
        "attributes": {"first_name": "Can", "last_name": "Öztürk", "branch": "Beşiktaş"},
    },
    {
        "name": "DLG user 243540663",
        "kind": "id",
        "value": "243540663",
        "attributes": {"first_name": "Ayşe", "account": "TR33 0006 1005 1978 6457 8413 26"},
    },
    {
        "name": "Elif Şahin",
        "kind": "user_id",
        "value": "c-1001",
        "attributes": {"first_name": "Elif", "last_name": "Şahin", "plan": "gold"},
    },
    {
        "name": "Burak Arslan",
        "kind": "user_id",
        "value": "c-1002",
        "attributes": {"first_name": "Burak", "last_name": "Arslan", "plan": "standard"},
    },
]


def demo_dlg_webhook(url: str | None = None) -> WebhookConfig:
    """The demo DLG bot's webhook, optionally pointed at a receiver."""
    return WebhookConfig(
        app_secret=DEMO_DLG_WEBHOOK_SECRET,
        id=DEMO_DLG_WEBHOOK_ID,
        url=url,
        app_id=DEMO_DLG_APP_ID,
        sender_id=DEMO_DLG_SENDER_ID,
    )


def default_config() -> SandboxConfig:
    """A fresh copy of the demo world: three bots (one not alive) and the demo recipients."""
    recipients = {kind: dict(values) for kind, values in DEMO_DLG_USER_IDS.items()}
    recipients["user_id"] = {user_id: user_id for user_id in DEMO_CERTAINLY_USER_IDS}
    return SandboxConfig(
        bots=(
            BotConfig(DEMO_DLG_BOT_NAME, "dlg", DEMO_DLG_TOKEN, webhook=demo_dlg_webhook()),
            BotConfig(DEMO_DEAD_BOT_NAME, "dlg", DEMO_DEAD_BOT_TOKEN, alive=False),
            BotConfig(DEMO_CERTAINLY_BOT_NAME, "certainly", DEMO_CERTAINLY_TOKEN),
        ),
        recipients=recipients,
        webhooks=DeliverySettings(flush_ms=DEMO_FLUSH_MS),
        customer=CustomerSettings(),
    )
