"""How a sent message's status may move, and which of its fields may change at all.

The history is evidence: once a row exists, what was sent, to whom and by whom never changes,
and its status only moves forward. Everything that writes to the history goes through these
rules, enforced by the model itself.
"""

from __future__ import annotations

from messaging.choices import Status

#: For each status, the statuses it may move to. Unknown outcomes are resolved by the first
#: platform event that names the message (or by a person); nothing moves backwards.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.QUEUED: frozenset({Status.SENDING, Status.EXPIRED, Status.FAILED, Status.CANCELLED}),
    Status.SENDING: frozenset({Status.ACCEPTED, Status.FAILED, Status.UNKNOWN, Status.QUEUED}),
    # Back to the queue only when a person chose to resend unknown outcomes.
    Status.UNKNOWN: frozenset(
        {Status.ACCEPTED, Status.SENT, Status.DELIVERED, Status.READ, Status.FAILED, Status.QUEUED}
    ),
    Status.ACCEPTED: frozenset({Status.SENT, Status.DELIVERED, Status.READ}),
    Status.SENT: frozenset({Status.DELIVERED, Status.READ}),
    Status.DELIVERED: frozenset({Status.READ}),
    Status.READ: frozenset(),
    Status.FAILED: frozenset(),
    Status.EXPIRED: frozenset(),
    Status.CANCELLED: frozenset(),
}

#: While a message is in these statuses the send pipeline is still writing its outcome.
IN_FLIGHT = frozenset({Status.QUEUED, Status.SENDING, Status.UNKNOWN})

#: What was sent, to whom and by whom: fixed once the row exists.
IDENTITY_FIELDS = (
    "message_id",
    "bot_id",
    "recipient_kind",
    "recipient_value",
    "recipient_name",
    "message_type",
    "template_id",
    "campaign_id",
    "file_id",
    "summary",
    "request_body",
    "sender_id",
    "created_at",
)

#: The platform's answer: written by the pipeline while the message is in flight, then fixed.
OUTCOME_FIELDS = (
    "http_status",
    "response_body",
    "platform_recipient_id",
    "platform_message_id",
    "error_code",
    "error_message",
    "attempts",
    "latency_ms",
    "sent_at",
)


class ImmutableHistory(Exception):
    """Someone tried to rewrite or delete history; the message says what was refused."""


def can_move(old: str, new: str) -> bool:
    return old == new or new in TRANSITIONS.get(old, frozenset())


def check_change(before: dict[str, object], after: dict[str, object]) -> None:
    """Raise :class:`ImmutableHistory` unless ``after`` is a change the pipeline may make.

    ``before`` is the stored row; ``after`` holds the values about to be saved (fields not
    loaded are not saved, so they are absent and cannot change).
    """

    def changed(names: tuple[str, ...]) -> list[str]:
        return [name for name in names if name in after and before.get(name) != after[name]]

    changed_identity = changed(IDENTITY_FIELDS)
    if changed_identity:
        raise ImmutableHistory(f"A sent message's {', '.join(changed_identity)} cannot be changed.")
    old_status = str(before.get("status", after.get("status")))
    new_status = str(after.get("status", old_status))
    if not can_move(old_status, new_status):
        raise ImmutableHistory(f"A message cannot go from {old_status} back to {new_status}.")
    changed_outcome = changed(OUTCOME_FIELDS)
    if changed_outcome and old_status not in IN_FLIGHT:
        raise ImmutableHistory(
            f"The recorded answer ({', '.join(changed_outcome)}) of a {old_status} message "
            "cannot be changed."
        )
