"""DLG (Diyalog) SendMessage API: one URL for every message type, the token in its path.

Field names and rules follow the docs' field tables (see docs/decisions.md where the pages
disagree). Every body carries exactly one recipient key and both ``quickReplies: []`` and
``quickRepliesV2``: the platform calls a body without either "malformed".
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import quote

import requests

from messaging.providers.base import (
    OutgoingRequest,
    ProviderClient,
    ProviderError,
    SendResult,
    answer_text,
)
from messaging.providers.specs import (
    Address,
    Document,
    Message,
    QuickReplies,
    QuickReply,
    Text,
    Trigger,
)

SENDMESSAGE_PATH = "/v1/bots/sendmessage/"
TOKEN_PLACEHOLDER = "<BOT-TOKEN>"  # noqa: S105 (what is shown instead of a token)
_TOKEN_IN_PATH = re.compile(r"(/v1/bots/sendmessage/)[^/\s\"'?#<>]+")


def sendmessage_url(base_url: str, token: str) -> str:
    """The only place the token is put into a URL; everything shown uses :func:`display_url`."""
    return f"{base_url.rstrip('/')}{SENDMESSAGE_PATH}{quote(token, safe='')}"


def display_url(base_url: str) -> str:
    return f"{base_url.rstrip('/')}{SENDMESSAGE_PATH}{TOKEN_PLACEHOLDER}"


def redact_paths(text: str) -> str:
    """Hide whatever follows ``/sendmessage/`` in free text such as a library's log line."""
    return _TOKEN_IN_PATH.sub(rf"\g<1>{TOKEN_PLACEHOLDER}", text)


def quick_reply_json(button: QuickReply) -> dict[str, Any]:
    item: dict[str, Any] = {
        "contentType": "text",
        "title": button.title,
        "payload": button.payload,
        "payloadHidden": button.payload_hidden,
    }
    if button.payload_seen_by_user:
        item["payloadSeenByUser"] = button.payload_seen_by_user
    if button.image_url:
        item["imageUrl"] = button.image_url
    return item


def document_json(document: Document) -> dict[str, Any]:
    item: dict[str, Any] = {
        "fileName": document.file_name,
        "fileData": base64.b64encode(document.data).decode("ascii"),
        "mimeType": document.extension,
    }
    if document.kind == "photo":
        item["photo"] = {"width": document.width, "height": document.height}
    elif document.kind == "video":
        item["video"] = {
            "width": document.width,
            "height": document.height,
            "duration": document.duration,
        }
    elif document.kind == "voice":
        item["voice"] = {"duration": document.duration}
    return item


def build_body(address: Address, message: Message, message_id: str) -> dict[str, Any]:
    """The SendMessage body for a validated message."""
    content: dict[str, Any] = {"messageId": message_id}
    buttons: list[dict[str, Any]] = []
    match message:
        case Text():
            content["text"] = message.text
        case QuickReplies():
            content["text"] = message.text
            buttons = [quick_reply_json(button) for button in message.buttons]
        case Document():
            content["document"] = document_json(message)
        case Trigger():
            content["text"] = message.text
            content["trigger"] = {"command": message.command, "data": message.data}
        case _:
            raise TypeError(f"DLG cannot send {type(message).__name__}")
    content["quickReplies"] = []
    content["quickRepliesV2"] = buttons
    return {"recipient": {address.kind: address.value}, "message": content}


# The documented error texts (Document Message page), matched case-insensitively inside the
# answer whatever its status, since the text is the more specific of the two: (code, fragments,
# what a person should read). All are permanent: the same request would fail the same way.
KNOWN_ERRORS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "malformed",
        ("request content was malformed",),
        "DLG refused the message as malformed. This is a fault in the console, not in what "
        "you typed: report it with the message id.",
    ),
    (
        "file_too_large",
        ("exceeded max file size",),
        "DLG refused the file because it is larger than 5 MB. Send a smaller file.",
    ),
    (
        "invalid_file_data",
        ("file data bytes not valid",),
        "DLG could not read the file data. Upload the file again.",
    ),
    (
        "empty_file_data",
        ("file data bytes is empty",),
        "DLG received an empty file. Upload the file again.",
    ),
    (
        "not_an_image",
        ("not a image file",),
        "DLG could not open the file as a photo. Send it as a plain file, or choose an image.",
    ),
    (
        "wrong_token",
        ("wrong token",),
        "DLG did not recognise this bot's access token. A bot admin must update the token "
        "on the bot's page.",
    ),
    (
        "recipient_not_found",
        ("recepient not found", "recipient not found"),
        "DLG does not know this recipient. Check the id and its kind (customer, staff or "
        "DLG user id); a customer must have used the app at least once.",
    ),
    (
        "bot_not_alive",
        ("bot is not alive",),
        "The bot is not running on the DLG server. Ask the DLG platform admin to start it.",
    ),
)


class DlgClient(ProviderClient):
    provider = "dlg"
    platform_name = "DLG"

    def endpoint(self) -> tuple[str, str]:
        return sendmessage_url(self.base_url, self._token), display_url(self.base_url)

    def build_body(self, address: Address, message: Message, message_id: str) -> dict[str, Any]:
        return build_body(address, message, message_id)

    def scrub(self, text: str) -> str:
        return redact_paths(super().scrub(text))

    def parse_success(
        self, response: requests.Response, request: OutgoingRequest, latency_ms: int
    ) -> SendResult:
        raw = response.text
        try:
            answer = json.loads(raw)
            recipient_id = answer["recipient_id"]
            message_id = answer.get("message_id") or request.body["message"]["messageId"]
        except (ValueError, KeyError, TypeError):
            raise ProviderError(
                "invalid_response",
                f"DLG answered HTTP {response.status_code} but not with the documented "
                "recipient_id and message_id, so whether the message was accepted is unknown.",
                permanent=True,
                outcome_unknown=True,
                http_status=response.status_code,
                raw=raw,
                latency_ms=latency_ms,
            ) from None
        return SendResult(
            http_status=response.status_code,
            recipient_id=str(recipient_id),
            message_id=str(message_id),
            raw=raw,
            latency_ms=latency_ms,
        )

    def known_error(self, status: int, raw: str) -> tuple[str, str] | None:
        lowered = answer_text(raw).lower()
        for code, fragments, message in KNOWN_ERRORS:
            if any(fragment in lowered for fragment in fragments):
                return code, message
        return None
