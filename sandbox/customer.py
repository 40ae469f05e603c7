"""The emulated customer: what happens to an accepted DLG message on the user's side.

DLG documents a message's life as accepted → echo (sent) → delivery → read, with the user's
answers and button presses coming back as `message` events. The sandbox plays that user so a
console's webhook handling can be tested end to end: automatically after each accepted message
(`customer` settings), or on demand through the control API.
"""

from __future__ import annotations

import random
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.config import SandboxConfig
from sandbox.scheduler import Scheduler
from sandbox.webhook_config import CustomerSettings, WebhookConfig
from sandbox.webhooks import WebhookDispatcher, WebhookEvent, now_ms

TRACK_LIMIT = 100_000  # messages the customer can still act on; the oldest are forgotten


class CustomerError(Exception):
    """A customer action that cannot be done; `status` is the control API's answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class TrackedMessage:
    """An accepted message the customer can act on; buttons are (bracketed id, payload)."""

    bot: str
    message_id: str
    recipient: dict[str, str]
    buttons: tuple[tuple[str, str], ...] = ()


def _postbacks(buttons: Any, bracket_id: str) -> list[tuple[str, str]]:
    if not isinstance(buttons, list):
        return []
    return [
        (bracket_id, button["payload"])
        for button in buttons
        if isinstance(button, dict)
        and button.get("type") == "postback"
        and isinstance(button.get("payload"), str)
    ]


def buttons_of(message: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The pressable buttons of a DLG message body, each with the id its press text names.

    Quick replies name the message's own id; a button template names its `payload.messageId`
    and a card its `element.messageId` (docs 13.6). `web_url` buttons open a page instead.
    """
    own = message.get("messageId")
    if not isinstance(own, str):
        return ()
    found = [
        (own, reply["payload"])
        for reply in message.get("quickRepliesV2") or []
        if isinstance(reply, dict) and isinstance(reply.get("payload"), str)
    ]
    attachment = message.get("attachment")
    payload = attachment.get("payload") if isinstance(attachment, dict) else None
    if isinstance(payload, dict):
        template_id = payload.get("messageId")
        template_id = template_id if isinstance(template_id, str) else own
        found += _postbacks(payload.get("buttonsV2"), template_id)
        for element in payload.get("elements") or []:
            if isinstance(element, dict):
                element_id = element.get("messageId")
                element_id = element_id if isinstance(element_id, str) else template_id
                found += _postbacks(element.get("buttonsV2"), element_id)
    return tuple(found)


def event_recipient(config: SandboxConfig, kind: str, value: str, dlg_id: str) -> dict[str, str]:
    """The event's `recipient`: the customer (or staff) number and the DLG user id.

    A message sent to a bare DLG `id` still names the customer number when one is configured
    for that user, since every DLG user has one of the two.
    """
    if kind == "id":
        known = config.customer_of(dlg_id)
        return {known[0]: known[1], "id": dlg_id} if known else {"id": dlg_id}
    return {kind: value, "id": dlg_id}


class Customer:
    """Plays the user behind every accepted DLG message that carried a messageId."""

    def __init__(
        self,
        settings: CustomerSettings,
        dispatcher: WebhookDispatcher,
        scheduler: Scheduler,
        limit: int = TRACK_LIMIT,
    ) -> None:
        self.settings = settings
        self._dispatcher = dispatcher
        self._scheduler = scheduler
        self._limit = limit
        self._lock = threading.Lock()
        self._messages: OrderedDict[str, TrackedMessage] = OrderedDict()
        self._rng = random.Random(settings.seed)

    def on_accepted(self, message: TrackedMessage, webhook: WebhookConfig) -> None:
        """Remember the message; when its bot has a webhook URL, start its life cycle.

        The echo is the platform's own (the message left toward the user), so it is sent even
        when the customer is disabled: a disabled customer is a phone that stays off.
        """
        with self._lock:
            self._messages[message.message_id] = message
            self._messages.move_to_end(message.message_id)
            while len(self._messages) > self._limit:
                self._messages.popitem(last=False)
        if webhook.url is None:
            return
        echo = {"app_id": webhook.app_id, "is_echo": True, "mid": message.message_id}
        self._emit(message, "messageEcho", echo)
        settings = self.settings
        if not settings.enabled:
            return
        self._later(settings.deliver_after_ms, lambda: self._status(message, "delivery"))
        self._later(settings.read_after_ms, lambda: self._status(message, "reads"))
        button = self._auto_button(message)
        if button is not None:
            self._later(settings.press_after_ms, lambda: self._answer(message, *button))

    def _auto_button(self, message: TrackedMessage) -> tuple[str, str] | None:
        if not message.buttons or self.settings.press == "none":
            return None
        if self.settings.press == "first":
            return message.buttons[0]
        with self._lock:
            return self._rng.choice(message.buttons)

    def _later(self, delay_ms: float, action: Any) -> None:
        self._scheduler.call_later(delay_ms / 1000, action)

    def _emit(self, message: TrackedMessage, key: str, data: dict[str, Any]) -> bool:
        event = WebhookEvent(message.bot, message.recipient, key, data, now_ms())
        return self._dispatcher.submit(event)

    def _status(self, message: TrackedMessage, key: str) -> bool:
        # `delivery`/`reads` watermarks are the event's own time: all before it is covered.
        now = now_ms()
        event = WebhookEvent(
            message.bot,
            message.recipient,
            key,
            {"mids": [message.message_id], "watermark": now},
            now,
        )
        return self._dispatcher.submit(event)

    def _answer(self, message: TrackedMessage, bracket_id: str | None, text: str) -> bool:
        # A press is a `message` whose text is "[<messageId>]:<payload>"; `mid` is the bot
        # message being answered.
        if bracket_id is not None:
            text = f"[{bracket_id}]:{text}"
        return self._emit(message, "message", {"mid": message.message_id, "text": text})

    def _find(self, message_id: Any) -> TrackedMessage:
        if not isinstance(message_id, str) or not message_id:
            raise CustomerError("message_id must be a non-empty string")
        with self._lock:
            message = self._messages.get(message_id)
        if message is None:
            raise CustomerError(
                f"no accepted DLG message with messageId {message_id!r} (to a bot with a webhook)",
                404,
            )
        return message

    def _require(self, sent: bool, message: TrackedMessage) -> None:
        if not sent:
            raise CustomerError(
                f"bot {message.bot!r} has no webhook URL: set one with PUT /_sandbox/webhook", 409
            )

    def press(self, message_id: Any, payload: Any = None, button: Any = None) -> dict[str, Any]:
        """Press a button now: by `payload` (any string, as a device could send) or by index."""
        message = self._find(message_id)
        if payload is not None and button is not None:
            raise CustomerError("give payload or button, not both")
        if payload is not None:
            if not isinstance(payload, str):
                raise CustomerError("payload must be a string")
            bracket_id = next((b for b, p in message.buttons if p == payload), message.message_id)
        else:
            index = 0 if button is None else button
            if isinstance(index, bool) or not isinstance(index, int):
                raise CustomerError("button must be an integer index")
            if not message.buttons:
                raise CustomerError(f"message {message.message_id!r} has no postback buttons")
            if not 0 <= index < len(message.buttons):
                raise CustomerError(f"button must be between 0 and {len(message.buttons) - 1}")
            bracket_id, payload = message.buttons[index]
        self._require(self._answer(message, bracket_id, payload), message)
        return {"message": {"mid": message.message_id, "text": f"[{bracket_id}]:{payload}"}}

    def reply(self, message_id: Any, text: Any) -> dict[str, Any]:
        """The user types `text` in answer to the message: a `message` event, text unchanged."""
        message = self._find(message_id)
        if not isinstance(text, str):
            raise CustomerError("text must be a string")
        self._require(self._answer(message, None, text), message)
        return {"message": {"mid": message.message_id, "text": text}}

    def read(self, message_id: Any) -> dict[str, Any]:
        """The user opens the chat now: a `reads` event for the message."""
        message = self._find(message_id)
        self._require(self._status(message, "reads"), message)
        return {"reads": {"mids": [message.message_id]}}

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()
            self._rng = random.Random(self.settings.seed)
