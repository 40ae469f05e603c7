"""Run the sandbox inside a test or benchmark, or drive one running in another process.

`running_sandbox()` serves on a real loopback socket in a background thread, so clients under
test go through the same HTTP stack they use in production. `RemoteSandbox` offers the same
inspection methods over the `/_sandbox/` control endpoints for a sandbox in another process.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sandbox.config import SandboxConfig
from sandbox.server import SandboxServer, make_server

DLG_SEND_PATH = "/v1/bots/sendmessage/"
CERTAINLY_TRIGGER_PATH = "/actionsvc/trigger-message/"


def _copy(data: Any) -> Any:
    # Same shape a remote client would get: callers can mutate it without touching the records.
    return json.loads(json.dumps(data))


class SandboxHandle:
    """An in-process sandbox: its URL, its config, and direct access to records and faults."""

    def __init__(self, server: SandboxServer) -> None:
        self._server = server
        self.url: str = server.url

    @property
    def config(self) -> SandboxConfig:
        """The current world (a bot's webhook may have been changed at run time)."""
        return self._server.state.config

    def dlg_url(self, token: str) -> str:
        return f"{self.url}{DLG_SEND_PATH}{token}"

    @property
    def certainly_url(self) -> str:
        return f"{self.url}{CERTAINLY_TRIGGER_PATH}"

    def messages(self, since: int = 0, summary: bool = False) -> list[dict[str, Any]]:
        """Accepted requests, as GET /_sandbox/messages lists them."""
        return _copy(self._server.state.recorder.messages(since, summary))

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """Every platform request received, rejected and fault-hit ones included."""
        return _copy(self._server.state.recorder.requests(since))

    def stats(self) -> dict[str, Any]:
        return self._server.state.recorder.stats()

    def faults(self) -> dict[str, Any]:
        return self._server.state.faults.settings.to_dict()

    def set_faults(self, **settings: Any) -> dict[str, Any]:
        """Replace all faults (unnamed ones turn off); raises ConfigError on bad values."""
        return self._server.state.faults.configure_from_mapping(settings).to_dict()

    def webhooks(self, since: int = 0) -> list[dict[str, Any]]:
        """Webhook POSTs made (one record per attempt), as GET /_sandbox/webhooks lists them."""
        return _copy(self._server.state.webhooks.records(since))

    def webhook_counts(self) -> dict[str, int]:
        return self._server.state.webhooks.counts()

    def set_webhook(
        self,
        bot_name: str,
        url: str | None,
        app_secret: str | None = None,
        signature: str | None = None,
    ) -> dict[str, Any]:
        """Point a DLG bot's webhook at `url` (None: no events); raises ConfigError/KeyError."""
        state = self._server.state
        return state.set_webhook(bot_name, url, app_secret, signature).public_dict()

    def flush(self) -> dict[str, int]:
        """Post every buffered webhook event now and wait until the POSTs are done."""
        return self._server.state.webhooks.flush()

    def press(
        self, message_id: str, payload: str | None = None, button: int | None = None
    ) -> dict[str, Any]:
        """The customer presses a button of the message (the first when neither is given)."""
        return {"sent": self._server.state.customer.press(message_id, payload, button)}

    def reply(self, message_id: str, text: str) -> dict[str, Any]:
        return {"sent": self._server.state.customer.reply(message_id, text)}

    def read(self, message_id: str) -> dict[str, Any]:
        return {"sent": self._server.state.customer.read(message_id)}

    def reset(self) -> None:
        """Clear records, pending events, faults and run-time webhook changes: each test
        starts from a quiet sandbox."""
        self._server.state.clear()
        self._server.state.faults.reset()
        self._server.state.reset_webhooks()


@contextmanager
def running_sandbox(
    config: SandboxConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    verbose: bool = False,
) -> Iterator[SandboxHandle]:
    """Serve in a daemon thread for the duration of the block, then stop and close sockets."""
    server = make_server(config, host, port, verbose)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="sandbox", daemon=True
    )
    thread.start()
    try:
        yield SandboxHandle(server)
    finally:
        server.stop()
        thread.join(timeout=5)


class RemoteSandbox:
    """The SandboxHandle inspection API for a sandbox in another process, over HTTP only."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(  # noqa: S310 (URL is the caller's sandbox)
            f"{self.url}/_sandbox/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            return json.loads(response.read())

    def dlg_url(self, token: str) -> str:
        return f"{self.url}{DLG_SEND_PATH}{token}"

    @property
    def certainly_url(self) -> str:
        return f"{self.url}{CERTAINLY_TRIGGER_PATH}"

    def healthy(self) -> bool:
        try:
            return bool(self._call("GET", "health").get("ok"))
        except OSError:
            return False

    def messages(self, since: int = 0, summary: bool = False) -> list[dict[str, Any]]:
        query = f"messages?since={since}" + ("&summary=1" if summary else "")
        return self._call("GET", query)["messages"]

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        return self._call("GET", f"requests?since={since}")["requests"]

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "stats")

    def faults(self) -> dict[str, Any]:
        return self._call("GET", "faults")["faults"]

    def set_faults(self, **settings: Any) -> dict[str, Any]:
        return self._call("PUT", "faults", settings)["faults"]

    def webhooks(self, since: int = 0) -> list[dict[str, Any]]:
        return self._call("GET", f"webhooks?since={since}")["webhooks"]

    def webhook_counts(self) -> dict[str, int]:
        return self._call("GET", "webhooks?since=0")["counts"]

    def set_webhook(
        self,
        bot_name: str,
        url: str | None,
        app_secret: str | None = None,
        signature: str | None = None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"bot": bot_name, "url": url}
        if app_secret is not None:
            payload["app_secret"] = app_secret
        if signature is not None:
            payload["signature"] = signature
        return self._call("PUT", "webhook", payload)["webhooks"][bot_name]

    def flush(self) -> dict[str, int]:
        return self._call("POST", "webhooks/flush", {})

    def press(
        self, message_id: str, payload: str | None = None, button: int | None = None
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"message_id": message_id}
        if payload is not None:
            data["payload"] = payload
        if button is not None:
            data["button"] = button
        return self._call("POST", "customer/press", data)

    def reply(self, message_id: str, text: str) -> dict[str, Any]:
        return self._call("POST", "customer/reply", {"message_id": message_id, "text": text})

    def read(self, message_id: str) -> dict[str, Any]:
        return self._call("POST", "customer/read", {"message_id": message_id})

    def reset(self) -> None:
        self._call("DELETE", "messages")
        self._call("DELETE", "faults")
        self._call("DELETE", "webhook")
