"""Certainly's Trigger Message API: text into an active conversation, Basic auth.

The username is the literal ``user`` and the password ``bearer <token>`` with one space, as
in the vendor's worked example (see docs/decisions.md). The answer carries no message id.
"""

from __future__ import annotations

import base64
import json
import shlex
from typing import Any

import requests

from messaging.providers.base import (
    OutgoingRequest,
    ProviderClient,
    ProviderError,
    SendResult,
)
from messaging.providers.specs import Address, CertainlyText, Message

TRIGGER_MESSAGE_PATH = "/actionsvc/trigger-message/"
BASIC_USERNAME = "user"


def authorization_header(token: str) -> str:
    credentials = f"{BASIC_USERNAME}:bearer {token}".encode()
    return "Basic " + base64.b64encode(credentials).decode("ascii")


def build_body(address: Address, message: Message) -> dict[str, Any]:
    if not isinstance(message, CertainlyText):
        raise TypeError(f"Certainly cannot send {type(message).__name__}")
    return {"text_message": message.text, "user_id": address.value}


def _error_texts(answer: Any) -> list[str]:
    """Certainly's ``error`` is a string, or a list of ``{"msg": ...}`` objects."""
    error = answer.get("error") if isinstance(answer, dict) else None
    if isinstance(error, str):
        return [error] if error else []
    if isinstance(error, list):
        return [
            str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in error
        ]
    return []


class CertainlyClient(ProviderClient):
    provider = "certainly"
    platform_name = "Certainly"

    def endpoint(self) -> tuple[str, str]:
        url = f"{self.base_url}{TRIGGER_MESSAGE_PATH}"
        return url, url

    def headers(self) -> dict[str, str]:
        return {"Authorization": authorization_header(self._token)}

    def curl_auth(self) -> list[str]:
        return ["-u " + shlex.quote(f"{BASIC_USERNAME}:bearer <BOT-TOKEN>")]

    def scrub(self, text: str) -> str:
        return super().scrub(text).replace(authorization_header(self._token), "Basic <BOT-TOKEN>")

    def build_body(self, address: Address, message: Message, message_id: str) -> dict[str, Any]:
        return build_body(address, message)

    def parse_success(
        self, response: requests.Response, request: OutgoingRequest, latency_ms: int
    ) -> SendResult:
        raw = response.text
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = None
        if (
            not isinstance(answer, dict)
            or answer.get("message") in (None, "")
            or _error_texts(answer)
        ):
            problems = "; ".join(_error_texts(answer)) or "no confirmation in the answer"
            raise ProviderError(
                "invalid_response",
                f"Certainly answered HTTP {response.status_code} without confirming the "
                f"message ({problems}), so whether it was posted is unknown.",
                permanent=True,
                outcome_unknown=True,
                http_status=response.status_code,
                raw=raw,
                latency_ms=latency_ms,
            )
        return SendResult(
            http_status=response.status_code,
            recipient_id=request.body["user_id"],
            message_id="",
            raw=raw,
            latency_ms=latency_ms,
        )

    def known_error(self, status: int, raw: str) -> tuple[str, str] | None:
        joined = self.answer_detail(raw).lower()
        if "does not exist" in joined:
            return (
                "unknown_user",
                "Certainly has no active conversation with this user id. Use the end user's "
                "id from Certainly ({{certainly.from}}), not a bot or account id.",
            )
        if "credentials" in joined or status in (401, 403):
            return (
                "bad_credentials",
                "Certainly did not accept this bot's token. A bot admin must paste the "
                "'public API auth token' from Certainly's My Profile page into the bot.",
            )
        return None

    def answer_detail(self, raw: str) -> str:
        try:
            return "; ".join(_error_texts(json.loads(raw)))
        except ValueError:
            return raw.strip()
