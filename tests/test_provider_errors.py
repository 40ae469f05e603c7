"""Every failure the platforms or the network can produce becomes one plain-language error."""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator

import pytest

from messaging.providers.base import OutgoingRequest, ProviderError
from messaging.providers.certainly import CertainlyClient
from messaging.providers.dlg import DlgClient
from messaging.providers.specs import Address, CertainlyText, Document, Text
from sandbox import defaults

CUSTOMER = Address("appCustomerId", "70023")


def dlg(url: str, token: str = defaults.DEMO_DLG_TOKEN, read_timeout: float = 5) -> DlgClient:
    return DlgClient(url, token, timeout=(1, read_timeout))


def send_text(client: DlgClient, address: Address = CUSTOMER) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        client.send(client.prepare(address, Text("Hello"), "m-err"))
    return caught.value


def send_document_body(client: DlgClient, document: dict) -> ProviderError:
    """Post a document the console's own validation would stop, to see DLG's answer."""
    request = client.prepare(CUSTOMER, Document("x.pdf", b"x"), "m-doc")
    request.body["message"]["document"] = document
    with pytest.raises(ProviderError) as caught:
        client.send(request)
    return caught.value


def test_wrong_token_is_permanent_and_says_who_must_fix_it(sandbox) -> None:
    error = send_text(dlg(sandbox.url, token="0" * 32))

    assert (error.code, error.http_status, error.permanent) == ("wrong_token", 503, True)
    assert "access token" in error.message
    assert "You may be using wrong token." in error.raw


def test_unknown_recipient_is_permanent(sandbox) -> None:
    error = send_text(dlg(sandbox.url), Address("appCustomerId", "99999999"))

    assert (error.code, error.http_status, error.permanent) == ("recipient_not_found", 500, True)
    assert "does not know this recipient" in error.message


def test_bot_not_alive_is_permanent(sandbox) -> None:
    error = send_text(dlg(sandbox.url, token=defaults.DEMO_DEAD_BOT_TOKEN))

    assert (error.code, error.http_status, error.permanent) == ("bot_not_alive", 500, True)


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ({"fileName": "x.pdf", "fileData": "", "mimeType": "pdf"}, "empty_file_data"),
        ({"fileName": "x.pdf", "fileData": "not base64!", "mimeType": "pdf"}, "invalid_file_data"),
        (
            {
                "fileName": "x.bin",
                "fileData": base64.b64encode(b"\0" * (5 * 1024 * 1024 + 1)).decode(),
                "mimeType": "bin",
            },
            "file_too_large",
        ),
        (
            {
                "fileName": "x.jpg",
                "fileData": base64.b64encode(b"%PDF-1.7 not a picture").decode(),
                "mimeType": "jpg",
                "photo": {"width": 10, "height": 10},
            },
            "not_an_image",
        ),
        ({"fileName": "x.pdf"}, "malformed"),
    ],
)
def test_documented_document_errors_are_translated(sandbox, document: dict, code: str) -> None:
    error = send_document_body(dlg(sandbox.url), document)

    assert (error.code, error.http_status, error.permanent) == (code, 400, True)
    assert error.message
    assert error.raw not in error.message


def test_rate_limit_is_transient_and_honours_retry_after(sandbox) -> None:
    sandbox.set_faults(rate_429=1.0, retry_after=7)

    error = send_text(dlg(sandbox.url))

    assert (error.code, error.http_status, error.permanent) == ("rate_limited", 429, False)
    assert error.retry_after == 7


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_transient(sandbox, status: int) -> None:
    sandbox.set_faults(error_rate=1.0, error_status=status, error_body="Bad Gateway")

    error = send_text(dlg(sandbox.url))

    assert (error.code, error.http_status, error.permanent) == ("unavailable", status, False)
    assert not error.outcome_unknown


def test_other_statuses_are_permanent_and_quote_the_platform(sandbox) -> None:
    sandbox.set_faults(error_rate=1.0, error_status=418, error_body="I'm a teapot")

    error = send_text(dlg(sandbox.url))

    assert (error.code, error.http_status, error.permanent) == ("http_error", 418, True)
    assert "HTTP 418: I'm a teapot" in error.message


def test_json_error_bodies_are_read_as_well_as_plain_text(sandbox) -> None:
    sandbox.set_faults(
        error_rate=1.0, error_status=500, error_body='{"message": "Sender bot is not alive."}'
    )

    assert send_text(dlg(sandbox.url)).code == "bot_not_alive"


def test_success_status_with_a_non_json_body_is_an_unknown_outcome(sandbox) -> None:
    sandbox.set_faults(error_rate=1.0, error_status=200, error_body="<html>OK</html>")

    error = send_text(dlg(sandbox.url))

    assert (error.code, error.outcome_unknown) == ("invalid_response", True)
    assert error.raw == "<html>OK</html>"


def test_read_timeout_means_the_message_may_have_gone_out(sandbox) -> None:
    sandbox.set_faults(timeout_rate=1.0, timeout_hold_s=3)

    error = send_text(dlg(sandbox.url, read_timeout=0.5))

    assert (error.code, error.permanent, error.outcome_unknown) == ("read_timeout", False, True)
    assert [m["answered"] for m in sandbox.messages()] == [False]


def test_dropped_connection_is_an_unknown_outcome(sandbox) -> None:
    sandbox.set_faults(drop_rate=1.0)

    error = send_text(dlg(sandbox.url))

    assert (error.code, error.permanent, error.outcome_unknown) == ("connection_lost", False, True)


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_refused_connection_is_transient_and_certainly_not_sent(closed_port: int) -> None:
    error = send_text(dlg(f"http://127.0.0.1:{closed_port}"))

    assert (error.code, error.permanent, error.outcome_unknown) == (
        "connection_failed",
        False,
        False,
    )


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A port whose listen queue is full, so a new connection hangs in SYN and times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    yield port
    for filler in fillers:
        filler.close()
    listener.close()


def test_connect_timeout_is_transient_and_not_sent(full_backlog: int) -> None:
    client = DlgClient(f"http://127.0.0.1:{full_backlog}", "t", timeout=(0.3, 5))

    error = send_text(client)

    assert (error.code, error.permanent, error.outcome_unknown) == (
        "connect_timeout",
        False,
        False,
    )


def certainly(url: str, token: str = defaults.DEMO_CERTAINLY_TOKEN) -> CertainlyClient:
    return CertainlyClient(url, token, timeout=(1, 5))


def send_certainly(client: CertainlyClient, user_id: str = "c-1001") -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        client.send(client.prepare(Address("user_id", user_id), CertainlyText("Hi"), "m-c"))
    return caught.value


def test_certainly_unknown_user_is_explained(sandbox) -> None:
    error = send_certainly(certainly(sandbox.url), user_id="nobody")

    assert (error.code, error.http_status, error.permanent) == ("unknown_user", 400, True)
    assert "Bot user with this id does not exist" in error.raw


def test_certainly_bad_credentials_are_explained(sandbox) -> None:
    error = send_certainly(certainly(sandbox.url, token="wrong"))

    assert (error.code, error.http_status, error.permanent) == ("bad_credentials", 400, True)
    assert "public API auth token" in error.message


def test_certainly_success_answer_without_confirmation_is_unknown(sandbox) -> None:
    sandbox.set_faults(
        error_rate=1.0, error_status=200, error_body='{"message": null, "error": []}'
    )

    error = send_certainly(certainly(sandbox.url))

    assert (error.code, error.outcome_unknown) == ("invalid_response", True)


def test_certainly_gateway_error_is_transient(sandbox) -> None:
    sandbox.set_faults(error_rate=1.0, error_status=502)

    assert send_certainly(certainly(sandbox.url)).permanent is False


def test_request_built_by_hand_is_still_posted_once(sandbox) -> None:
    """The client never retries on its own: one call, one request at the platform."""
    client = dlg(sandbox.url)
    sandbox.set_faults(error_rate=1.0, error_status=503)
    request = client.prepare(CUSTOMER, Text("once"), "m-once")
    assert isinstance(request, OutgoingRequest)

    with pytest.raises(ProviderError):
        client.send(request)

    assert len(sandbox.requests()) == 1
