"""What a message is, independent of any platform's JSON, and the rules it must obey.

Every entry point (compose page, command line, templates, bulk sends) builds one of these specs
and calls :func:`validate`, so a message the platform would refuse is stopped here with an error
naming the field, before anything is recorded or sent. Pure Python: no ORM, no request.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import urlsplit

#: DLG refuses files above 5 MB ("Exceeded max file size of 5MB"); we count decoded bytes
#: and read "MB" as MiB. See docs/decisions.md.
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_QUICK_REPLIES = 11
MAX_TEXT_LENGTH = 20_000

DLG_ADDRESS_KINDS = ("appCustomerId", "appStaffId", "id")
CERTAINLY_ADDRESS_KINDS = ("user_id",)
DOCUMENT_KINDS = ("file", "photo", "video", "voice")


@dataclass(frozen=True)
class FieldError:
    """One problem, attached to a field path such as ``buttons.3.image_url``."""

    field: str
    message: str


class InvalidMessage(ValueError):
    """The message breaks a platform rule; ``errors`` says where and why."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in errors))

    def by_field(self) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        for error in self.errors:
            result.setdefault(error.field, []).append(error.message)
        return result


@dataclass(frozen=True)
class Address:
    """A recipient as the platform knows them: exactly one kind of id and its value."""

    kind: str
    value: str


@dataclass(frozen=True)
class QuickReply:
    title: str
    payload: str
    payload_seen_by_user: str = ""
    payload_hidden: bool = False
    image_url: str = ""


@dataclass(frozen=True)
class Text:
    message_type: ClassVar[str] = "text"
    text: str


@dataclass(frozen=True)
class QuickReplies:
    message_type: ClassVar[str] = "quick_replies"
    text: str
    buttons: tuple[QuickReply, ...]


@dataclass(frozen=True)
class Document:
    """A file sent as base64; ``kind`` picks how DLG renders it."""

    message_type: ClassVar[str] = "document"
    file_name: str
    data: bytes = field(repr=False)
    kind: str = "file"
    mime_type: str = ""
    width: int | None = None
    height: int | None = None
    duration: int | None = None

    @property
    def extension(self) -> str:
        """DLG's ``mimeType`` is the file extension (``pdf``, ``jpg``), not a MIME type."""
        if self.mime_type:
            return self.mime_type
        return posixpath.splitext(self.file_name)[1].lstrip(".").lower()


@dataclass(frozen=True)
class Trigger:
    """A notification that, when tapped, hands ``command`` and ``data`` to the host app."""

    message_type: ClassVar[str] = "trigger"
    text: str
    command: str
    data: str = ""


@dataclass(frozen=True)
class CertainlyText:
    message_type: ClassVar[str] = "certainly_text"
    text: str


Message = Text | QuickReplies | Document | Trigger | CertainlyText

PROVIDER_MESSAGES: dict[str, tuple[type, ...]] = {
    "dlg": (Text, QuickReplies, Document, Trigger),
    "certainly": (CertainlyText,),
}
PROVIDER_ADDRESS_KINDS = {"dlg": DLG_ADDRESS_KINDS, "certainly": CERTAINLY_ADDRESS_KINDS}


def is_web_url(value: str) -> bool:
    """Only http(s) URLs with a host: ``javascript:`` or ``data:`` must never reach a phone."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    plain = " " not in value and "\x00" not in value
    return parts.scheme in ("http", "https") and bool(parts.netloc) and plain


def _text_errors(name: str, value: str) -> list[FieldError]:
    if not isinstance(value, str) or not value.strip():
        return [FieldError(name, "This field is required.")]
    if len(value) > MAX_TEXT_LENGTH:
        return [FieldError(name, f"Keep this under {MAX_TEXT_LENGTH:,} characters.")]
    if "\x00" in value:
        return [FieldError(name, "Remove the NUL character (\\0) from this text.")]
    return []


def _positive_int(name: str, value: int | None, *, allow_zero: bool = False) -> list[FieldError]:
    if value is None:
        return [FieldError(name, "This field is required.")]
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1):
        floor = "zero or more" if allow_zero else "a whole number above zero"
        return [FieldError(name, f"Enter {floor}.")]
    return []


def _button_errors(index: int, button: QuickReply) -> list[FieldError]:
    prefix = f"buttons.{index}"
    errors = [
        *_text_errors(f"{prefix}.title", button.title),
        *_text_errors(f"{prefix}.payload", button.payload),
    ]
    if button.image_url and not is_web_url(button.image_url):
        errors.append(
            FieldError(f"{prefix}.image_url", "Enter an http:// or https:// address for the icon.")
        )
    return errors


def _document_errors(message: Document) -> list[FieldError]:
    errors: list[FieldError] = []
    if not message.file_name.strip():
        errors.append(FieldError("file", "Choose a file."))
    elif not message.extension:
        errors.append(FieldError("file", "The file name needs an extension such as .pdf."))
    if not message.data:
        errors.append(FieldError("file", "The file is empty."))
    elif len(message.data) > MAX_FILE_BYTES:
        errors.append(
            FieldError(
                "file",
                f"The file is {len(message.data):,} bytes; DLG accepts files up to "
                f"{MAX_FILE_BYTES:,} bytes (5 MB).",
            )
        )
    if message.kind not in DOCUMENT_KINDS:
        errors.append(FieldError("kind", "Choose file, photo, video or voice."))
    if message.kind in ("photo", "video"):
        errors += _positive_int("width", message.width) + _positive_int("height", message.height)
    if message.kind in ("video", "voice"):
        errors += _positive_int("duration", message.duration, allow_zero=True)
    return errors


def message_errors(message: Message) -> list[FieldError]:
    """The rule breaks in a message's own fields, whoever it is addressed to."""
    errors: list[FieldError] = []
    match message:
        case Text() | CertainlyText():
            errors += _text_errors("text", message.text)
        case QuickReplies():
            errors += _text_errors("text", message.text)
            if not 1 <= len(message.buttons) <= MAX_QUICK_REPLIES:
                errors.append(
                    FieldError("buttons", f"Add between 1 and {MAX_QUICK_REPLIES} buttons.")
                )
            for index, button in enumerate(message.buttons):
                errors += _button_errors(index, button)
        case Document():
            errors += _document_errors(message)
        case Trigger():
            errors += _text_errors("text", message.text) + _text_errors("command", message.command)
            if not isinstance(message.data, str):
                errors.append(FieldError("data", "Data must be text (it is sent as a string)."))
            elif "\x00" in message.data:
                errors.append(FieldError("data", "Remove the NUL character (\\0) from the data."))
    return errors


def validate(address: Address, message: Message, provider: str) -> None:
    """Raise :class:`InvalidMessage` unless ``provider`` would accept this message."""
    errors: list[FieldError] = []
    if address.kind not in PROVIDER_ADDRESS_KINDS.get(provider, ()):
        errors.append(FieldError("recipient", f"This bot cannot address a “{address.kind}”."))
    elif not isinstance(address.value, str) or not address.value.strip():
        errors.append(FieldError("recipient", "Enter the recipient's id."))
    elif "\x00" in address.value:
        errors.append(FieldError("recipient", "Remove the NUL character (\\0) from the id."))
    if not isinstance(message, PROVIDER_MESSAGES.get(provider, ())):
        errors.append(FieldError("message_type", "This bot cannot send this kind of message."))
    errors += message_errors(message)
    if errors:
        raise InvalidMessage(errors)
