"""The sandbox's world: which bots exist, which recipients are known, which faults are on.

Plain dataclasses loaded from JSON, so a test, the demo and a benchmark subprocess can all be
handed the same explicit world as a file instead of sharing code or a database.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

PROVIDERS = ("dlg", "certainly")
DLG_RECIPIENT_KINDS = ("appCustomerId", "appStaffId", "id")
CERTAINLY_RECIPIENT_KIND = "user_id"
RECIPIENT_KINDS = (*DLG_RECIPIENT_KINDS, CERTAINLY_RECIPIENT_KIND)
SHARE_FIELDS = ("drop_rate", "rate_429", "error_rate", "timeout_rate")


class ConfigError(ValueError):
    """A configuration or fault setting the sandbox refuses, with a message meant for people."""


def _number(value: Any, name: str, low: float, high: float) -> float:
    # bool is an int subclass; "true" as a rate is a caller bug, not 1.0.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {value!r}")
    return value


def _integer(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value!r}")
    return value


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
            if name in SHARE_FIELDS:
                values[name] = _number(value, name, 0, 1)
            elif name == "latency_ms":
                values[name] = _number(value, name, 0, 600_000)
            elif name == "timeout_hold_s":
                values[name] = _number(value, name, 0, 3600)
            elif name == "error_status":
                values[name] = _integer(value, name, 200, 599)
            elif name == "retry_after":
                values[name] = _integer(value, name, 0, 86_400)
            elif name == "error_body":
                if not isinstance(value, str):
                    raise ConfigError(f"error_body must be a string, got {value!r}")
                values[name] = value
            elif name == "seed" and value is not None:
                values[name] = _integer(value, name, -(2**63), 2**63 - 1)
        settings = cls(**values)
        total = sum(getattr(settings, name) for name in SHARE_FIELDS)
        if total > 1 + 1e-9:
            raise ConfigError(f"{', '.join(SHARE_FIELDS)} must add up to at most 1, got {total:g}")
        return settings

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def injects_faults(self) -> bool:
        return self.latency_ms > 0 or any(getattr(self, name) > 0 for name in SHARE_FIELDS)


@dataclass(frozen=True)
class BotConfig:
    """A bot the emulated platform knows; `alive` False emulates a deactivated DLG webbot."""

    name: str
    provider: str
    token: str
    alive: bool = True


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
            if (bot.provider, bot.token) in index:
                raise ConfigError(f"bot {bot.name!r}: token already used by another bot")
            index[(bot.provider, bot.token)] = bot
        object.__setattr__(self, "_by_token", index)
        # Every DLG user has a DLG id besides a customer or staff id, so a configured
        # customer's DLG id is a valid `id` recipient too.
        dlg_ids = set(self.recipients.get("id", {}))
        for kind in ("appCustomerId", "appStaffId"):
            dlg_ids.update(self.recipients.get(kind, {}).values())
        object.__setattr__(self, "_dlg_ids", frozenset(dlg_ids))

    def find_bot(self, provider: str, token: str) -> BotConfig | None:
        return self._by_token.get((provider, token))  # type: ignore[attr-defined]

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
        return {
            "bots": [{"name": b.name, "provider": b.provider, "alive": b.alive} for b in self.bots],
            "recipients": {kind: dict(values) for kind, values in self.recipients.items()},
            "faults": self.faults.to_dict(),
            "accept_any_recipient": self.accept_any_recipient,
        }

    def to_dict(self) -> dict[str, Any]:
        """The config-file form (tokens included), e.g. to hand the world to a subprocess."""
        data = self.public_dict()
        data["bots"] = [asdict(bot) for bot in self.bots]
        return data


def _strip_comments(data: Mapping[str, Any]) -> dict[str, Any]:
    # JSON has no comments; keys starting with "_" document the file and are ignored.
    return {key: value for key, value in data.items() if not key.startswith("_")}


def _bot_from_mapping(data: Any, position: int) -> BotConfig:
    if not isinstance(data, Mapping):
        raise ConfigError(f"bots[{position}] must be an object")
    data = _strip_comments(data)
    unknown = set(data) - {"name", "provider", "token", "alive"}
    if unknown:
        raise ConfigError(f"bots[{position}]: unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("name", "provider", "token"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ConfigError(f"bots[{position}].{key} must be a non-empty string")
    alive = data.get("alive", True)
    if not isinstance(alive, bool):
        raise ConfigError(f"bots[{position}].alive must be true or false")
    return BotConfig(data["name"], data["provider"], data["token"], alive)


def _recipients_from_mapping(data: Any) -> dict[str, dict[str, str]]:
    if not isinstance(data, Mapping):
        raise ConfigError("recipients must be an object keyed by recipient kind")
    result: dict[str, dict[str, str]] = {}
    for kind, values in _strip_comments(data).items():
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
    return _strip_comments(data) if isinstance(data, Mapping) else data


def config_from_dict(data: Any) -> SandboxConfig:
    """Build a config from the parsed JSON file form documented in example-config.json."""
    if not isinstance(data, Mapping):
        raise ConfigError("the config must be a JSON object")
    data = _strip_comments(data)
    unknown = set(data) - {"bots", "recipients", "faults", "accept_any_recipient"}
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
    )


def load_config(path: str | Path) -> SandboxConfig:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read sandbox config {path}: {exc}") from exc
    return config_from_dict(data)


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by `manage.py sandbox` and `python -m sandbox.server`."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--config", help="JSON world file (see sandbox/example-config.json)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument("--latency-ms", type=float, help="delay added before every answer")
    parser.add_argument("--error-rate", type=float, help="share answered with --error-status")
    parser.add_argument("--error-status", type=int, help="status for injected errors (503)")
    parser.add_argument("--rate-429", type=float, help="share answered 429 Too Many Requests")
    parser.add_argument("--retry-after", type=int, help="Retry-After seconds on 429 (1)")
    parser.add_argument("--timeout-rate", type=float, help="share accepted but never answered")
    parser.add_argument("--timeout-hold-s", type=float, help="how long an unanswered one is held")
    parser.add_argument("--drop-rate", type=float, help="share closed without any response")
    parser.add_argument("--seed", type=int, help="seed for reproducible fault decisions")


def config_from_cli(options: Mapping[str, Any]) -> SandboxConfig:
    """The config file (or the demo world) with fault options from the command line on top."""
    if options.get("config"):
        config = load_config(options["config"])
    else:
        from sandbox.defaults import default_config

        config = default_config()
    names = (*SHARE_FIELDS, "latency_ms", "error_status", "retry_after", "timeout_hold_s", "seed")
    overrides = {name: options[name] for name in names if options.get(name) is not None}
    if not overrides:
        return config
    faults = FaultSettings.from_mapping({**config.faults.to_dict(), **overrides})
    return replace(config, faults=faults)
