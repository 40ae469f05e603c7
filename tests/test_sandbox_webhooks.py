"""The sandbox's DLG webhook events, as a receiver on loopback sees them (docs section 13)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from sandbox.cli import config_from_cli
from sandbox.config import ConfigError, FaultSettings, SandboxConfig, config_from_dict
from sandbox.defaults import (
    DEMO_DLG_BOT_NAME,
    DEMO_DLG_TOKEN,
    DEMO_DLG_WEBHOOK_ID,
    DEMO_DLG_WEBHOOK_SECRET,
    default_config,
)
from sandbox.testing import RemoteSandbox, SandboxHandle, running_sandbox
from sandbox.webhook_config import CustomerSettings, DeliverySettings

EVENT_KEYS = {"messageEcho", "delivery", "reads", "message"}
BUTTONS = [
    {"contentType": "text", "title": "Yes", "payload": "yes", "payloadHidden": False},
    {"contentType": "text", "title": "No", "payload": "no", "payloadHidden": False},
]


class Receiver:
    """A webhook endpoint on loopback that keeps every raw body and its headers."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.posts: list[tuple[bytes, dict[str, str], float]] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._changed:
                    receiver.posts.append((body, dict(self.headers), time.monotonic()))
                    receiver._changed.notify_all()
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/dlg/webhook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def bodies(self) -> list[dict[str, Any]]:
        with self._changed:
            return [json.loads(body) for body, _, _ in self.posts]

    def events(self) -> list[dict[str, Any]]:
        """messaging[0] of every entry, in arrival order."""
        return [entry["messaging"][0] for body in self.bodies() for entry in body["entry"]]

    def wait_for(self, count: int, timeout: float = 3.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._count() < count and (left := deadline - time.monotonic()) > 0:
                self._changed.wait(left)
        events = self.events()
        assert len(events) >= count, f"only {len(events)} of {count} events arrived"
        return events

    def _count(self) -> int:
        return sum(len(json.loads(body)["entry"]) for body, _, _ in self.posts)

    def clear(self) -> None:
        with self._changed:
            self.posts.clear()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def fast_world(**customer: Any) -> SandboxConfig:
    delivery = DeliverySettings(flush_ms=customer.pop("flush_ms", 50), retries=1)
    timings = {"deliver_after_ms": 50, "read_after_ms": 100, "press_after_ms": 150}
    return replace(
        default_config(), webhooks=delivery, customer=CustomerSettings(**{**timings, **customer})
    )


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    yield endpoint
    endpoint.close()


@pytest.fixture(scope="module")
def lively_sandbox() -> Iterator[SandboxHandle]:
    """A customer who receives, reads and presses within 150 ms; batches flush after 50 ms."""
    with running_sandbox(fast_world()) as handle:
        yield handle


@pytest.fixture(scope="module")
def quiet_sandbox() -> Iterator[SandboxHandle]:
    """The customer's phone is off (echo events only) and batches wait 300 ms."""
    with running_sandbox(fast_world(enabled=False, flush_ms=300)) as handle:
        yield handle


def _hooked(handle: SandboxHandle, receiver: Receiver) -> Iterator[SandboxHandle]:
    handle.reset()
    receiver.clear()
    handle.set_webhook(DEMO_DLG_BOT_NAME, receiver.url)
    yield handle
    handle.reset()
    receiver.status = 200


@pytest.fixture
def lively(lively_sandbox: SandboxHandle, receiver: Receiver) -> Iterator[SandboxHandle]:
    yield from _hooked(lively_sandbox, receiver)


@pytest.fixture
def quiet(quiet_sandbox: SandboxHandle, receiver: Receiver) -> Iterator[SandboxHandle]:
    yield from _hooked(quiet_sandbox, receiver)


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def send(
    handle: SandboxHandle,
    http: requests.Session,
    message_id: str | None,
    recipient: dict[str, str] | None = None,
    buttons: list[dict[str, Any]] | None = None,
) -> requests.Response:
    message: dict[str, Any] = {"text": "Merhaba", "quickReplies": [], "quickRepliesV2": []}
    if message_id is not None:
        message["messageId"] = message_id
    if buttons:
        message["quickRepliesV2"] = buttons
    body = {"recipient": recipient or {"appCustomerId": "70021"}, "message": message}
    response = http.post(handle.dlg_url(DEMO_DLG_TOKEN), json=body, timeout=5)
    assert response.status_code == 200
    return response


def key_of(event: dict[str, Any]) -> str:
    (key,) = set(event) & EVENT_KEYS
    return key


def mids_of(events: list[dict[str, Any]]) -> list[str]:
    return [event["messageEcho"]["mid"] for event in events]


# --- the documented envelope ---------------------------------------------------------------


def test_a_send_gives_echo_then_delivery_then_read_with_its_message_id(lively, receiver, http):
    send(lively, http, "m-1")
    events = receiver.wait_for(3)
    assert [key_of(event) for event in events] == ["messageEcho", "delivery", "reads"]
    echo, delivery, read = events
    assert echo["messageEcho"] == {"app_id": 1614379680, "is_echo": True, "mid": "m-1"}
    assert delivery["delivery"] == {"mids": ["m-1"], "watermark": delivery["timestamp"]}
    assert read["reads"] == {"mids": ["m-1"], "watermark": read["timestamp"]}
    assert echo["timestamp"] < delivery["timestamp"] < read["timestamp"]
    for event in events:
        assert event["sender"] == {"id": "1614379680"}
        assert event["recipient"] == {"appCustomerId": "70021", "id": "243540663"}


def test_every_post_has_exactly_the_documented_envelope(lively, receiver, http):
    send(lively, http, "m-2")
    receiver.wait_for(3)
    for body, headers, _ in receiver.posts:
        assert headers["Content-Type"] == "application/json"
        envelope = json.loads(body)
        assert set(envelope) == {"object", "entry"}
        assert envelope["object"] == "dialog"
        assert 1 <= len(envelope["entry"]) <= 10
        for entry in envelope["entry"]:
            assert set(entry) == {"id", "time", "messaging"}
            assert entry["id"] == DEMO_DLG_WEBHOOK_ID
            assert isinstance(entry["time"], int)
            assert len(entry["messaging"]) == 1
            event = entry["messaging"][0]
            assert set(event) == {"sender", "recipient", "timestamp", key_of(event)}
            assert isinstance(event["timestamp"], int)
            assert entry["time"] >= event["timestamp"]


@pytest.mark.parametrize(
    ("form", "encode"),
    [
        ("hex", lambda digest: digest.hex()),
        ("base64", lambda digest: base64.b64encode(digest).decode()),
        ("sha1=hex", lambda digest: "sha1=" + digest.hex()),
        ("sha1=base64", lambda digest: "sha1=" + base64.b64encode(digest).decode()),
    ],
)
def test_signature_is_hmac_sha1_of_the_raw_body_in_the_configured_form(
    quiet, receiver, http, form: str, encode: Callable[[bytes], str]
):
    quiet.set_webhook(DEMO_DLG_BOT_NAME, receiver.url, signature=form)
    send(quiet, http, "m-sig")
    quiet.flush()
    ((body, headers, _),) = receiver.posts
    digest = hmac.new(DEMO_DLG_WEBHOOK_SECRET.encode(), body, hashlib.sha1).digest()
    assert headers["X-Signature"] == encode(digest)


def test_a_secret_set_at_run_time_signs_the_next_posts(quiet, receiver, http):
    quiet.set_webhook(DEMO_DLG_BOT_NAME, receiver.url, app_secret="another-secret")
    send(quiet, http, "m-key")
    quiet.flush()
    ((body, headers, _),) = receiver.posts
    assert headers["X-Signature"] == hmac.new(b"another-secret", body, hashlib.sha1).hexdigest()


@pytest.mark.parametrize(
    ("recipient", "expected"),
    [
        ({"appStaffId": "S1001"}, {"appStaffId": "S1001", "id": "1520983744"}),
        ({"id": "243540663"}, {"appCustomerId": "70021", "id": "243540663"}),
    ],
)
def test_staff_and_dlg_id_recipients_are_named_like_customers(
    quiet, receiver, http, recipient, expected
):
    send(quiet, http, "m-who", recipient=recipient)
    quiet.flush()
    assert [event["recipient"] for event in receiver.events()] == [expected]


def test_a_message_without_message_id_gets_no_events(quiet, receiver, http):
    send(quiet, http, None)
    quiet.flush()
    assert receiver.posts == []
    assert quiet.webhook_counts()["events_queued"] == 0


# --- the customer --------------------------------------------------------------------------


def test_the_customer_presses_the_first_quick_reply(lively, receiver, http):
    send(lively, http, "m-qr", buttons=BUTTONS)
    events = receiver.wait_for(4)
    assert [key_of(event) for event in events] == ["messageEcho", "delivery", "reads", "message"]
    assert events[3]["message"] == {"mid": "m-qr", "text": "[m-qr]:yes"}


def test_press_reply_and_read_on_demand_over_http(quiet, receiver, http):
    send(quiet, http, "m-ask", buttons=BUTTONS)
    control = quiet.url + "/_sandbox/customer/"
    answers = [
        http.post(control + "press", json={"message_id": "m-ask", "button": 1}, timeout=5),
        http.post(control + "press", json={"message_id": "m-ask", "payload": "maybe"}, timeout=5),
        http.post(control + "reply", json={"message_id": "m-ask", "text": "Merhaba"}, timeout=5),
        http.post(control + "read", json={"message_id": "m-ask"}, timeout=5),
    ]
    assert [answer.status_code for answer in answers] == [200] * 4
    assert answers[0].json() == {"sent": {"message": {"mid": "m-ask", "text": "[m-ask]:no"}}}
    quiet.flush()
    events = receiver.events()
    assert [key_of(event) for event in events] == ["messageEcho", *["message"] * 3, "reads"]
    assert [event["message"]["text"] for event in events[1:4]] == [
        "[m-ask]:no",
        "[m-ask]:maybe",
        "Merhaba",
    ]
    assert {event["message"]["mid"] for event in events[1:4]} == {"m-ask"}
    assert events[4]["reads"]["mids"] == ["m-ask"]


@pytest.mark.parametrize(
    ("path", "payload", "status"),
    [
        ("press", {"message_id": "nobody-sent-this"}, 404),
        ("press", {"message_id": "m-bad", "button": 7}, 400),
        ("press", {"message_id": "m-bad", "button": 0, "payload": "yes"}, 400),
        ("reply", {"message_id": "m-bad", "text": 5}, 400),
        ("read", {}, 400),
    ],
)
def test_customer_actions_that_cannot_happen_are_refused(quiet, http, path, payload, status):
    send(quiet, http, "m-bad", buttons=BUTTONS)
    answer = http.post(f"{quiet.url}/_sandbox/customer/{path}", json=payload, timeout=5)
    assert answer.status_code == status
    assert "error" in answer.json()


def test_customer_actions_without_a_webhook_url_say_so(quiet, http):
    send(quiet, http, "m-nourl")
    quiet.set_webhook(DEMO_DLG_BOT_NAME, None)
    answer = http.post(quiet.url + "/_sandbox/customer/read", json={"message_id": "m-nourl"})
    assert answer.status_code == 409
    assert "PUT /_sandbox/webhook" in answer.json()["error"]


# --- batching and delivery -----------------------------------------------------------------


def test_batches_hold_at_most_ten_events_and_the_rest_leaves_after_flush_ms(quiet, receiver, http):
    for number in range(20):
        send(quiet, http, f"m-{number}")
    started = time.monotonic()
    for number in range(20, 25):
        send(quiet, http, f"m-{number}")
    receiver.wait_for(25)
    assert [len(body["entry"]) for body in receiver.bodies()] == [10, 10, 5]
    assert receiver.posts[2][2] - started >= 0.25
    assert mids_of(receiver.events()) == [f"m-{number}" for number in range(25)]


def test_flush_posts_buffered_events_at_once(quiet, receiver, http):
    send(quiet, http, "m-a")
    send(quiet, http, "m-b")
    assert quiet.flush() == {"flushed_events": 2, "pending_batches": 0}
    assert [len(body["entry"]) for body in receiver.bodies()] == [2]


def test_webhook_delay_holds_each_post_back(lively, receiver, http):
    lively.set_faults(webhook_delay_ms=200)
    started = time.monotonic()
    send(lively, http, "m-slow")
    receiver.wait_for(1)
    assert receiver.posts[0][2] - started >= 0.25


def sent_mids(handle: SandboxHandle, http: requests.Session, count: int) -> list[str]:
    mids = [f"m-{number}" for number in range(count)]
    for mid in mids:
        send(handle, http, mid)
    handle.flush()
    return mids


def test_lost_events_never_arrive_and_are_counted_reproducibly(quiet, receiver, http):
    quiet.set_faults(webhook_loss_rate=0.5, seed=11)
    mids = sent_mids(quiet, http, 40)
    arrived = mids_of(receiver.events())
    lost = quiet.webhook_counts()["events_lost"]
    assert 10 <= lost <= 30
    assert len(arrived) == 40 - lost
    assert arrived == [mid for mid in mids if mid in arrived]
    quiet.reset()
    receiver.clear()
    quiet.set_webhook(DEMO_DLG_BOT_NAME, receiver.url)
    quiet.set_faults(webhook_loss_rate=0.5, seed=11)
    sent_mids(quiet, http, 40)
    assert mids_of(receiver.events()) == arrived


def test_duplicated_events_arrive_twice(quiet, receiver, http):
    quiet.set_faults(webhook_duplicate_rate=0.5, seed=5)
    mids = sent_mids(quiet, http, 40)
    arrived = mids_of(receiver.events())
    duplicated = quiet.webhook_counts()["events_duplicated"]
    assert 10 <= duplicated <= 30
    assert len(arrived) == 40 + duplicated
    assert sorted(set(arrived)) == sorted(mids)
    assert sum(arrived.count(mid) == 2 for mid in mids) == duplicated
    assert all(len(body["entry"]) <= 10 for body in receiver.bodies())


def test_reordering_shuffles_within_and_across_batches(quiet, receiver, http):
    quiet.set_faults(webhook_reorder=True, seed=3)
    mids = sent_mids(quiet, http, 30)
    batches = [mids_of([e["messaging"][0] for e in body["entry"]]) for body in receiver.bodies()]
    arrived = [mid for batch in batches for mid in batch]
    assert sorted(arrived) == sorted(mids)
    assert arrived != mids
    assert all(len(batch) <= 10 for batch in batches)
    batch_of = {mid: index for index, batch in enumerate(batches) for mid in batch}
    assert any(batch_of[a] > batch_of[b] for a, b in itertools.pairwise(mids))


def test_a_read_can_overtake_its_delivery_when_reordered(receiver, http):
    world = fast_world(deliver_after_ms=0, read_after_ms=0)
    with running_sandbox(replace(world, faults=FaultSettings(webhook_reorder=True, seed=2))) as hub:
        hub.set_webhook(DEMO_DLG_BOT_NAME, receiver.url)
        receiver.clear()
        for number in range(8):
            send(hub, http, f"m-{number}")
        events = receiver.wait_for(24)
    place = {(key_of(e), e[key_of(e)].get("mids", [None])[0]): i for i, e in enumerate(events)}
    assert any(place["reads", f"m-{n}"] < place["delivery", f"m-{n}"] for n in range(8))


def test_a_dead_receiver_does_not_slow_or_break_sends(quiet, http):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    quiet.set_webhook(DEMO_DLG_BOT_NAME, f"http://127.0.0.1:{closed_port}/hook")
    started = time.monotonic()
    for number in range(12):
        send(quiet, http, f"m-{number}")
    assert time.monotonic() - started < 2
    quiet.flush()
    records = quiet.webhooks()
    assert records
    assert all(r["status"] is None and "Connection" in r["error"] for r in records)
    counts = quiet.webhook_counts()
    assert counts["posts_failed"] == counts["posts"] == len(records)


def test_a_failed_post_is_retried_only_as_configured(quiet, receiver, http):
    receiver.status = 500
    send(quiet, http, "m-retry")
    quiet.flush()
    assert [(r["attempt"], r["status"]) for r in quiet.webhooks()] == [(0, 500), (1, 500)]
    assert len(receiver.posts) == 2
    assert receiver.posts[0][0] == receiver.posts[1][0]


# --- records and control -------------------------------------------------------------------


def test_webhooks_listing_shows_each_post_as_sent(quiet, receiver, http):
    send(quiet, http, "m-list")
    quiet.flush()
    listing = http.get(quiet.url + "/_sandbox/webhooks", timeout=5).json()
    ((record,),) = [listing["webhooks"]]
    (body, headers, _) = receiver.posts[0]
    assert record["url"] == receiver.url
    assert (record["status"], record["error"], record["events"]) == (200, None, 1)
    assert record["body"] == json.loads(body)
    assert record["signature"] == headers["X-Signature"]
    assert listing["counts"]["events_posted"] == 1
    assert quiet.webhooks(since=record["seq"]) == []


def test_reset_and_clearing_messages_forget_posts_and_pending_events(lively, receiver, http):
    send(lively, http, "m-old")
    receiver.wait_for(3)
    assert lively.webhooks()
    http.delete(lively.url + "/_sandbox/messages", timeout=5)
    assert lively.webhooks() == []
    send(lively, http, "m-pending")
    lively.reset()
    lively.set_webhook(DEMO_DLG_BOT_NAME, receiver.url)
    receiver.clear()
    time.sleep(0.3)
    assert receiver.posts == []
    assert lively.webhook_counts()["events_queued"] == 0


def test_reset_restores_the_webhooks_the_sandbox_started_with(quiet, receiver):
    assert quiet.config.bot_named(DEMO_DLG_BOT_NAME).webhook.url == receiver.url
    quiet.reset()
    assert quiet.config.bot_named(DEMO_DLG_BOT_NAME).webhook.url is None


def test_remote_sandbox_drives_webhooks_and_the_customer(quiet, receiver, http):
    remote = RemoteSandbox(quiet.url)
    assert remote.set_webhook(DEMO_DLG_BOT_NAME, receiver.url, signature="base64")["signature"] == (
        "base64"
    )
    send(quiet, http, "m-remote", buttons=BUTTONS)
    assert remote.press("m-remote")["sent"]["message"]["text"] == "[m-remote]:yes"
    remote.reply("m-remote", "Tamam")
    remote.read("m-remote")
    assert remote.flush()["flushed_events"] == 4
    assert remote.webhooks() == quiet.webhooks()
    assert remote.webhook_counts()["events_posted"] == 4
    remote.reset()
    assert remote.webhooks() == []


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"bot": "nobody", "url": "http://127.0.0.1:9/"}, 404),
        ({"bot": "demo-certainly", "url": "http://127.0.0.1:9/", "app_secret": "s"}, 400),
        ({"bot": DEMO_DLG_BOT_NAME, "url": "ftp://example.org/"}, 400),
        ({"bot": DEMO_DLG_BOT_NAME, "url": None, "signature": "md5"}, 400),
        ({"bot": DEMO_DLG_BOT_NAME}, 400),
        ({"bot": "demo-dlg-dead", "url": "http://127.0.0.1:9/"}, 400),
    ],
)
def test_bad_webhook_settings_are_refused(quiet, http, payload, status):
    answer = http.put(quiet.url + "/_sandbox/webhook", json=payload, timeout=5)
    assert answer.status_code == status
    assert "error" in answer.json()


def test_config_shows_webhooks_without_their_secret(quiet, http):
    answer = http.get(quiet.url + "/_sandbox/config", timeout=5)
    assert answer.json()["bots"][0]["webhook"]["id"] == DEMO_DLG_WEBHOOK_ID
    assert DEMO_DLG_WEBHOOK_SECRET not in answer.text


# --- configuration -------------------------------------------------------------------------


def test_command_line_options_set_url_batching_customer_and_faults():
    options = {
        "webhook_url": "http://127.0.0.1:8000/hooks/dlg",
        "flush_ms": 100,
        "customer_enabled": False,
        "press": "random",
        "webhook_reorder": True,
        "webhook_loss_rate": 0.1,
    }
    config = config_from_cli(options)
    assert config.bot_named(DEMO_DLG_BOT_NAME).webhook.url == options["webhook_url"]
    assert config.bot_named("demo-dlg-dead").webhook is None
    assert config.webhooks.flush_ms == 100
    assert (config.customer.enabled, config.customer.press) == (False, "random")
    assert (config.faults.webhook_reorder, config.faults.webhook_loss_rate) == (True, 0.1)


@pytest.mark.parametrize(
    "data",
    [
        {"bots": [{"name": "a", "provider": "dlg", "token": "t", "webhook": {}}]},
        {
            "bots": [
                {"name": "a", "provider": "certainly", "token": "t", "webhook": {"app_secret": "s"}}
            ]
        },
        {
            "bots": [
                {
                    "name": "a",
                    "provider": "dlg",
                    "token": "t",
                    "webhook": {"app_secret": "s", "sender_id": "x1"},
                }
            ]
        },
        {"bots": [], "webhooks": {"batch_size": 0}},
        {"bots": [], "customer": {"press": "last"}},
        {"bots": [], "faults": {"webhook_reorder": 1}},
    ],
)
def test_invalid_webhook_config_is_refused(data):
    with pytest.raises(ConfigError):
        config_from_dict(data)
