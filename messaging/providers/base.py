"""The send pipeline shared by every platform: prepare, post, parse.

Subclasses say what the platform's request looks like and what its answers mean; this base
owns the HTTP call, the timing, and the translation of every failure into one
:class:`ProviderError`, so no platform module can forget a case or leak a token into an error.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shlex
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import quote

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from messaging.providers.specs import Address, Message, validate

MAX_RAW_ANSWER = 65_536
FILE_DATA_KEY = "fileData"


class ProviderError(Exception):
    """Any failure to send, explained for people and classified for machines.

    ``permanent`` means retrying the same request cannot help; ``outcome_unknown`` means the
    request may have reached the platform (a read timeout, a dropped answer), so an automatic
    retry could deliver the message twice. ``raw`` keeps the platform's own answer for auditors.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        permanent: bool,
        outcome_unknown: bool = False,
        retry_after: float | None = None,
        http_status: int | None = None,
        raw: str = "",
        latency_ms: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.permanent = permanent
        self.outcome_unknown = outcome_unknown
        self.retry_after = retry_after
        self.http_status = http_status
        self.raw = raw[:MAX_RAW_ANSWER]
        self.latency_ms = latency_ms

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class SendResult:
    """The platform accepted the message."""

    http_status: int
    recipient_id: str
    message_id: str
    raw: str
    latency_ms: int


@dataclass(frozen=True)
class OutgoingRequest:
    """A request ready to post; ``recorded_body`` is what the history may keep."""

    url: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    display_url: str = ""

    @property
    def recorded_body(self) -> dict[str, Any]:
        return summarise_file_data(self.body)


def summarise_file_data(body: Any) -> Any:
    """Replace every base64 ``fileData`` with its size and hash, so history stays small and
    the file's contents never sit in a JSON column (the file itself is kept elsewhere)."""
    if isinstance(body, dict):
        return {
            key: _file_summary(value)
            if key == FILE_DATA_KEY and isinstance(value, str)
            else summarise_file_data(value)
            for key, value in body.items()
        }
    if isinstance(body, list):
        return [summarise_file_data(item) for item in body]
    return body


def _file_summary(encoded: str) -> str:
    try:
        data = base64.b64decode(encoded, validate=True)
    except ValueError:
        return f"<base64: invalid, {len(encoded)} characters>"
    return f"<base64: {len(data)} bytes, sha256={hashlib.sha256(data).hexdigest()}>"


def parse_retry_after(value: str | None) -> float | None:
    """Read ``Retry-After`` as seconds or an HTTP date; ignore anything else."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def answer_text(raw: str) -> str:
    """The human part of an error answer, whether the platform sent JSON or plain text."""
    try:
        parsed = json.loads(raw)
    except ValueError:
        return raw.strip()
    if isinstance(parsed, dict):
        for key in ("message", "error", "errorMessage", "detail"):
            value = parsed.get(key)
            if isinstance(value, str) and value:
                return value
    return raw.strip()


class ProviderClient(ABC):
    """Talks to one bot's platform over a pooled connection.

    One instance per bot: the session keeps connections alive between sends. ``send`` is the
    whole pipeline and is not meant to be overridden; platforms fill in the hooks below.
    """

    provider: ClassVar[str]
    platform_name: ClassVar[str]

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: tuple[float, float] = (3.05, 15.0),
        pool_size: int = 16,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self.session = session or self._new_session(pool_size)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.base_url}>"

    @staticmethod
    def _new_session(pool_size: int) -> requests.Session:
        session = requests.Session()
        # No automatic retries: a retried POST can deliver a message twice.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.trust_env = False
        return session

    def close(self) -> None:
        self.session.close()

    # Hooks for platforms -------------------------------------------------------------------

    @abstractmethod
    def build_body(self, address: Address, message: Message, message_id: str) -> dict[str, Any]:
        """The platform's JSON body for this message."""

    @abstractmethod
    def endpoint(self) -> tuple[str, str]:
        """The URL to post to and the same URL safe to show (no secret in it)."""

    def headers(self) -> dict[str, str]:
        return {}

    @abstractmethod
    def parse_success(
        self, response: requests.Response, request: OutgoingRequest, latency_ms: int
    ) -> SendResult:
        """Read a 2xx answer; raise :class:`ProviderError` when it is not a real success."""

    @abstractmethod
    def known_error(self, status: int, raw: str) -> tuple[str, str] | None:
        """A documented refusal in this answer, as (code, plain-language message), if any.

        Documented refusals are permanent: the same request would be refused the same way.
        """

    def answer_detail(self, raw: str) -> str:
        """The platform's own words in an undocumented error answer, for the message shown."""
        return answer_text(raw)

    # The pipeline ----------------------------------------------------------------------------

    def curl_auth(self) -> list[str]:
        """Shell-quoted options that authenticate a copied cURL command, token left out."""
        return []

    def prepare(self, address: Address, message: Message, message_id: str) -> OutgoingRequest:
        """Validate and build the request, so it can be recorded before it is sent."""
        validate(address, message, self.provider)
        return self.build_request(address, message, message_id)

    def build_request(self, address: Address, message: Message, message_id: str) -> OutgoingRequest:
        """Build without validating: for previews of a message that is still being typed."""
        return self.request_for(self.build_body(address, message, message_id))

    def request_for(self, body: dict[str, Any]) -> OutgoingRequest:
        """A request carrying a body built earlier (a campaign's outbox row holds its body)."""
        url, display_url = self.endpoint()
        return OutgoingRequest(
            url=url,
            body=body,
            headers={"Content-Type": "application/json", **self.headers()},
            display_url=display_url,
        )

    def curl(self, request: OutgoingRequest) -> str:
        """The request as a cURL command a person can copy: token shown as ``<BOT-TOKEN>`` and
        file data abbreviated, exactly as the history records it."""
        body = json.dumps(request.recorded_body, ensure_ascii=False, indent=2)
        parts = [
            "curl -X POST " + shlex.quote(request.display_url),
            "-H " + shlex.quote("Content-Type: application/json"),
            *self.curl_auth(),
            "--data-raw " + shlex.quote(body),
        ]
        return " \\\n  ".join(parts)

    def send(self, request: OutgoingRequest) -> SendResult:
        """Post the request once; return the platform's acceptance or raise ProviderError."""
        data = json.dumps(request.body, ensure_ascii=False).encode("utf-8")
        started = time.monotonic()
        failure: ProviderError | None = None
        try:
            response = self.session.post(
                request.url,
                data=data,
                headers=request.headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as err:
            failure = self._transport_error(err, request, _elapsed_ms(started))
        if failure is not None:
            # Raised outside the handler on purpose: requests quotes the URL, DLG's URL holds
            # the token, and an exception chained to it would carry it into any traceback.
            raise failure
        latency_ms = _elapsed_ms(started)
        if 200 <= response.status_code < 300:
            return self.parse_success(response, request, latency_ms)
        raise self.error_for(response, latency_ms)

    def error_for(self, response: requests.Response, latency_ms: int) -> ProviderError:
        """Translate a non-2xx answer: documented refusals first, then by HTTP status."""
        status = response.status_code
        raw = self.scrub(response.text)
        known = self.known_error(status, raw)
        if known is not None:
            code, message = known
            return ProviderError(
                code, message, permanent=True, http_status=status, raw=raw, latency_ms=latency_ms
            )
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        name = self.platform_name
        if status == 429:
            code, permanent = "rate_limited", False
            message = (
                f"{name} is receiving too many messages from this bot; the message was not "
                "sent. Try again in a moment."
            )
        elif status in (502, 503, 504):
            code, permanent = "unavailable", False
            message = (
                f"{name} is temporarily unavailable (HTTP {status}); the message was not sent. "
                "Try again shortly."
            )
        else:
            detail = self.answer_detail(raw)
            code, permanent = "http_error", True
            message = f"{name} refused the message with HTTP {status}" + (
                f": {detail[:300]}" if detail else "."
            )
        return ProviderError(
            code,
            message,
            permanent=permanent,
            retry_after=retry_after,
            http_status=status,
            raw=raw,
            latency_ms=latency_ms,
        )

    def scrub(self, text: str) -> str:
        """Remove the token from any text that might quote it."""
        if self._token:
            for form in {self._token, quote(self._token, safe="")}:
                text = text.replace(form, "<BOT-TOKEN>")
        return text

    def _transport_error(
        self, err: requests.RequestException, request: OutgoingRequest, latency_ms: int
    ) -> ProviderError:
        where = request.display_url
        if isinstance(err, requests.ConnectTimeout):
            return ProviderError(
                "connect_timeout",
                f"The platform at {where} did not accept a connection in time; the message was "
                "not sent. Try again shortly; if it persists, check the bot's API base URL.",
                permanent=False,
                latency_ms=latency_ms,
            )
        if isinstance(err, requests.ReadTimeout):
            return ProviderError(
                "read_timeout",
                f"The platform at {where} did not answer in time after receiving the message, "
                "so it may or may not have been delivered. Check with the recipient before "
                "sending it again.",
                permanent=False,
                outcome_unknown=True,
                latency_ms=latency_ms,
            )
        if isinstance(err, requests.ConnectionError) and _never_connected(err):
            return ProviderError(
                "connection_failed",
                f"Could not connect to the platform at {where} (connection refused or host "
                "unreachable); the message was not sent. Check the bot's API base URL and "
                "that the platform is up.",
                permanent=False,
                raw=self.scrub(_describe(err)),
                latency_ms=latency_ms,
            )
        if isinstance(err, requests.ConnectionError):
            return ProviderError(
                "connection_lost",
                f"The connection to {where} broke before the platform answered, so the message "
                "may or may not have been delivered. Check with the recipient before sending "
                "it again.",
                permanent=False,
                outcome_unknown=True,
                raw=self.scrub(_describe(err)),
                latency_ms=latency_ms,
            )
        return ProviderError(
            "request_failed",
            f"The request to {where} could not be made: {self.scrub(_describe(err))}",
            permanent=True,
            latency_ms=latency_ms,
        )


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _never_connected(err: BaseException) -> bool:
    """True when the failure happened while opening the connection, before any byte was sent."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, urllib3.exceptions.MaxRetryError):
            current = current.reason
            continue
        if isinstance(
            current,
            urllib3.exceptions.NewConnectionError
            | urllib3.exceptions.NameResolutionError
            | ConnectionRefusedError,
        ):
            return True
        wrapped = current.args[0] if current.args else None
        current = current.__cause__ or current.__context__
        if current is None and isinstance(wrapped, BaseException):
            current = wrapped
    return False


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"
