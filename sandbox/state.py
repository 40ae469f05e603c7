"""What the sandbox's handler threads share: the world, records, faults, webhooks, customer.

The config is immutable; changing a bot's webhook at run time swaps in a new config object,
so a handler thread that read `state.config` once sees one consistent world.
"""

from __future__ import annotations

import threading
from dataclasses import asdict
from typing import Any

from sandbox.config import DLG_RECIPIENT_KINDS, SandboxConfig
from sandbox.customer import Customer, TrackedMessage, buttons_of, event_recipient
from sandbox.faults import FaultInjector
from sandbox.records import Recorder
from sandbox.scheduler import Scheduler
from sandbox.validation import Outcome
from sandbox.values import ConfigError
from sandbox.webhook_config import WebhookConfig
from sandbox.webhooks import WebhookDispatcher


class SandboxState:
    """Everything handler threads share; background threads start only when first needed."""

    def __init__(
        self,
        config: SandboxConfig,
        recorder: Recorder | None = None,
        faults: FaultInjector | None = None,
        verbose: bool = False,
    ) -> None:
        self.config = config
        self.initial_config = config
        self.recorder = recorder or Recorder()
        self.faults = faults or FaultInjector()
        self.verbose = verbose
        self.stopping = threading.Event()
        self.scheduler = Scheduler()
        self.webhooks = WebhookDispatcher(
            config.webhooks, self.faults, self.scheduler, self.webhook_of
        )
        self.customer = Customer(config.customer, self.webhooks, self.scheduler)
        self._config_lock = threading.Lock()

    def webhook_of(self, bot_name: str) -> WebhookConfig | None:
        bot = self.config.bot_named(bot_name)
        return None if bot is None else bot.webhook

    def message_accepted(self, outcome: Outcome) -> None:
        """Hand an accepted DLG message to the customer; events can only name a given id."""
        if outcome.message_id is None or outcome.bot is None:
            return
        config = self.config
        bot = config.bot_named(outcome.bot)
        if bot is None or bot.webhook is None or not isinstance(outcome.response, dict):
            return
        body = outcome.body
        kind = next(k for k in DLG_RECIPIENT_KINDS if k in body["recipient"])
        recipient = event_recipient(
            config, kind, body["recipient"][kind], outcome.response["recipient_id"]
        )
        message = TrackedMessage(
            bot.name, outcome.message_id, recipient, buttons_of(body["message"])
        )
        self.customer.on_accepted(message, bot.webhook)

    def set_webhook(
        self,
        bot_name: Any,
        url: Any,
        app_secret: Any = None,
        signature: Any = None,
    ) -> WebhookConfig:
        """Point a DLG bot's webhook at `url` (None stops events); raises ConfigError/KeyError."""
        with self._config_lock:
            bot = self.config.bot_named(bot_name) if isinstance(bot_name, str) else None
            if bot is None:
                raise KeyError(f"no bot named {bot_name!r}")
            if bot.provider != "dlg":
                raise ConfigError(f"bot {bot_name!r} is not a DLG bot; only DLG sends webhooks")
            data: dict[str, Any] = (
                asdict(bot.webhook) if bot.webhook else {"id": f"{bot.name}-webhook"}
            )
            data["url"] = url
            if app_secret is not None:
                data["app_secret"] = app_secret
            if signature is not None:
                data["signature"] = signature
            webhook = WebhookConfig.from_mapping(data, "webhook")
            self.config = self.config.with_webhook(bot.name, webhook)
        return webhook

    def reset_webhooks(self) -> None:
        """Back to the webhooks the sandbox started with."""
        with self._config_lock:
            self.config = self.initial_config

    def clear(self) -> None:
        """Forget records, pending customer actions and unsent events."""
        self.recorder.clear()
        self.scheduler.cancel_all()
        self.webhooks.clear()
        self.customer.clear()

    def close(self) -> None:
        self.stopping.set()
        self.scheduler.close()
        self.webhooks.close()
