"""One background thread that runs callbacks at given times.

The customer's delayed events and the webhook batches' flush deadlines share it, so a busy
sandbox holds one timer thread instead of one per message. Callbacks must be quick: they only
hand work to the webhook dispatcher.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger("sandbox.scheduler")

PENDING_LIMIT = 500_000


class Scheduler:
    """A bounded heap of (due time, callback); started on first use, stopped by close()."""

    def __init__(self, limit: int = PENDING_LIMIT) -> None:
        self._limit = limit
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.refused = 0

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> bool:
        """Run `callback` after `delay_s`; False (and counted) when full or closed."""
        with self._wake:
            if self._closed or len(self._heap) >= self._limit:
                self.refused += 1
                return False
            due = time.monotonic() + max(delay_s, 0)
            heapq.heappush(self._heap, (due, next(self._order), callback))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="sandbox-timers", daemon=True
                )
                self._thread.start()
            self._wake.notify()
        return True

    def cancel_all(self) -> None:
        """Forget everything pending: a reset sandbox must not emit its past's events."""
        with self._wake:
            self._heap.clear()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._heap.clear()
            self._wake.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._closed:
                    if self._heap:
                        wait = self._heap[0][0] - time.monotonic()
                        if wait <= 0:
                            break
                        self._wake.wait(wait)
                    else:
                        self._wake.wait()
                if self._closed:
                    return
                _, _, callback = heapq.heappop(self._heap)
            try:
                callback()
            except Exception:  # one broken callback must not stop every later event
                logger.exception("sandbox timer callback failed")
