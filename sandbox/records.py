"""What the sandbox remembers: accepted messages, every platform request, and counters.

Bounded and thread-safe, so a long benchmark cannot grow the sandbox without limit and handler
threads never see a half-written record.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter, deque
from datetime import UTC, datetime
from typing import Any

from sandbox.faults import FaultKind
from sandbox.validation import Outcome, decode_file_data

RECORD_LIMIT = 200_000


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _summarise(body: Any) -> Any:
    """Replace a document's base64 with its size and hash, so listings stay small."""
    if not isinstance(body, dict) or not isinstance(body.get("message"), dict):
        return body
    message: dict[str, Any] = body["message"]
    document = message.get("document")
    if not isinstance(document, dict) or not isinstance(document.get("fileData"), str):
        return body
    data = decode_file_data(document["fileData"])
    summary = f"<base64: {len(data)} bytes, sha256={hashlib.sha256(data).hexdigest()}>"
    return {**body, "message": {**message, "document": {**document, "fileData": summary}}}


class Recorder:
    """Bounded, thread-safe logs of accepted messages and of every platform request."""

    def __init__(self, limit: int = RECORD_LIMIT) -> None:
        self._lock = threading.Lock()
        self._messages: deque[dict[str, Any]] = deque(maxlen=limit)
        self._requests: deque[dict[str, Any]] = deque(maxlen=limit)
        # Sequence numbers survive clearing, so `?since=` pollers never see a number twice.
        self._message_seq = 0
        self._request_seq = 0
        self._clear_counts()

    def _clear_counts(self) -> None:
        self._received = 0
        self._accepted = 0
        self._by_status: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._seen_ids: set[str] = set()
        self._duplicates = 0

    def log_request(
        self, platform: str, method: str, path: str, status: int | None, fault: FaultKind
    ) -> None:
        with self._lock:
            self._request_seq += 1
            self._received += 1
            if fault is not FaultKind.NONE:
                self._faults[fault.value] += 1
            if status is not None and not 200 <= status < 300:
                self._by_status[str(status)] += 1
            self._requests.append(
                {
                    "seq": self._request_seq,
                    "received_at": _now(),
                    "platform": platform,
                    "method": method,
                    "path": path,
                    "status": status,
                    "answered": status is not None and fault is not FaultKind.TIMEOUT,
                    "fault": None if fault is FaultKind.NONE else fault.value,
                }
            )

    def record_message(self, platform: str, outcome: Outcome, answered: bool) -> None:
        with self._lock:
            self._message_seq += 1
            self._accepted += 1
            if platform == "dlg" and outcome.message_id is not None:
                if outcome.message_id in self._seen_ids:
                    self._duplicates += 1
                self._seen_ids.add(outcome.message_id)
            self._messages.append(
                {
                    "seq": self._message_seq,
                    "platform": platform,
                    "bot": outcome.bot,
                    "received_at": _now(),
                    "body": outcome.body,
                    "response_status": outcome.status,
                    "response": outcome.response,
                    "answered": answered,
                }
            )

    def messages(self, since: int = 0, summary: bool = False) -> list[dict[str, Any]]:
        with self._lock:
            selected = [m for m in self._messages if m["seq"] > since]
        if summary:
            return [{**m, "body": _summarise(m["body"])} for m in selected]
        return selected

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self._requests if r["seq"] > since]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "received": self._received,
                "accepted": self._accepted,
                "rejected": dict(sorted(self._by_status.items())),
                "faults": dict(sorted(self._faults.items())),
                "duplicate_message_ids": self._duplicates,
            }

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()
            self._requests.clear()
            self._clear_counts()
