"""Keeping a bot under its rate limit, whichever workers and processes send for it.

Each bot has one row saying when it may next send. A worker locks it briefly, takes the next
slots (one per message, ``1 / rate`` apart), and sends each message at its slot. Slots are
spaced, not counted per second, so no one-second window, wherever it starts, holds more than
the limit.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from messaging.models import Bot, BotPace

#: Spacing is stretched a little so that network jitter cannot squeeze two slots together.
SAFETY = 1.02


def interval(bot: Bot) -> float:
    return SAFETY / max(bot.rate_limit, 0.001)


def reserve(bot: Bot, count: int) -> list[datetime]:
    """The next ``count`` send slots for this bot, reserved for the caller."""
    step = timedelta(seconds=interval(bot))
    now = timezone.now()
    # Made outside the lock: get_or_create survives two workers creating the row at once.
    BotPace.objects.get_or_create(bot=bot, defaults={"next_slot_at": now})
    with transaction.atomic():
        pace = BotPace.objects.select_for_update().get(bot=bot)
        start = max(now, pace.next_slot_at)
        pace.next_slot_at = start + step * count
        pace.save(update_fields=["next_slot_at"])
    return [start + step * index for index in range(count)]


def wait_for(slot: datetime) -> None:
    delay = (slot - timezone.now()).total_seconds()
    if delay > 0:
        time.sleep(delay)
