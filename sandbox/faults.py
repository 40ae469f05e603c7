"""Fault injection: the current settings and the per-request decision, shared across threads.

Each platform request gets at most one fault, chosen by a single uniform draw split into bands
(drop, 429, error, timeout, in that order). One draw per request keeps shares exact and,
with a seed, the sequence of decisions reproducible for sequential clients.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sandbox.config import FaultSettings


class FaultKind(StrEnum):
    NONE = "none"
    DROP = "drop"
    RATE_LIMIT = "rate_429"
    ERROR = "error"
    TIMEOUT = "timeout"


@dataclass(frozen=True)
class FaultDecision:
    """The fault for one request plus the settings it was drawn under (they may change later)."""

    kind: FaultKind
    settings: FaultSettings

    @property
    def latency_s(self) -> float:
        return self.settings.latency_ms / 1000


class FaultInjector:
    """Thread-safe holder of fault settings and of the seeded random source."""

    def __init__(self, settings: FaultSettings | None = None) -> None:
        self._lock = threading.Lock()
        self._settings = FaultSettings()
        self._rng = random.Random()
        # Its own sequence, so webhook events never shift which requests get faults.
        self._webhook_rng = random.Random()
        self.configure(settings or FaultSettings())

    @property
    def settings(self) -> FaultSettings:
        with self._lock:
            return self._settings

    def configure(self, settings: FaultSettings) -> FaultSettings:
        """Replace all settings; a new seed restarts the decision sequence."""
        with self._lock:
            self._settings = settings
            self._rng = random.Random(settings.seed)
            self._webhook_rng = random.Random(settings.seed)
        return settings

    def configure_from_mapping(self, data: Mapping[str, Any]) -> FaultSettings:
        """Validate then replace; keys left out fall back to their defaults (off)."""
        return self.configure(FaultSettings.from_mapping(data))

    def reset(self) -> FaultSettings:
        return self.configure(FaultSettings())

    def decide(self) -> FaultDecision:
        with self._lock:
            settings = self._settings
            bands = (
                (FaultKind.DROP, settings.drop_rate),
                (FaultKind.RATE_LIMIT, settings.rate_429),
                (FaultKind.ERROR, settings.error_rate),
                (FaultKind.TIMEOUT, settings.timeout_rate),
            )
            if not any(share for _, share in bands):
                return FaultDecision(FaultKind.NONE, settings)
            draw = self._rng.random()
        edge = 0.0
        for kind, share in bands:
            edge += share
            if draw < edge:
                return FaultDecision(kind, settings)
        return FaultDecision(FaultKind.NONE, settings)

    def webhook_draw(self) -> float:
        """One uniform draw from the webhook fault sequence (loss, duplicates, reordering)."""
        with self._lock:
            return self._webhook_rng.random()

    def webhook_shuffle(self, items: list[Any]) -> None:
        with self._lock:
            self._webhook_rng.shuffle(items)
