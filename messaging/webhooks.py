"""Receiving DLG's webhook: checking the signature and reading the documented envelope.

Pure functions, no ORM: :func:`verify` says which signature form matched (the docs name
HMAC-SHA1 but not its encoding), and :func:`parse` turns any JSON, however malformed, into
events without raising, so a surprising body is stored and shown rather than answered with 500.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from messaging.choices import EventType

MAX_BODY_BYTES = 256 * 1024
MAX_EVENTS = 100
#: Documented event keys and what each means.
EVENT_KEYS: dict[str, EventType] = {
    "messageEcho": EventType.SENT,
    "delivery": EventType.DELIVERED,
    "reads": EventType.READ,
    "message": EventType.REPLY,
}
#: A button or quick-reply press arrives as the text "[<messageId>]:<payload>".
PRESS = re.compile(r"^\[([^\[\]]+)\]:(.*)$", re.DOTALL)
_RECIPIENT_KINDS = ("appCustomerId", "appStaffId")


class EnvelopeError(ValueError):
    """The body is not the documented envelope; the message says how."""


def verify(body: bytes, header: str | None, secret: str) -> str | None:
    """The form of ``X-Signature`` that matches, or None: HMAC-SHA1 of the raw body, as hex
    (any case) or base64, with or without a ``sha1=`` prefix. Compared in constant time."""
    if not header or not secret:
        return None
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha1).digest()
    value = header.strip()
    prefix = ""
    if value.lower().startswith("sha1="):
        prefix, value = "sha1=", value[5:]
    candidates = {
        "hex": digest.hex(),
        "base64": base64.b64encode(digest).decode("ascii"),
    }
    matched = None
    for form, expected in candidates.items():
        given = value.lower() if form == "hex" else value
        if hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("ascii")):
            matched = prefix + form
    return matched


@dataclass(frozen=True)
class ParsedEvent:
    """One entry of the envelope, normalised; ``raw`` is the entry as received."""

    kind: EventType
    mids: tuple[str, ...]
    occurred_at: datetime
    recipient_kind: str = ""
    recipient_value: str = ""
    recipient_dlg_id: str = ""
    text: str = ""
    watermark: int | None = None
    raw: Any = field(default=None, compare=False)
    key_name: str = ""


def _text(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, str | int | float):
        return clean(str(value))
    return ""


def clean(text: str) -> str:
    """Text safe to store anywhere: PostgreSQL refuses NUL characters in text and JSON."""
    return text.replace("\x00", "\ufffd")


def storable(value: Any) -> Any:
    """A received JSON value with every string made safe to store (keys included)."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean(str(key)): storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # 1e400 parses as inf, which JSON columns cannot hold
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _epoch_ms(value: Any, default: datetime) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return default


def _entry(entry: Any, now: datetime) -> ParsedEvent:
    """Read one entry; anything unexpected becomes an ``unknown`` event carrying the raw entry."""
    unknown = ParsedEvent(kind=EventType.UNKNOWN, mids=(), occurred_at=now, raw=entry)
    if not isinstance(entry, dict):
        return unknown
    messaging = entry.get("messaging")
    item = messaging[0] if isinstance(messaging, list) and messaging else None
    if not isinstance(item, dict):
        return unknown
    occurred_at = _epoch_ms(item.get("timestamp"), _epoch_ms(entry.get("time"), now))
    found = item.get("recipient")
    recipient: dict[str, Any] = found if isinstance(found, dict) else {}
    kind_name = next((name for name in _RECIPIENT_KINDS if _text(recipient.get(name))), "")
    common: dict[str, Any] = {
        "occurred_at": occurred_at,
        "recipient_kind": kind_name,
        "recipient_value": _text(recipient.get(kind_name)) if kind_name else "",
        "recipient_dlg_id": _text(recipient.get("id")),
        "raw": entry,
    }
    for key, kind in EVENT_KEYS.items():
        payload = item.get(key)
        if not isinstance(payload, dict):
            continue
        if key in ("delivery", "reads"):
            mids = payload.get("mids")
            mids = tuple(_text(mid) for mid in mids if _text(mid)) if isinstance(mids, list) else ()
            watermark = payload.get("watermark")
            valid = isinstance(watermark, int) and not isinstance(watermark, bool)
            return ParsedEvent(
                kind=kind,
                mids=mids,
                watermark=watermark if valid else None,
                key_name=key,
                **common,
            )
        mid = _text(payload.get("mid"))
        return ParsedEvent(
            kind=kind,
            mids=(mid,) if mid else (),
            text=_text(payload.get("text")) if key == "message" else "",
            key_name=key,
            **common,
        )
    return ParsedEvent(kind=EventType.UNKNOWN, mids=(), key_name="", **common)


def parse(body: bytes, now: datetime) -> list[ParsedEvent]:
    """The events of a webhook body; :class:`EnvelopeError` when it is not an envelope at all."""
    try:
        envelope = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError):
        raise EnvelopeError("The body is not JSON.") from None
    if not isinstance(envelope, dict):
        raise EnvelopeError("The body is not a JSON object.")
    if envelope.get("object") != "dialog":
        raise EnvelopeError('The body\'s "object" is not "dialog".')
    entries = envelope.get("entry")
    if not isinstance(entries, list):
        raise EnvelopeError('The body has no "entry" list.')
    if len(entries) > MAX_EVENTS:
        raise EnvelopeError(f"The body has {len(entries)} entries; at most {MAX_EVENTS} are read.")
    return [_entry(storable(entry), now) for entry in entries]


def press_of(text: str) -> tuple[str, str] | None:
    """(messageId, payload) when the text has the shape of a button press."""
    match = PRESS.match(text)
    return (match.group(1), match.group(2)) if match else None
