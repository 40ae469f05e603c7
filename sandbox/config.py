"""The sandbox's world: which bots exist, which recipients are known, which faults are on.

Plain dataclasses loaded from JSON, so a test, the demo and a benchmark subprocess can all be
handed the same explicit world as a file instead of sharing code or a database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from sandbox.values import ConfigError, boolean, integer, number, strip_comments
from sandbox.webhook_config import CustomerSettings, DeliverySettings, WebhookConfig

PROVIDERS = ("dlg", "certainly")
DLG_RECIPIENT_KINDS = ("appCustomerId", "appStaffId", "id")
CERTAINLY_RECIPIENT_KIND = "user_id"
RECIPIENT_KINDS = (*DLG_RECIPIENT_KINDS, CERTAINLY_RECIPIENT_KIND)
SHARE_FIELDS = ("drop_rate", "rate_429", "error_rate", "timeout_rate")
WEBHOOK_SHARE_FIELDS = ("webhook_loss_rate", "webhook_duplicate_rate")


@dataclass(frozen=True)
class FaultSettings:
    """Injected misbehaviour; every share is a band of one uniform draw per request."""

    latency_ms: float = 0
    error_rate: float = 0.0
    # 2xx is allowed on purpose: a "success" with a body the client cannot read is a fault too.
    error_status: int = 503
    error_body: str = "Service Unavailable"
    rate_429: float = 0.0
    retry_after: int = 1
    timeout_rate: float = 0.0
    timeout_hold_s: float = 30.0
    drop_rate: float = 0.0
    seed: int | None = None
    # Webhook faults act on events after acceptance, so they are not bands of the request draw.
    webhook_delay_ms: float = 0
    webhook_loss_rate: float = 0.0
    webhook_duplicate_rate: float = 0.0
    webhook_reorder: bool = False

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> FaultSettings:
        """Validate a JSON-ish mapping; unknown keys are refused so typos do not pass silently."""
        if not isinstance(data, Mapping):
            raise ConfigError("faults must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"unknown fault setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name in SHARE_FIELDS or name in WEBHOOK_SHARE_FIELDS:
                values[name] = number(value, name, 0, 1)
            elif name in ("latency_ms", "webhook_delay_ms"):
                values[name] = number(value, name, 0, 600_000)
            elif name == "timeout_hold_s":
                values[name] = number(value, name, 0, 3600)
            elif name == "error_status":
                values[name] = integer(value, name, 200, 599)
            elif name == "retry_after":
                values[name] = integer(value, name, 0, 86_400)
            elif name == "webhook_reorder":
                values[name] = boolean(value, name)
            elif name == "error_body":
                if not isinstance(value, str):
                    raise ConfigError(f"error_body must be a string, got {value!r}")
                values[name] = value
            elif name == "seed" and value is not None:
                values[name] = integer(value, name, -(2**63), 2**63 - 1)
        settings = cls(**values)
        total = sum(getattr(settings, name) for name in SHARE_FIELDS)
        if total > 1 + 1e-9:
            raise ConfigError(f"{', '.join(SHARE_FIELDS)} must add up to at most 1, got {total:g}")
        return settings

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def injects_faults(self) -> bool:
        shares = (*SHARE_FIELDS, *WEBHOOK_SHARE_FIELDS)
        return (
            self.latency_ms > 0
            or self.webhook_delay_ms > 0
            or self.webhook_reorder
            or any(getattr(self, name) > 0 for name in shares)
        )


@dataclass(frozen=True)
class BotConfig:
    """A bot the emulated platform knows; `alive` False emulates a deactivated DLG webbot."""

    name: str
    provider: str
    token: str
    alive: bool = True
    webhook: WebhookConfig | None = None


def derive_dlg_user_id(kind: str, value: str) -> str:
    """A stable, DLG-looking user id for recipients nobody configured (accept-any mode)."""
    if kind == "id":
        return value
    digest = hashlib.sha256(f"{kind}:{value}".encode()).digest()
    return str(1_000_000_000 + int.from_bytes(digest[:8], "big") % 9_000_000_000)


@dataclass(frozen=True)
class SandboxConfig:
    """Bots plus recipients: kind -> {value: DLG user id}; Certainly `user_id` maps to itself."""

    bots: tuple[BotConfig, ...]
    recipients: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    faults: FaultSettings = field(default_factory=FaultSettings)
    accept_any_recipient: bool = False
    webhooks: DeliverySettings = field(default_factory=DeliverySettings)
    customer: CustomerSettings = field(default_factory=CustomerSettings)

    def __post_init__(self) -> None:
        names = [bot.name for bot in self.bots]
        if len(set(names)) != len(names):
            raise ConfigError("bot names must be unique")
        index: dict[tuple[str, str], BotConfig] = {}
        for bot in self.bots:
            if bot.provider not in PROVIDERS:
                raise ConfigError(f"bot {bot.name!r}: provider must be one of {PROVIDERS}")
            if not bot.token:
                raise ConfigError(f"bot {bot.name!r}: token must not be empty")
            if bot.webhook is not None and bot.provider != "dlg":
                raise ConfigError(f"bot {bot.name!r}: only DLG bots have webhooks")
            if (bot.provider, bot.token) in index:
                raise ConfigError(f"bot {bot.name!r}: token already used by another bot")
            index[(bot.provider, bot.token)] = bot
        object.__setattr__(self, "_by_token", index)
        object.__setattr__(self, "_by_name", {bot.name: bot for bot in self.bots})
        # Every DLG user has a DLG id besides a customer or staff id, so a configured
        # customer's DLG id is a valid `id` recipient too.
        dlg_ids = set(self.recipients.get("id", {}))
        for kind in ("appCustomerId", "appStaffId"):
            dlg_ids.update(self.recipients.get(kind, {}).values())
        object.__setattr__(self, "_dlg_ids", frozenset(dlg_ids))

    def find_bot(self, provider: str, token: str) -> BotConfig | None:
        return self._by_token.get((provider, token))  # type: ignore[attr-defined]

    def bot_named(self, name: str) -> BotConfig | None:
        return self._by_name.get(name)  # type: ignore[attr-defined]

    def with_webhook(self, name: str, webhook: WebhookConfig | None) -> SandboxConfig:
        """A copy where bot `name` has this webhook (the config itself never changes)."""
        bots = tuple(replace(b, webhook=webhook) if b.name == name else b for b in self.bots)
        return replace(self, bots=bots)

    def customer_of(self, dlg_id: str) -> tuple[str, str] | None:
        """The configured customer or staff number behind a DLG user id, if any."""
        for kind in ("appCustomerId", "appStaffId"):
            for value, known in self.recipients.get(kind, {}).items():
                if known == dlg_id:
                    return kind, value
        return None

    def dlg_user_id(self, kind: str, value: str) -> str | None:
        """The DLG user id answered as `recipient_id`, or None for an unknown recipient."""
        known = self.recipients.get(kind, {}).get(value)
        if known is None and kind == "id" and value in self._dlg_ids:  # type: ignore[attr-defined]
            known = value
        if known is None and self.accept_any_recipient:
            return derive_dlg_user_id(kind, value)
        return known

    def certainly_user_known(self, user_id: str) -> bool:
        if self.accept_any_recipient:
            return True
        return user_id in self.recipients.get(CERTAINLY_RECIPIENT_KIND, {})

    def describe_bots(self) -> str:
        """Names and providers only: the startup line must never show a token."""
        parts = [
            f"{bot.name} ({bot.provider}{'' if bot.alive else ', not alive'})" for bot in self.bots
        ]
        return ", ".join(parts) or "none"

    def public_dict(self) -> dict[str, Any]:
        """Everything except tokens, for GET /_sandbox/config."""
        bots: list[dict[str, Any]] = []
        for bot in self.bots:
            bots.append({"name": bot.name, "provider": bot.provider, "alive": bot.alive})
            if bot.webhook is not None:
                bots[-1]["webhook"] = bot.webhook.public_dict()
        return {
            "bots": bots,
            "recipients": {kind: dict(values) for kind, values in self.recipients.items()},
            "faults": self.faults.to_dict(),
            "accept_any_recipient": self.accept_any_recipient,
            "webhooks": asdict(self.webhooks),
            "customer": asdict(self.customer),
        }

    def to_dict(self) -> dict[str, Any]:
        """The config-file form (tokens and secrets included), e.g. for a subprocess."""
        data = self.public_dict()
        data["bots"] = [asdict(bot) for bot in self.bots]
        for bot in data["bots"]:
            if bot["webhook"] is None:
                del bot["webhook"]
        return data


def _bot_from_mapping(data: Any, position: int) -> BotConfig:
    if not isinstance(data, Mapping):
        raise ConfigError(f"bots[{position}] must be an object")
    data = strip_comments(data)
    unknown = set(data) - {"name", "provider", "token", "alive", "webhook"}
    if unknown:
        raise ConfigError(f"bots[{position}]: unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("name", "provider", "token"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ConfigError(f"bots[{position}].{key} must be a non-empty string")
    alive = data.get("alive", True)
    if not isinstance(alive, bool):
        raise ConfigError(f"bots[{position}].alive must be true or false")
    webhook = None
    if "webhook" in data:
        webhook = WebhookConfig.from_mapping(data["webhook"], f"bots[{position}].webhook")
    return BotConfig(data["name"], data["provider"], data["token"], alive, webhook)


def _recipients_from_mapping(data: Any) -> dict[str, dict[str, str]]:
    if not isinstance(data, Mapping):
        raise ConfigError("recipients must be an object keyed by recipient kind")
    result: dict[str, dict[str, str]] = {}
    for kind, values in strip_comments(data).items():
        if kind not in RECIPIENT_KINDS:
            raise ConfigError(f"recipients: unknown kind {kind!r}; known: {RECIPIENT_KINDS}")
        if isinstance(values, list):
            if not all(isinstance(v, str) and v for v in values):
                raise ConfigError(f"recipients.{kind} must list non-empty strings")
            same = kind in ("id", CERTAINLY_RECIPIENT_KIND)
            result[kind] = {v: v if same else derive_dlg_user_id(kind, v) for v in values}
        elif isinstance(values, Mapping):
            if not all(isinstance(k, str) and isinstance(v, str) and k for k, v in values.items()):
                raise ConfigError(f"recipients.{kind} must map strings to strings")
            result[kind] = dict(values)
        else:
            raise ConfigError(f"recipients.{kind} must be a list or an object")
    return result


def _faults_without_comments(data: Any) -> Any:
    return strip_comments(data) if isinstance(data, Mapping) else data


def config_from_dict(data: Any) -> SandboxConfig:
    """Build a config from the parsed JSON file form documented in example-config.json."""
    if not isinstance(data, Mapping):
        raise ConfigError("the config must be a JSON object")
    data = strip_comments(data)
    unknown = set(data) - {
        "bots",
        "recipients",
        "faults",
        "accept_any_recipient",
        "webhooks",
        "customer",
    }
    if unknown:
        raise ConfigError(f"unknown top-level key(s): {', '.join(sorted(unknown))}")
    bots = data.get("bots", [])
    if not isinstance(bots, list):
        raise ConfigError("bots must be a list")
    accept_any = data.get("accept_any_recipient", False)
    if not isinstance(accept_any, bool):
        raise ConfigError("accept_any_recipient must be true or false")
    return SandboxConfig(
        bots=tuple(_bot_from_mapping(bot, i) for i, bot in enumerate(bots)),
        recipients=_recipients_from_mapping(data.get("recipients", {})),
        faults=FaultSettings.from_mapping(_faults_without_comments(data.get("faults", {}))),
        accept_any_recipient=accept_any,
        webhooks=DeliverySettings.from_mapping(data.get("webhooks", {})),
        customer=CustomerSettings.from_mapping(data.get("customer", {})),
    )


def load_config(path: str | Path) -> SandboxConfig:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read sandbox config {path}: {exc}") from exc
    return config_from_dict(data)
