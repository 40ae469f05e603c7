"""Command-line options shared by `manage.py sandbox` and `python -m sandbox.server`.

Options override the world file (or the demo world) so a one-off run needs no file of its own.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import asdict, replace
from typing import Any

from sandbox.config import SHARE_FIELDS, FaultSettings, SandboxConfig, load_config
from sandbox.values import ConfigError, url
from sandbox.webhook_config import PRESS_MODES, CustomerSettings, DeliverySettings, WebhookConfig

FAULT_OPTIONS = (
    *SHARE_FIELDS,
    "latency_ms",
    "error_status",
    "retry_after",
    "timeout_hold_s",
    "seed",
    "webhook_delay_ms",
    "webhook_loss_rate",
    "webhook_duplicate_rate",
    "webhook_reorder",
)
CUSTOMER_OPTIONS = ("deliver_after_ms", "read_after_ms", "press_after_ms", "press")


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare every option; unset ones stay None so the world file's values win."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--config", help="JSON world file (see sandbox/example-config.json)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument("--latency-ms", type=float, help="delay added before every answer")
    parser.add_argument("--error-rate", type=float, help="share answered with --error-status")
    parser.add_argument("--error-status", type=int, help="status for injected errors (503)")
    parser.add_argument("--rate-429", type=float, help="share answered 429 Too Many Requests")
    parser.add_argument("--retry-after", type=int, help="Retry-After seconds on 429 (1)")
    parser.add_argument("--timeout-rate", type=float, help="share accepted but never answered")
    parser.add_argument("--timeout-hold-s", type=float, help="how long an unanswered one is held")
    parser.add_argument("--drop-rate", type=float, help="share closed without any response")
    parser.add_argument("--seed", type=int, help="seed for reproducible fault decisions")
    webhooks = parser.add_argument_group("webhook events")
    webhooks.add_argument(
        "--webhook-url", help="POST events here, for every DLG bot that has a webhook secret"
    )
    webhooks.add_argument(
        "--flush-ms", type=float, help="ms from a batch's first event to its POST (docs: 5000)"
    )
    webhooks.add_argument("--webhook-retries", type=int, help="retries of a failed POST (0)")
    webhooks.add_argument("--webhook-delay-ms", type=float, help="extra delay before each POST")
    webhooks.add_argument("--webhook-loss-rate", type=float, help="share of events never sent")
    webhooks.add_argument("--webhook-duplicate-rate", type=float, help="share of events sent twice")
    webhooks.add_argument(
        "--webhook-reorder",
        action="store_true",
        default=None,
        help="shuffle events within and across consecutive batches",
    )
    customer = parser.add_argument_group("the emulated customer")
    customer.add_argument(
        "--no-customer",
        dest="customer_enabled",
        action="store_false",
        default=None,
        help="the customer's phone stays off: echo events only",
    )
    customer.add_argument("--deliver-after-ms", type=float, help="delivery event delay (300)")
    customer.add_argument("--read-after-ms", type=float, help="read event delay (1200)")
    customer.add_argument("--press-after-ms", type=float, help="button press delay (2200)")
    customer.add_argument("--press", choices=PRESS_MODES, help="which button is pressed (first)")


def _with_webhook_url(config: SandboxConfig, value: str) -> SandboxConfig:
    url(value, "--webhook-url")
    for bot in config.bots:
        if bot.provider == "dlg" and bot.webhook is not None:
            checked = WebhookConfig.from_mapping(
                {**asdict(bot.webhook), "url": value}, "--webhook-url"
            )
            config = config.with_webhook(bot.name, checked)
    return config


def config_from_cli(options: Mapping[str, Any]) -> SandboxConfig:
    """The config file (or the demo world) with the command line's options on top."""
    if options.get("config"):
        config = load_config(options["config"])
    else:
        from sandbox.defaults import default_config

        config = default_config()
    faults = {name: options[name] for name in FAULT_OPTIONS if options.get(name) is not None}
    if faults:
        config = replace(
            config, faults=FaultSettings.from_mapping({**config.faults.to_dict(), **faults})
        )
    delivery = {
        key: options[name]
        for name, key in (("flush_ms", "flush_ms"), ("webhook_retries", "retries"))
        if options.get(name) is not None
    }
    if delivery:
        current = asdict(config.webhooks)
        config = replace(config, webhooks=DeliverySettings.from_mapping({**current, **delivery}))
    customer = {name: options[name] for name in CUSTOMER_OPTIONS if options.get(name) is not None}
    if options.get("customer_enabled") is not None:
        customer["enabled"] = options["customer_enabled"]
    if customer:
        current = asdict(config.customer)
        config = replace(config, customer=CustomerSettings.from_mapping({**current, **customer}))
    if options.get("webhook_url"):
        config = _with_webhook_url(config, options["webhook_url"])
        if not any(bot.webhook is not None for bot in config.bots):
            raise ConfigError("--webhook-url: no DLG bot has a webhook secret configured")
    return config
