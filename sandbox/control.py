"""The control API under /_sandbox/: inspect records, set faults and webhooks, act as the user.

A pure function from (state, method, route, query, body) to (status, JSON, headers), so the
HTTP handler stays about HTTP. Every answer is JSON, errors as {"error": "..."}.

    GET            health, stats, config
    GET, DELETE    messages, requests (?since=N; DELETE clears all records and pending events)
    GET, PUT, DELETE faults
    GET            webhooks: the POSTs made, {"webhooks": [...], "counts": {...}} (?since=N)
    POST           webhooks/flush: post every buffered event now, wait until posted
    GET, PUT, DELETE webhook: {"bot", "url", "app_secret"?, "signature"?}; DELETE restores
    POST           customer/press {"message_id", "payload" | "button"},
                   customer/reply {"message_id", "text"}, customer/read {"message_id"}
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from sandbox.customer import CustomerError
from sandbox.state import SandboxState
from sandbox.values import ConfigError

Answer = tuple[int, Any, dict[str, str] | None]

ALLOWED: dict[str, tuple[str, ...]] = {
    "health": ("GET",),
    "messages": ("GET", "DELETE"),
    "requests": ("GET", "DELETE"),
    "faults": ("GET", "PUT", "POST", "DELETE"),
    "stats": ("GET",),
    "config": ("GET",),
    "webhooks": ("GET",),
    "webhooks/flush": ("POST",),
    "webhook": ("GET", "PUT", "POST", "DELETE"),
    "customer/press": ("POST",),
    "customer/reply": ("POST",),
    "customer/read": ("POST",),
}


def _ok(data: Any) -> Answer:
    return 200, data, None


def _error(status: int, message: str) -> Answer:
    return status, {"error": message}, None


def _json_object(body: bytes) -> dict[str, Any]:
    data = json.loads(body or b"{}")
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def handle_control(state: SandboxState, method: str, route: str, query: str, body: bytes) -> Answer:
    """Answer one control request; `route` is the path after /_sandbox/ without a slash."""
    params = parse_qs(query)
    try:
        since = int(params.get("since", ["0"])[0])
    except ValueError:
        return _error(400, "since must be an integer sequence number")
    if route not in ALLOWED:
        return _error(404, f"unknown control endpoint /_sandbox/{route}")
    if method not in ALLOWED[route]:
        methods = ", ".join(ALLOWED[route])
        return 405, {"error": f"use {methods}"}, {"Allow": methods}
    summary = params.get("summary", ["0"])[0].lower() in ("1", "true", "yes")
    if method == "DELETE" and route in ("messages", "requests"):
        state.clear()
        return _ok({"cleared": True})
    if route == "health":
        return _ok({"ok": True})
    if route == "messages":
        return _ok({"messages": state.recorder.messages(since, summary)})
    if route == "requests":
        return _ok({"requests": state.recorder.requests(since)})
    if route == "stats":
        return _ok(state.recorder.stats())
    if route == "config":
        return _ok(state.config.public_dict())
    if route == "webhooks":
        return _ok({"webhooks": state.webhooks.records(since), "counts": state.webhooks.counts()})
    if route == "webhooks/flush":
        return _ok(state.webhooks.flush())
    if route == "faults":
        return _faults(state, method, body)
    if route == "webhook":
        return _webhook(state, method, body)
    return _customer(state, route, body)


def _faults(state: SandboxState, method: str, body: bytes) -> Answer:
    if method == "DELETE":
        return _ok({"faults": state.faults.reset().to_dict()})
    if method == "GET":
        return _ok({"faults": state.faults.settings.to_dict()})
    try:
        settings = state.faults.configure_from_mapping(json.loads(body or b"{}"))
    except (ValueError, ConfigError) as exc:
        return _error(400, str(exc))
    return _ok({"faults": settings.to_dict()})


def _webhooks_of(state: SandboxState) -> dict[str, Any]:
    return {
        bot.name: bot.webhook.public_dict() for bot in state.config.bots if bot.webhook is not None
    }


def _webhook(state: SandboxState, method: str, body: bytes) -> Answer:
    if method == "DELETE":
        state.reset_webhooks()
    elif method != "GET":
        try:
            data = _json_object(body)
            unknown = sorted(set(data) - {"bot", "url", "app_secret", "signature"})
            if unknown:
                raise ConfigError(f"unknown key(s): {', '.join(unknown)}")
            if "url" not in data:
                raise ConfigError("url is required (null stops the bot's events)")
            state.set_webhook(
                data.get("bot"), data["url"], data.get("app_secret"), data.get("signature")
            )
        except KeyError as exc:
            return _error(404, str(exc.args[0]))
        except (ValueError, ConfigError) as exc:
            return _error(400, str(exc))
    return _ok({"webhooks": _webhooks_of(state)})


def _customer(state: SandboxState, route: str, body: bytes) -> Answer:
    customer = state.customer
    actions: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
        "customer/press": lambda d: customer.press(
            d.get("message_id"), d.get("payload"), d.get("button")
        ),
        "customer/reply": lambda d: customer.reply(d.get("message_id"), d.get("text")),
        "customer/read": lambda d: customer.read(d.get("message_id")),
    }
    try:
        return _ok({"sent": actions[route](_json_object(body))})
    except ValueError as exc:
        return _error(400, str(exc))
    except CustomerError as exc:
        return _error(exc.status, str(exc))
