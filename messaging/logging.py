"""Logging filters that keep secrets out of log output."""

from __future__ import annotations

import logging

from messaging.providers.dlg import redact_paths


class RedactTokensFilter(logging.Filter):
    """Rewrite records whose text quotes a DLG send URL, which ends in the bot token.

    urllib3 logs every request line at DEBUG level; this filter sits on its loggers and on the
    console handler so that turning on debug logging never prints a token.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_paths(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True
