"""Checks shared by every part of the sandbox's configuration, each failing with a readable
message, so a typo in a JSON world file or a control request is refused instead of ignored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit


class ConfigError(ValueError):
    """A configuration or fault setting the sandbox refuses, with a message meant for people."""


def number(value: Any, name: str, low: float, high: float) -> float:
    # bool is an int subclass; "true" as a rate is a caller bug, not 1.0.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {value!r}")
    return value


def integer(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value!r}")
    return value


def boolean(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    return value


def text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{name} must be a non-empty string, got {value!r}")
    return value


def url(value: Any, name: str) -> str | None:
    if value is None:
        return None
    parts = urlsplit(text(value, name))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} must be an http(s) URL with a host, got {value!r}")
    return value


def known_keys(data: Any, where: str, known: set[str]) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where} must be a JSON object")
    data = strip_comments(data)
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {sorted(known)}")
    return data


def strip_comments(data: Mapping[str, Any]) -> dict[str, Any]:
    # JSON has no comments; keys starting with "_" document the file and are ignored.
    return {key: value for key, value in data.items() if not key.startswith("_")}
