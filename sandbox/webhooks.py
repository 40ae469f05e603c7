"""DLG webhook delivery: batching, the documented envelope, the X-Signature, and the POSTs.

Events are buffered per target (URL and signing key) and posted by one background thread, up
to `batch_size` (10) per request, or `flush_ms` after a buffer's first event, as the docs
describe. The send endpoint only appends to a buffer under a lock: a slow or dead receiver
never slows it. Webhook faults (loss, duplicates, reordering, delay) are applied here, with
their own seeded random sequence.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import itertools
import json
import logging
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sandbox.faults import FaultInjector
from sandbox.scheduler import Scheduler
from sandbox.webhook_config import DeliverySettings, WebhookConfig

logger = logging.getLogger("sandbox.webhooks")

LOG_LIMIT = 100_000
QUEUE_LIMIT = 10_000  # batches waiting for the sender thread; beyond that they are dropped
FLUSH_WAIT_S = 10.0
HOLD_SHARE = 0.5  # with reordering on, the share of batches that hold one event back
COUNT_NAMES = (
    "events_queued",
    "events_lost",
    "events_duplicated",
    "events_without_url",
    "events_dropped",
    "events_posted",
    "posts",
    "posts_failed",
)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def sign(body: bytes, app_secret: str, form: str) -> str:
    """HMAC-SHA1 of the raw body keyed with the app secret, in one of SIGNATURE_FORMS."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha1).digest()
    text = digest.hex() if form.endswith("hex") else base64.b64encode(digest).decode("ascii")
    return f"sha1={text}" if form.startswith("sha1=") else text


@dataclass(frozen=True)
class WebhookEvent:
    """One event about one user, before it is wrapped in an entry: `key` is the event key."""

    bot: str
    recipient: dict[str, str]
    key: str
    data: dict[str, Any]
    timestamp: int


@dataclass(frozen=True)
class _Target:
    url: str
    app_secret: str
    signature: str


@dataclass
class _Item:
    webhook_id: str
    messaging: dict[str, Any]
    held: bool = False


@dataclass
class _Buffer:
    items: list[_Item] = field(default_factory=list)
    timed: bool = True


@dataclass(frozen=True)
class _Batch:
    target: _Target
    items: list[_Item]
    generation: int


class WebhookDispatcher:
    """Buffers events per target, applies webhook faults, and posts batches in the background."""

    def __init__(
        self,
        settings: DeliverySettings,
        faults: FaultInjector,
        scheduler: Scheduler,
        webhook_of: Callable[[str], WebhookConfig | None],
    ) -> None:
        self.settings = settings
        self._faults = faults
        self._scheduler = scheduler
        self._webhook_of = webhook_of
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._buffers: dict[_Target, _Buffer] = {}
        self._delayed: dict[int, _Batch] = {}
        self._delay_keys = itertools.count()
        self._queue: queue.Queue[_Batch | None] = queue.Queue(maxsize=QUEUE_LIMIT)
        self._inflight = 0
        self._generation = 0
        self._sender: threading.Thread | None = None
        self._closed = False
        self._log: deque[dict[str, Any]] = deque(maxlen=LOG_LIMIT)
        self._seq = 0  # survives clearing, like the other records' sequence numbers
        self._counts: Counter[str] = Counter()

    def submit(self, event: WebhookEvent) -> bool:
        """Queue one event for its bot's webhook; False when the bot has no webhook URL."""
        webhook = self._webhook_of(event.bot)
        if webhook is None or webhook.url is None:
            with self._lock:
                self._counts["events_without_url"] += 1
            return False
        faults = self._faults.settings
        if faults.webhook_loss_rate and self._faults.webhook_draw() < faults.webhook_loss_rate:
            with self._lock:
                self._counts["events_lost"] += 1
            return True
        twice = bool(
            faults.webhook_duplicate_rate
            and self._faults.webhook_draw() < faults.webhook_duplicate_rate
        )
        messaging = {
            "sender": {"id": webhook.sender_id},
            "recipient": dict(event.recipient),
            "timestamp": event.timestamp,
            event.key: event.data,
        }
        target = _Target(webhook.url, webhook.app_secret, webhook.signature)
        with self._lock:
            if self._closed:
                return False
            self._counts["events_queued"] += 1
            self._counts["events_duplicated"] += int(twice)
            # The copy follows the original, so it lands in the same batch or the next one.
            for _ in range(1 + twice):
                self._add_locked(target, _Item(webhook.id, messaging))
        return True

    def _add_locked(self, target: _Target, item: _Item) -> None:
        buffer = self._buffers.get(target)
        if buffer is None:
            buffer = self._buffers[target] = _Buffer()
            buffer.timed = self._scheduler.call_later(
                self.settings.flush_ms / 1000, lambda: self._deadline(target, buffer)
            )
        buffer.items.append(item)
        # Without a deadline (the timer heap is full) waiting could strand the events.
        if len(buffer.items) >= self.settings.batch_size or not buffer.timed:
            self._flush_locked(target, buffer, now=False)

    def _deadline(self, target: _Target, buffer: _Buffer) -> None:
        with self._lock:
            if self._buffers.get(target) is buffer:  # not already flushed because it was full
                self._flush_locked(target, buffer, now=False)

    def _flush_locked(self, target: _Target, buffer: _Buffer, now: bool) -> None:
        del self._buffers[target]
        items = buffer.items
        faults = self._faults.settings
        held: _Item | None = None
        if faults.webhook_reorder:
            self._faults.webhook_shuffle(items)
            fresh = [item for item in items if not item.held]
            # Holding one event back for the next batch reorders across batches too; an
            # event is held at most once, so every event leaves eventually.
            if not now and fresh and self._faults.webhook_draw() < HOLD_SHARE:
                held = fresh[0]
                items.remove(held)
                held.held = True
        if items:
            batch = _Batch(target, items, self._generation)
            if faults.webhook_delay_ms > 0 and not now:
                key = next(self._delay_keys)
                self._delayed[key] = batch
                self._scheduler.call_later(
                    faults.webhook_delay_ms / 1000, lambda: self._release(key)
                )
            else:
                self._enqueue_locked(batch)
        if held is not None:
            self._add_locked(target, held)

    def _release(self, key: int) -> None:
        with self._lock:
            batch = self._delayed.pop(key, None)
            if batch is not None:
                self._enqueue_locked(batch)

    def _enqueue_locked(self, batch: _Batch) -> None:
        try:
            self._queue.put_nowait(batch)
        except queue.Full:
            self._counts["events_dropped"] += len(batch.items)
            logger.warning("webhook queue full: %d event(s) dropped", len(batch.items))
            return
        self._inflight += 1
        if self._sender is None:
            self._sender = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
            self._sender.start()

    def flush(self, wait_s: float = FLUSH_WAIT_S) -> dict[str, int]:
        """Post every buffered and delayed event now and wait (bounded) until all are posted."""
        with self._lock:
            events = sum(len(buffer.items) for buffer in self._buffers.values())
            events += sum(len(batch.items) for batch in self._delayed.values())
            for target, buffer in list(self._buffers.items()):
                self._flush_locked(target, buffer, now=True)
            for key in list(self._delayed):
                self._enqueue_locked(self._delayed.pop(key))
            deadline = time.monotonic() + wait_s
            while self._inflight and (remaining := deadline - time.monotonic()) > 0:
                self._idle.wait(remaining)
            return {"flushed_events": events, "pending_batches": self._inflight}

    def _run(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            try:
                if batch.generation == self._generation:
                    self._post(batch)
            except Exception:  # the sender thread must survive any one batch
                logger.exception("webhook batch could not be posted")
            finally:
                with self._lock:
                    self._inflight -= 1
                    self._idle.notify_all()

    def _post(self, batch: _Batch) -> None:
        dispatched = now_ms()
        envelope = {
            "object": "dialog",
            "entry": [
                {"id": item.webhook_id, "time": dispatched, "messaging": [item.messaging]}
                for item in batch.items
            ],
        }
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
        signature = sign(body, batch.target.app_secret, batch.target.signature)
        for attempt in range(1 + self.settings.retries):
            status, error = self._send(batch.target.url, body, signature)
            ok = error is None and status is not None and 200 <= status < 300
            self._record(batch, attempt, status, error, body, signature, ok)
            if ok:
                return
            logger.warning(
                "webhook POST to %s failed (attempt %d): %s",
                batch.target.url,
                attempt + 1,
                error or f"HTTP {status}",
            )

    def _send(self, url: str, body: bytes, signature: str) -> tuple[int | None, str | None]:
        # http.client, not urllib: environment proxy settings must not capture loopback posts.
        parts = urlsplit(url)
        timeout = self.settings.timeout_ms / 1000
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_class(parts.hostname or "", parts.port, timeout=timeout)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {
            "Content-Type": "application/json",
            "X-Signature": signature,
            "User-Agent": "dlg-sandbox-webhooks",
        }
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read(64 * 1024)
            return response.status, None
        except (OSError, http.client.HTTPException) as exc:
            return None, f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()

    def _record(
        self,
        batch: _Batch,
        attempt: int,
        status: int | None,
        error: str | None,
        body: bytes,
        signature: str,
        ok: bool,
    ) -> None:
        with self._lock:
            if batch.generation != self._generation:
                return
            self._seq += 1
            self._counts["posts"] += 1
            if ok:
                self._counts["events_posted"] += len(batch.items)
            else:
                self._counts["posts_failed"] += 1
            self._log.append(
                {
                    "seq": self._seq,
                    "sent_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                    "url": batch.target.url,
                    "status": status,
                    "error": error,
                    "attempt": attempt,
                    "events": len(batch.items),
                    "signature": signature,
                    "body": json.loads(body),
                }
            )

    def records(self, since: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            return [record for record in self._log if record["seq"] > since]

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {name: self._counts[name] for name in COUNT_NAMES}

    def clear(self) -> None:
        """Forget buffered and delayed events, records and counts; queued batches are skipped."""
        with self._lock:
            self._generation += 1
            self._buffers.clear()
            self._delayed.clear()
            self._log.clear()
            self._counts.clear()
            self._idle.notify_all()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._generation += 1
            self._buffers.clear()
            self._delayed.clear()
            sender = self._sender
        if sender is not None:
            try:
                self._queue.put_nowait(None)
            except queue.Full:
                return  # a daemon thread; it ends with the process
            sender.join(timeout=2)
