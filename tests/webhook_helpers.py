"""Signed webhook bodies the way DLG sends them (section 13 of the platform docs)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

SECRET = "3f1c0a9e5b7d2468ace013579bdf2468ace01357"


def entry(
    event_key: str,
    payload: dict[str, Any],
    *,
    customer: str = "70023",
    dlg_id: str = "2074022437",
    timestamp: int | None = None,
) -> dict[str, Any]:
    stamp = timestamp if timestamp is not None else int(time.time() * 1000)
    return {
        "id": "demo-dlg-webhook",
        "time": stamp + 5,
        "messaging": [
            {
                "sender": {"id": "1614379680"},
                "recipient": {"appCustomerId": customer, "id": dlg_id},
                "timestamp": stamp,
                event_key: payload,
            }
        ],
    }


def envelope(*entries: dict[str, Any]) -> bytes:
    return json.dumps({"object": "dialog", "entry": list(entries)}).encode()


def sign(body: bytes, form: str = "hex", secret: str = SECRET) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha1).digest()
    encoded = digest.hex() if "hex" in form.lower() else base64.b64encode(digest).decode()
    if form == "HEX":
        encoded = encoded.upper()
    return f"sha1={encoded}" if form.startswith("sha1=") else encoded


def post(client: Any, bot: Any, body: bytes, signature: str | None = "auto") -> Any:
    """POST to the bot's webhook URL as DLG would, signed unless told otherwise."""
    from django.urls import reverse

    headers = {}
    if signature is not None:
        headers["HTTP_X_SIGNATURE"] = sign(body) if signature == "auto" else signature
    url = reverse("dlg-webhook", args=[bot.pk])
    return client.post(url, body, content_type="application/json", **headers)
