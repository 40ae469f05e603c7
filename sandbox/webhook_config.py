"""Webhook settings: each DLG bot's webhook block, how events are batched, and the customer.

Kept apart from config.py, which holds the world (bots, recipients, faults) these attach to.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from sandbox.values import ConfigError, boolean, integer, known_keys, number, text, url

SIGNATURE_FORMS = ("hex", "base64", "sha1=hex", "sha1=base64")
PRESS_MODES = ("first", "none", "random")
# The app id and the bot's DLG id in the docs' webhook examples.
DOCS_APP_ID = 1614379680


@dataclass(frozen=True)
class WebhookConfig:
    """One DLG bot's webhook (server.conf's `webhook` block); no url means no events leave."""

    app_secret: str
    id: str = "webhook"
    url: str | None = None
    # The docs leave the digest's encoding open, so each receiver form can be exercised.
    signature: str = "hex"
    app_id: int = DOCS_APP_ID
    sender_id: str = str(DOCS_APP_ID)

    @classmethod
    def from_mapping(cls, data: Any, where: str) -> WebhookConfig:
        names = {f.name for f in fields(cls)}
        data = known_keys(data, where, names)
        values: dict[str, Any] = {"app_secret": text(data.get("app_secret"), f"{where}.app_secret")}
        if "id" in data:
            values["id"] = text(data["id"], f"{where}.id")
        values["url"] = url(data.get("url"), f"{where}.url")
        if "signature" in data:
            values["signature"] = _signature(data["signature"], f"{where}.signature")
        if "app_id" in data:
            values["app_id"] = integer(data["app_id"], f"{where}.app_id", 0, 2**63 - 1)
        if "sender_id" in data:
            values["sender_id"] = text(data["sender_id"], f"{where}.sender_id")
            if not values["sender_id"].isdigit():
                raise ConfigError(f"{where}.sender_id must be a numeric string (a DLG id)")
        return cls(**values)

    def public_dict(self) -> dict[str, Any]:
        """Everything except the secret."""
        return {k: v for k, v in asdict(self).items() if k != "app_secret"}


def _signature(value: Any, name: str) -> str:
    if value not in SIGNATURE_FORMS:
        raise ConfigError(f"{name} must be one of {', '.join(SIGNATURE_FORMS)}, got {value!r}")
    return value


@dataclass(frozen=True)
class DeliverySettings:
    """How webhook events are batched and posted; the docs give 10 events or 5 s, no retries."""

    flush_ms: float = 5000
    batch_size: int = 10
    retries: int = 0
    timeout_ms: float = 3000

    @classmethod
    def from_mapping(cls, data: Any) -> DeliverySettings:
        data = known_keys(data, "webhooks", {f.name for f in fields(cls)})
        limits = {"flush_ms": 600_000, "timeout_ms": 600_000}
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name in limits:
                values[name] = number(value, f"webhooks.{name}", 0, limits[name])
            else:
                low = 1 if name == "batch_size" else 0
                values[name] = integer(value, f"webhooks.{name}", low, 1000)
        return cls(**values)


@dataclass(frozen=True)
class CustomerSettings:
    """The emulated user's phone: when it confirms delivery, reads, and presses a button."""

    enabled: bool = True
    deliver_after_ms: float = 300
    read_after_ms: float = 1200
    press_after_ms: float = 2200
    press: str = "first"
    seed: int | None = None

    @classmethod
    def from_mapping(cls, data: Any) -> CustomerSettings:
        data = known_keys(data, "customer", {f.name for f in fields(cls)})
        values: dict[str, Any] = {}
        for name, value in data.items():
            where = f"customer.{name}"
            if name == "enabled":
                values[name] = boolean(value, where)
            elif name == "press":
                if value not in PRESS_MODES:
                    raise ConfigError(f"{where} must be one of {', '.join(PRESS_MODES)}")
                values[name] = value
            elif name == "seed":
                values[name] = None if value is None else integer(value, where, -(2**63), 2**63)
            else:
                values[name] = number(value, where, 0, 3_600_000)
        return cls(**values)
