"""The sandbox HTTP server: DLG and Certainly routes, fault injection, recording, control API.

Stdlib only (plus what validation.py needs), no Django: the emulator must stand apart from the
console it checks. HTTP/1.1 keep-alive with one thread per connection, so a pooled client
reuses its sockets instead of reconnecting for every request.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import signal
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from sandbox.cli import add_cli_arguments, config_from_cli
from sandbox.config import ConfigError, FaultSettings, SandboxConfig
from sandbox.control import handle_control
from sandbox.faults import FaultDecision, FaultInjector, FaultKind
from sandbox.state import SandboxState
from sandbox.validation import validate_certainly, validate_dlg_send

DLG_ROUTE = re.compile(r"^/v1/bots/sendmessage/([^/]+)$")
CERTAINLY_ROUTES = frozenset({"/actionsvc/trigger-message/", "/actionsvc/trigger-message"})
MAX_BODY_BYTES = 8 * 1024 * 1024  # Akka HTTP's default max-content-length
DRAIN_LIMIT_BYTES = 64 * 1024 * 1024
NOT_FOUND = "The requested resource could not be found."
DLG_METHOD_NOT_ALLOWED = "HTTP method not allowed, supported methods: POST"


class _BodyRefused(Exception):
    """The request body was not read; an answer was already sent and the connection closes."""


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "dlg-sandbox"
    wbufsize = 64 * 1024  # headers and body leave in one write; flushed after each request
    disable_nagle_algorithm = True
    timeout = 75  # idle keep-alive connections are closed, freeing their thread
    server: SandboxServer

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.state.verbose:
            super().log_message(format, *args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """The stock line shows the raw request line, token included; this one never does."""
        path = self._redacted_path("dlg")
        self.log_message('"%s %s %s" %s', self.command, path, self.request_version, code)

    def _send(
        self, status: int, payload: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _send_text(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, text.encode(), "text/plain; charset=UTF-8", headers)

    def _send_json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        self._send(status, payload, "application/json", headers)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        declared = self.headers.get("Content-Length")
        if declared is None:
            return b""
        try:
            length = int(declared)
            if length < 0:
                raise ValueError(declared)
        except ValueError:
            self.close_connection = True
            self._send_text(400, f"Illegal 'Content-Length' header value: {declared}")
            raise _BodyRefused from None
        try:
            self._refuse_if_too_big(length)
        except _BodyRefused:
            self._drain(length)
            raise
        return self.rfile.read(length)

    def _drain(self, length: int) -> None:
        """Read (a bounded amount of) the refused body, so closing does not reset the
        connection before the client has read the 413 answer."""
        self.wfile.flush()
        remaining = min(length, DRAIN_LIMIT_BYTES)
        with contextlib.suppress(OSError):
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 64 * 1024))
                if not chunk:
                    break
                remaining -= len(chunk)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            try:
                size = int(self.rfile.readline(1024).split(b";")[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                self._send_text(400, "Illegal chunked encoding")
                raise _BodyRefused from None
            if size == 0:
                while self.rfile.readline(8192).strip():  # trailers
                    pass
                return b"".join(chunks)
            total += size
            self._refuse_if_too_big(total)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(8)

    def _refuse_if_too_big(self, length: int) -> None:
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send_text(
                413,
                f"Request Content-Length of {length} bytes exceeds the configured limit of "
                f"{MAX_BODY_BYTES} bytes",
            )
            raise _BodyRefused

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        try:
            body = self._read_body()
        except _BodyRefused:
            return
        if url.path.startswith("/_sandbox/"):
            self._control(url.path.removeprefix("/_sandbox/").rstrip("/"), url.query, body)
            return
        match = DLG_ROUTE.match(url.path)
        if match:
            if self.command != "POST":
                self._wrong_method("dlg", DLG_METHOD_NOT_ALLOWED)
                return
            self._platform("dlg", match.group(1), body)
        elif url.path in CERTAINLY_ROUTES:
            if self.command != "POST":
                self._wrong_method("certainly", {"detail": f'Method "{self.command}" not allowed.'})
                return
            self._platform("certainly", "", body)
        else:
            self._send_text(404, NOT_FOUND)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def _redacted_path(self, platform: str) -> str:
        path = urlsplit(self.path).path
        if platform == "dlg":
            return DLG_ROUTE.sub("/v1/bots/sendmessage/<BOT-TOKEN>", path)
        return path

    def _wrong_method(self, platform: str, answer: str | dict[str, Any]) -> None:
        path = self._redacted_path(platform)
        self.server.state.recorder.log_request(platform, self.command, path, 405, FaultKind.NONE)
        if isinstance(answer, str):
            self._send_text(405, answer, {"Allow": "POST"})
        else:
            self._send_json(405, answer, {"Allow": "POST"})

    def _platform(self, platform: str, token: str, body: bytes) -> None:
        state = self.server.state
        path = self._redacted_path(platform)
        decision = state.faults.decide()
        if decision.kind is FaultKind.DROP:
            state.recorder.log_request(platform, self.command, path, None, decision.kind)
            self.close_connection = True
            return
        if decision.latency_s and state.stopping.wait(decision.latency_s):
            self.close_connection = True
            return
        if decision.kind in (FaultKind.ERROR, FaultKind.RATE_LIMIT):
            self._answer_fault(decision, platform, path)
            return
        if platform == "dlg":
            outcome = validate_dlg_send(body, token, state.config)
        else:
            outcome = validate_certainly(body, self.headers.get("Authorization"), state.config)
        answered = decision.kind is not FaultKind.TIMEOUT
        if outcome.accepted:
            state.recorder.record_message(platform, outcome, answered)
            if platform == "dlg":
                # Also when the answer is withheld: the message went out all the same.
                state.message_accepted(outcome)
        state.recorder.log_request(platform, self.command, path, outcome.status, decision.kind)
        if not answered:
            # The message went out but the answer never comes: the client sees a read timeout.
            state.stopping.wait(decision.settings.timeout_hold_s)
            self.close_connection = True
            return
        if isinstance(outcome.response, str):
            self._send_text(outcome.status, outcome.response)
        else:
            self._send_json(outcome.status, outcome.response)

    def _answer_fault(self, decision: FaultDecision, platform: str, path: str) -> None:
        settings = decision.settings
        recorder = self.server.state.recorder
        if decision.kind is FaultKind.RATE_LIMIT:
            recorder.log_request(platform, self.command, path, 429, decision.kind)
            self._send_text(429, "Too Many Requests", {"Retry-After": str(settings.retry_after)})
        else:
            recorder.log_request(platform, self.command, path, settings.error_status, decision.kind)
            self._send_text(settings.error_status, settings.error_body)

    def _control(self, route: str, query: str, body: bytes) -> None:
        status, data, headers = handle_control(self.server.state, self.command, route, query, body)
        self._send_json(status, data, headers)


class SandboxServer(ThreadingHTTPServer):
    """Tracks open connections so stop() can end keep-alive sessions, not just stop accepting."""

    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: SandboxState) -> None:
        self.state = state
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, SandboxHandler)

    @property
    def url(self) -> str:
        host, port = self.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def stop(self) -> None:
        """Stop serve_forever (running in another thread), release held answers, close all."""
        self.state.close()
        self.shutdown()
        self.server_close()
        with self._open_lock:
            open_sockets = list(self._open)
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def make_server(
    config: SandboxConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    verbose: bool = False,
) -> SandboxServer:
    """Bind (port 0 picks a free one) without serving yet; faults start from the config."""
    if config is None:
        from sandbox.defaults import default_config

        config = default_config()
    state = SandboxState(config, faults=FaultInjector(config.faults), verbose=verbose)
    return SandboxServer((host, port), state)


def startup_line(server: SandboxServer) -> str:
    config = server.state.config
    line = f"Sandbox listening on {server.url} - bots: {config.describe_bots()}"
    if server.state.faults.settings.injects_faults:
        defaults = FaultSettings().to_dict()
        current = server.state.faults.settings.to_dict()
        active = {k: v for k, v in current.items() if v != defaults[k]}
        line += f" - faults: {json.dumps(active)}"
    hooks = [f"{b.name} -> {b.webhook.url}" for b in config.bots if b.webhook and b.webhook.url]
    if hooks:
        line += f" - webhooks: {', '.join(hooks)}"
    return line


def serve_until_signalled(server: SandboxServer) -> None:
    """Serve in this thread until Ctrl-C or SIGTERM, then close cleanly."""

    def on_sigterm(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.state.close()
        server.server_close()


def main(argv: list[str] | None = None) -> int:
    """`python -m sandbox.server`: the same server as `manage.py sandbox`, without Django."""
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.server",
        description="Serve the local DLG/Certainly emulator until Ctrl-C or SIGTERM.",
    )
    add_cli_arguments(parser)
    options = vars(parser.parse_args(argv))
    try:
        config = config_from_cli(options)
    except ConfigError as exc:
        parser.error(str(exc))
    server = make_server(config, options["host"], options["port"], options["verbose"])
    print(startup_line(server), flush=True)
    serve_until_signalled(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
