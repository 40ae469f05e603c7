"""The one path every entry point uses to send a message.

Views, commands and tasks only adapt their input into a bot, an address and a message spec,
then call :func:`send`. The history row is written before the platform is called and updated
after, so a crash in between leaves a row saying "sending", never a message without a trace.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from messaging import events
from messaging.choices import Status
from messaging.lifecycle import OUTCOME_FIELDS
from messaging.models import (
    Bot,
    MessageTemplate,
    OutboundMessage,
    Recipient,
    StoredFile,
    new_message_id,
)
from messaging.providers import ProviderClient, ProviderError, SendResult, client_class
from messaging.providers.base import OutgoingRequest
from messaging.providers.specs import (
    Address,
    Document,
    FieldError,
    InvalidMessage,
    Message,
    validate,
)

logger = logging.getLogger(__name__)

_clients: dict[tuple[int, str, str, tuple[float, float]], ProviderClient] = {}
_clients_lock = threading.Lock()


def client_for(bot: Bot) -> ProviderClient:
    """One pooled client per bot, rebuilt when its URL, token or timeouts change."""
    timeout = (settings.CONSOLE_CONNECT_TIMEOUT, settings.CONSOLE_READ_TIMEOUT)
    token_key = hashlib.sha256(bot.access_token.encode("utf-8")).hexdigest()
    key = (bot.pk, bot.base_url, token_key, timeout)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            for stale in [k for k in _clients if k[0] == bot.pk]:
                _clients.pop(stale).close()
            client = client_class(bot.provider)(bot.base_url, bot.access_token, timeout=timeout)
            _clients[key] = client
        return client


@dataclass(frozen=True)
class Preview:
    """What a send would post: the body as the history would keep it, and a cURL to copy."""

    body: dict[str, Any]
    curl: str
    problems: list[FieldError] = field(default_factory=list)


def preview(*, bot: Bot, address: Address, message: Message, message_id: str) -> Preview:
    """Build the request without sending it, listing what would stop it from being sent."""
    client = client_for(bot)
    request = client.build_request(address, message, message_id)
    try:
        validate(address, message, bot.provider)
    except InvalidMessage as err:
        problems = err.errors
    else:
        problems = []
    return Preview(body=request.recorded_body, curl=client.curl(request), problems=problems)


class AlreadySent(Exception):
    """A message with this id exists: the same form was submitted twice."""

    def __init__(self, record: OutboundMessage) -> None:
        super().__init__(f"Message {record.message_id} was already sent.")
        self.record = record


def summary_of(message: Message) -> str:
    """One line saying what was sent: the text, or the file's name."""
    text = message.file_name if isinstance(message, Document) else message.text
    line = " ".join(text.split())
    return line if len(line) <= 300 else line[:299] + "…"


def check_sendable(bot: Bot) -> None:
    if not bot.is_active:
        raise InvalidMessage([FieldError("bot", f"The bot “{bot.name}” is switched off.")])
    if not bot.access_token:
        raise InvalidMessage([FieldError("bot", f"The bot “{bot.name}” has no access token yet.")])


def send(
    *,
    bot: Bot,
    address: Address,
    message: Message,
    sender: User | None,
    recipient: Recipient | None = None,
    template: MessageTemplate | None = None,
    message_id: str | None = None,
    file: StoredFile | None = None,
) -> OutboundMessage:
    """Validate, record, send once, and record the answer.

    ``message_id`` is ours (sent to DLG as ``messageId``). It is unique, so a form that carries
    one as its one-time key cannot send twice: the second call raises :class:`AlreadySent`.

    Raises :class:`InvalidMessage` (nothing recorded, nothing sent) when the message breaks a
    platform rule; every platform or network failure is recorded on the returned row instead.
    """
    check_sendable(bot)
    client = client_for(bot)
    message_id = message_id or new_message_id()
    request = client.prepare(address, message, message_id)
    try:
        with transaction.atomic():
            record = OutboundMessage.objects.create(
                message_id=message_id,
                bot=bot,
                recipient=recipient,
                recipient_kind=address.kind,
                recipient_value=address.value,
                recipient_name=recipient.name if recipient else "",
                message_type=message.message_type,
                template=template,
                file=file,
                summary=summary_of(message),
                request_body=request.recorded_body,
                status=Status.SENDING,
                attempts=1,
                sender=sender if sender is not None and sender.is_authenticated else None,
            )
    except IntegrityError:
        existing = OutboundMessage.objects.filter(message_id=message_id).first()
        if existing is None:
            raise
        raise AlreadySent(existing) from None
    try:
        outcome = attempt(client, request)
    except Exception:
        # A fault of ours after the request may have left: say so rather than stay "sending".
        record.status = Status.UNKNOWN
        record.error_code = "internal_error"
        record.error_message = INTERNAL_ERROR
        save_outcome(record)
        raise
    record_outcome(record, outcome)
    return record


INTERNAL_ERROR = (
    "The console failed while sending; the message may or may not have reached the "
    "platform. Check with the recipient before sending it again."
)


@dataclass(frozen=True)
class Attempt:
    """One post to the platform: its acceptance, or the error that explains why not."""

    result: SendResult | None = None
    error: ProviderError | None = None


def attempt(client: ProviderClient, request: OutgoingRequest) -> Attempt:
    """Post once. Touches no database, so workers can run many of these in threads."""
    try:
        return Attempt(result=client.send(request))
    except ProviderError as err:
        return Attempt(error=err)


def apply_outcome(record: OutboundMessage, outcome: Attempt) -> None:
    """Write what happened onto the row (not saved): accepted, failed or unknown."""
    if outcome.result is not None:
        result = outcome.result
        record.status = Status.ACCEPTED
        record.http_status = result.http_status
        record.response_body = result.raw
        record.platform_recipient_id = result.recipient_id
        record.platform_message_id = result.message_id
        record.latency_ms = result.latency_ms
        record.error_code = record.error_message = ""
        record.sent_at = timezone.now()
        return
    err = outcome.error
    assert err is not None
    record.status = Status.UNKNOWN if err.outcome_unknown else Status.FAILED
    record.http_status = err.http_status
    record.response_body = err.raw
    record.error_code = err.code
    record.error_message = err.message
    record.latency_ms = err.latency_ms


def record_outcome(record: OutboundMessage, outcome: Attempt) -> None:
    """Save the outcome and catch up on events that arrived before it."""
    apply_outcome(record, outcome)
    save_outcome(record)
    if record.status == Status.ACCEPTED:
        logger.info("Send %s via bot %s accepted", record.message_id, record.bot_id)
        events.catch_up(record)
    else:
        logger.warning(
            "Send %s via bot %s ended %s: %s",
            record.message_id,
            record.bot_id,
            record.status,
            record.error_code,
        )


#: What recording an answer writes: the platform's outcome (attempts are counted when a
#: request leaves, not when it is answered) and when to try again.
ANSWER_FIELDS = (*(name for name in OUTCOME_FIELDS if name != "attempts"), "next_attempt_at")


def save_outcome(record: OutboundMessage) -> None:
    record.save(update_fields=["status", *ANSWER_FIELDS, "updated_at"])
