"""Request validation for the two emulated platforms, as pure functions over bytes.

DLG `POST /v1/bots/sendmessage/<token>` is checked in this order, which mirrors where an
Akka-HTTP service fails (the entity is unmarshalled before the route body runs):

1. The body must be a JSON object with the structure of the docs' field tables, else
   400 "The request content was malformed:\\n<short reason>".
2. The token must belong to a configured DLG bot, else 503 "You may be using wrong token."
3. That bot must be alive, else 500 "Sender bot is not alive."
4. A document's data: 400 "File data bytes is empty", "File data bytes not valid" (strict
   base64), "Exceeded max file size of 5MB" (decoded bytes over 5 MiB), then
   "File as photo cannot be parsed due to it is not a image file." when `photo` is given.
5. The recipient must be known, else 500 "Not delivered due to recepient not found."

Certainly `POST /actionsvc/trigger-message/` is checked as: credentials, then body, then
user id. All its answers are JSON.

Null is never accepted where a value is given (it is reported as malformed), and extra keys are
ignored, as Jackson-style unmarshallers do.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image

from sandbox.config import DLG_RECIPIENT_KINDS, SandboxConfig

MALFORMED_PREFIX = "The request content was malformed:\n"
WRONG_TOKEN = "You may be using wrong token."  # noqa: S105 (an error text)
BOT_NOT_ALIVE = "Sender bot is not alive."
RECIPIENT_NOT_FOUND = "Not delivered due to recepient not found."
FILE_EMPTY = "File data bytes is empty"
FILE_NOT_VALID = "File data bytes not valid"
FILE_TOO_BIG = "Exceeded max file size of 5MB"
NOT_AN_IMAGE = "File as photo cannot be parsed due to it is not a image file."
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_QUICK_REPLIES = 11
ATTACHMENT_TYPES = ("template", "image", "audio", "video", "file")
MEDIA_KINDS = ("photo", "video", "voice")

CERTAINLY_BAD_CREDENTIALS = {
    "error": [{"msg": "Invalid Authentication credentials", "location": "Backend"}],
    "message": None,
}
CERTAINLY_UNKNOWN_USER = "Bot user with this id does not exist"
CERTAINLY_SUCCESS = {"message": "1", "error": []}


@dataclass(frozen=True)
class Outcome:
    """What to answer: a str response is sent as text/plain, a dict as JSON."""

    status: int
    response: str | dict[str, Any]
    bot: str | None = None
    body: Any = None
    message_id: str | None = None

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


class Malformed(ValueError):
    """The body does not unmarshal into the documented request structure."""


def new_message_id() -> str:
    """A DLG-style generated id: a signed 64-bit integer in string form."""
    return str(secrets.randbits(64) - 2**63)


def _reject_constant(name: str) -> Any:
    raise Malformed(f"{name} is not valid JSON")


def parse_json(raw: bytes) -> Any:
    """Strict JSON: UTF-8 only, no NaN/Infinity (Jackson refuses them by default)."""
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except Malformed:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Malformed(f"Invalid JSON: {str(exc)[:120]}") from exc


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _object(parent: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    if key not in parent:
        raise Malformed(f"Object is missing required member '{where}{key}'")
    value = parent[key]
    if not isinstance(value, dict):
        raise Malformed(f"'{where}{key}' must be a JSON object")
    return value


def _string(parent: dict[str, Any], key: str, where: str, *, required: bool = True) -> None:
    if key not in parent:
        if required:
            raise Malformed(f"Object is missing required member '{where}{key}'")
        return
    if not isinstance(parent[key], str):
        raise Malformed(f"'{where}{key}' must be a string")


def _integers(parent: dict[str, Any], where: str, positive: tuple[str, ...], counts: bool) -> None:
    names = (*positive, "duration") if counts else positive
    for key in names:
        if key not in parent:
            raise Malformed(f"Object is missing required member '{where}{key}'")
        value = parent[key]
        if not _is_int(value):
            raise Malformed(f"'{where}{key}' must be an integer")
        if value < (0 if key == "duration" else 1):
            raise Malformed(f"'{where}{key}' is out of range: {value}")


def _check_recipient(recipient: dict[str, Any]) -> tuple[str, str]:
    present = [kind for kind in DLG_RECIPIENT_KINDS if kind in recipient]
    if len(present) != 1:
        raise Malformed("'recipient' must have exactly one of appCustomerId, appStaffId, id")
    kind = present[0]
    value = recipient[kind]
    if not isinstance(value, str) or not value:
        raise Malformed(f"'recipient.{kind}' must be a non-empty string")
    return kind, value


def _check_quick_replies(message: dict[str, Any]) -> None:
    for key in ("quickReplies", "quickRepliesV2"):
        if key not in message:
            raise Malformed(f"Object is missing required member 'message.{key}'")
        if not isinstance(message[key], list):
            raise Malformed(f"'message.{key}' must be an array")
    if message["quickReplies"]:
        raise Malformed("'message.quickReplies' is deprecated and must be an empty array")
    replies = message["quickRepliesV2"]
    if len(replies) > MAX_QUICK_REPLIES:
        raise Malformed(f"'message.quickRepliesV2' allows at most {MAX_QUICK_REPLIES} items")
    for i, reply in enumerate(replies):
        where = f"message.quickRepliesV2[{i}]."
        if not isinstance(reply, dict):
            raise Malformed(f"'{where[:-1]}' must be a JSON object")
        for key in ("contentType", "title", "payload"):
            _string(reply, key, where)
        if reply["contentType"] != "text":
            raise Malformed(f"'{where}contentType' must be \"text\"")
        if "payloadHidden" in reply and not isinstance(reply["payloadHidden"], bool):
            raise Malformed(f"'{where}payloadHidden' must be a boolean")
        for key in ("payloadSeenByUser", "imageUrl"):
            _string(reply, key, where, required=False)


def _check_document(document: dict[str, Any]) -> None:
    where = "message.document."
    _string(document, "fileName", where)
    _string(document, "fileData", where)
    _string(document, "mimeType", where, required=False)
    media = [kind for kind in MEDIA_KINDS if kind in document]
    if len(media) > 1:
        raise Malformed(f"'message.document' must have at most one of photo, video, voice: {media}")
    if "photo" in document:
        _integers(_object(document, "photo", where), f"{where}photo.", ("width", "height"), False)
    if "video" in document:
        _integers(_object(document, "video", where), f"{where}video.", ("width", "height"), True)
    if "voice" in document:
        _integers(_object(document, "voice", where), f"{where}voice.", (), True)


def _check_content(message: dict[str, Any]) -> None:
    has = {key: key in message for key in ("text", "attachment", "document", "trigger")}
    if not any(has.values()):
        raise Malformed("'message' needs one of text, attachment, document, trigger")
    if has["text"] and has["attachment"]:
        raise Malformed("'message' must not have both text and attachment")
    if has["document"] and (has["text"] or has["attachment"] or has["trigger"]):
        raise Malformed("'message.document' cannot be combined with text, attachment or trigger")
    if message["quickRepliesV2"] and not has["text"]:
        raise Malformed("'message.quickRepliesV2' buttons need 'message.text'")
    _string(message, "text", "message.", required=False)
    if has["trigger"]:
        trigger = _object(message, "trigger", "message.")
        if not has["text"]:
            raise Malformed("'message.trigger' needs 'message.text'")
        _string(trigger, "command", "message.trigger.")
        if not trigger["command"]:
            raise Malformed("'message.trigger.command' must not be empty")
        _string(trigger, "data", "message.trigger.")
    if has["attachment"]:
        attachment = _object(message, "attachment", "message.")
        _string(attachment, "type", "message.attachment.")
        if attachment["type"] not in ATTACHMENT_TYPES:
            raise Malformed(
                f"'message.attachment.type' must be one of {', '.join(ATTACHMENT_TYPES)}"
            )
        _object(attachment, "payload", "message.attachment.")
    if has["document"]:
        _check_document(_object(message, "document", "message."))


def check_dlg_structure(body: Any) -> tuple[str, str]:
    """Raise Malformed unless `body` has the documented shape; return the recipient kind/value."""
    if not isinstance(body, dict):
        raise Malformed("the request body must be a JSON object")
    recipient = _object(body, "recipient", "")
    message = _object(body, "message", "")
    kind_value = _check_recipient(recipient)
    _string(message, "messageId", "message.", required=False)
    _check_quick_replies(message)
    _check_content(message)
    return kind_value


def decode_file_data(file_data: str) -> bytes:
    """Strict base64: standard alphabet, correct padding, no whitespace (like Java's decoder)."""
    try:
        return binascii.a2b_base64(file_data.encode("ascii"), strict_mode=True)
    except (UnicodeEncodeError, binascii.Error, ValueError) as exc:
        raise ValueError(FILE_NOT_VALID) from exc


def is_image(data: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except Exception:  # Pillow raises many unrelated types for unreadable bytes.
        return False
    return True


def _check_document_data(document: dict[str, Any]) -> str | None:
    if not document["fileData"]:
        return FILE_EMPTY
    try:
        data = decode_file_data(document["fileData"])
    except ValueError:
        return FILE_NOT_VALID
    if not data:
        return FILE_EMPTY
    if len(data) > MAX_FILE_BYTES:
        return FILE_TOO_BIG
    if "photo" in document and not is_image(data):
        return NOT_AN_IMAGE
    return None


def validate_dlg_send(
    raw: bytes,
    token: str,
    config: SandboxConfig,
    make_message_id: Callable[[], str] = new_message_id,
) -> Outcome:
    """Decide the answer to one sendmessage request (see the module docstring for the order)."""
    try:
        body = parse_json(raw)
        kind, value = check_dlg_structure(body)
    except Malformed as exc:
        return Outcome(400, MALFORMED_PREFIX + str(exc))
    bot = config.find_bot("dlg", token)
    if bot is None:
        return Outcome(503, WRONG_TOKEN, body=body)
    if not bot.alive:
        return Outcome(500, BOT_NOT_ALIVE, bot=bot.name, body=body)
    message = body["message"]
    if "document" in message:
        problem = _check_document_data(message["document"])
        if problem:
            return Outcome(400, problem, bot=bot.name, body=body)
    recipient_id = config.dlg_user_id(kind, value)
    if recipient_id is None:
        return Outcome(500, RECIPIENT_NOT_FOUND, bot=bot.name, body=body)
    given = message.get("messageId")
    message_id = given if given is not None else make_message_id()
    response = {"recipient_id": recipient_id, "message_id": message_id}
    return Outcome(200, response, bot=bot.name, body=body, message_id=given)


def certainly_token(authorization: str | None) -> str | None:
    """The token inside `Basic base64("user:bearer <token>")`, or None if anything is off."""
    if not authorization:
        return None
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    username, colon, password = decoded.partition(":")
    if not colon or username != "user" or not password.startswith("bearer "):
        return None
    return password[len("bearer ") :] or None


def _certainly_error(reason: str) -> Outcome:
    return Outcome(400, {"error": reason, "message": None})


def validate_certainly(raw: bytes, authorization: str | None, config: SandboxConfig) -> Outcome:
    """Decide the answer to one trigger-message request: credentials, body, then user."""
    token = certainly_token(authorization)
    bot = config.find_bot("certainly", token) if token else None
    if bot is None:
        return Outcome(400, CERTAINLY_BAD_CREDENTIALS)
    try:
        body = parse_json(raw)
    except Malformed:
        return _certainly_error("Request body must be valid JSON")
    if not isinstance(body, dict):
        return _certainly_error("Request body must be a JSON object")
    text = body.get("text_message")
    if not isinstance(text, str) or not text:
        return _certainly_error("text_message is required and must be a non-empty string")
    if not isinstance(body.get("user_id"), str):
        return _certainly_error("user_id is required and must be a string")
    if not config.certainly_user_known(body["user_id"]):
        return Outcome(400, {"error": CERTAINLY_UNKNOWN_USER, "message": None}, bot=bot.name)
    return Outcome(200, dict(CERTAINLY_SUCCESS, error=[]), bot=bot.name, body=body)
