"""The history as CSV: one documented column per field, streamed in constant memory.

Rows are read from a server-side cursor (``iterator``) and written as they come, so a
million-row export costs the same memory as a ten-row one. Cells a spreadsheet would run as a
formula are prefixed with an apostrophe (OWASP "CSV injection"), since auditors open these
files in Excel.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet

from messaging.models import OutboundMessage

#: (CSV header, database value path, what the column means) — the documentation of the file.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("message_id", "message_id", "Our id for the message (DLG's messageId)."),
    ("created_at", "created_at", "When the message was recorded, ISO 8601 UTC."),
    ("sent_at", "sent_at", "When the platform accepted it; empty if it did not."),
    ("bot", "bot__name", "The bot that sent it."),
    ("provider", "bot__provider", "dlg or certainly."),
    ("message_type", "message_type", "text, quick_replies, document, trigger or certainly_text."),
    ("recipient_kind", "recipient_kind", "appCustomerId, appStaffId, id or user_id."),
    ("recipient_id", "recipient_value", "The recipient's id of that kind, as sent."),
    ("recipient_name", "recipient_name", "The directory name at send time, if any."),
    ("summary", "summary", "The text, or the document's file name."),
    (
        "status",
        "status",
        "queued, sending, accepted, sent, delivered, read, failed, unknown or expired.",
    ),
    ("http_status", "http_status", "The platform's HTTP status; empty if no answer came."),
    ("platform_recipient_id", "platform_recipient_id", "The recipient's id on the platform."),
    ("platform_message_id", "platform_message_id", "The message id the platform returned."),
    ("error_code", "error_code", "Our code for the failure, e.g. recipient_not_found."),
    ("error_message", "error_message", "The failure in plain words."),
    ("attempts", "attempts", "How many times the request was posted."),
    ("latency_ms", "latency_ms", "How long the platform took to answer, in milliseconds."),
    ("sender", "sender__username", "Who sent it; empty for automated sends."),
    ("template", "template__name", "The template used, if any."),
    ("file_sha256", "file__sha256", "SHA-256 of the file sent, if any."),
    ("request_body", "request_body", "The JSON body as sent: no token, file data summarised."),
    ("response_body", "response_body", "The platform's answer as received."),
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    elif hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def rows(messages: QuerySet[OutboundMessage], chunk_size: int = 2000) -> Iterator[str]:
    """The CSV text, line by line, header first."""
    writer = csv.writer(_Echo())
    yield writer.writerow([header for header, _, _ in COLUMNS])
    paths = [path for _, path, _ in COLUMNS]
    for values in messages.values_list(*paths).iterator(chunk_size=chunk_size):
        yield writer.writerow([_cell(value) for value in values])
