"""The DLG sendmessage emulation, as a client sees it over real HTTP."""

from __future__ import annotations

import base64
import io
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from sandbox.defaults import DEMO_DEAD_BOT_TOKEN, DEMO_DLG_BOT_NAME, DEMO_DLG_TOKEN
from sandbox.testing import SandboxHandle, running_sandbox

MALFORMED = "The request content was malformed:\n"
FIVE_MIB = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox() as handle:
        yield handle


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture(autouse=True)
def _quiet_sandbox(sandbox: SandboxHandle) -> None:
    sandbox.reset()


def text_body(text: str = "Merhaba", **message: Any) -> dict[str, Any]:
    return {
        "recipient": {"appCustomerId": "70023"},
        "message": {"text": text, "quickReplies": [], "quickRepliesV2": [], **message},
    }


def document_body(file_data: str, **document: Any) -> dict[str, Any]:
    body = text_body()
    del body["message"]["text"]
    body["message"]["document"] = {"fileName": "f.pdf", "fileData": file_data, **document}
    return body


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), "red").save(buffer, "PNG")
    return buffer.getvalue()


def post(
    sandbox: SandboxHandle,
    http: requests.Session,
    body: Any,
    token: str = DEMO_DLG_TOKEN,
) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    return http.post(sandbox.dlg_url(token), data=data, headers=headers, timeout=10)


def assert_malformed(response: requests.Response) -> None:
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert response.text.startswith(MALFORMED)
    assert len(response.text) > len(MALFORMED)


# --- success -------------------------------------------------------------------------------


def test_text_send_answers_dlg_user_id_and_echoes_message_id(sandbox, http):
    response = post(sandbox, http, text_body(messageId="m-1"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"recipient_id": "2074022437", "message_id": "m-1"}


def test_missing_message_id_gets_a_generated_signed_64_bit_id(sandbox, http):
    ids = {post(sandbox, http, text_body()).json()["message_id"] for _ in range(5)}
    assert len(ids) == 5
    for message_id in ids:
        assert -(2**63) <= int(message_id) < 2**63
        assert message_id == str(int(message_id))


@pytest.mark.parametrize(
    ("recipient", "dlg_id"),
    [
        ({"appCustomerId": "70021"}, "243540663"),
        ({"appStaffId": "S1001"}, "1520983744"),
        ({"id": "243540663"}, "243540663"),
        ({"id": "2074022437"}, "2074022437"),
    ],
)
def test_each_recipient_kind_maps_to_its_dlg_user_id(sandbox, http, recipient, dlg_id):
    body = text_body()
    body["recipient"] = recipient
    assert post(sandbox, http, body).json()["recipient_id"] == dlg_id


def test_eleven_quick_replies_with_all_optional_fields_are_accepted(sandbox, http):
    reply = {
        "contentType": "text",
        "title": "Evet",
        "payload": "yes",
        "payloadHidden": True,
        "payloadSeenByUser": "Evet istiyorum",
        "imageUrl": "https://example.com/yes.png",
    }
    assert post(sandbox, http, text_body(quickRepliesV2=[reply] * 11)).status_code == 200


def test_trigger_with_empty_string_data_is_accepted(sandbox, http):
    body = text_body(trigger={"command": "ApproveTransaction", "data": ""})
    assert post(sandbox, http, body).status_code == 200


def test_template_attachment_is_accepted(sandbox, http):
    body = text_body()
    del body["message"]["text"]
    body["message"]["attachment"] = {"type": "template", "payload": {"templateType": "button"}}
    assert post(sandbox, http, body).status_code == 200


def test_unknown_extra_keys_are_ignored(sandbox, http):
    body = text_body(futureField=1)
    body["extra"] = {"x": 1}
    assert post(sandbox, http, body).status_code == 200


def test_plain_document_and_photo_document_are_accepted(sandbox, http):
    assert post(sandbox, http, document_body(b64(b"%PDF-1.7\n"), mimeType="pdf")).ok
    photo = document_body(b64(png_bytes()), mimeType="png", photo={"width": 4, "height": 3})
    assert post(sandbox, http, photo).status_code == 200


def test_document_of_exactly_five_mib_is_accepted(sandbox, http):
    assert post(sandbox, http, document_body(b64(b"\0" * FIVE_MIB))).status_code == 200


# --- malformed bodies ----------------------------------------------------------------------


def test_malformed_json_gets_400_malformed(sandbox, http):
    assert_malformed(post(sandbox, http, b'{"recipient": {"appCustomerId": "70023"'))


def test_json_array_body_is_malformed(sandbox, http):
    assert_malformed(post(sandbox, http, [text_body()]))


def message_with(drop: tuple[str, ...] = (), **changes: Any) -> dict[str, Any]:
    body = text_body()
    for key in drop:
        del body["message"][key]
    body["message"].update(changes)
    return body


def recipient(value: Any) -> dict[str, Any]:
    body = text_body()
    body["recipient"] = value
    return body


REPLY = {"contentType": "text", "title": "t", "payload": "p"}
TEMPLATE = {"type": "template", "payload": {}}
MALFORMED_CASES = {
    "missing_quick_replies": message_with(drop=("quickReplies",)),
    "missing_quick_replies_v2": message_with(drop=("quickRepliesV2",)),
    "quick_replies_not_empty": message_with(quickReplies=[{"title": "x"}]),
    "quick_replies_v2_not_array": message_with(quickRepliesV2={}),
    "two_recipient_keys": recipient({"appCustomerId": "70023", "appStaffId": "S1001"}),
    "zero_recipient_keys": recipient({}),
    "empty_recipient_value": recipient({"appCustomerId": ""}),
    "numeric_recipient_value": recipient({"appCustomerId": 70023}),
    "null_recipient_value": recipient({"id": None}),
    "recipient_not_object": recipient("70023"),
    "missing_recipient": {"message": text_body()["message"]},
    "message_not_object": {"recipient": {"appCustomerId": "70023"}, "message": "hi"},
    "twelve_quick_replies": message_with(quickRepliesV2=[REPLY] * 12),
    "quick_reply_content_type_not_text": message_with(
        quickRepliesV2=[{**REPLY, "contentType": "image"}]
    ),
    "quick_reply_missing_payload": message_with(
        quickRepliesV2=[{"contentType": "text", "title": "t"}]
    ),
    "quick_reply_payload_hidden_not_boolean": message_with(
        quickRepliesV2=[{**REPLY, "payloadHidden": "false"}]
    ),
    "quick_reply_image_url_not_string": message_with(quickRepliesV2=[{**REPLY, "imageUrl": 1}]),
    "quick_replies_without_text": message_with(
        drop=("text",), attachment=TEMPLATE, quickRepliesV2=[REPLY]
    ),
    "message_id_not_string": message_with(messageId=42),
    "message_id_null": message_with(messageId=None),
    "text_not_string": message_with(text=["hi"]),
    "no_content": message_with(drop=("text",)),
    "text_and_attachment": message_with(attachment=TEMPLATE),
    "attachment_unknown_type": message_with(
        drop=("text",), attachment={"type": "sticker", "payload": {}}
    ),
    "attachment_without_payload": message_with(drop=("text",), attachment={"type": "image"}),
    "trigger_data_as_object": message_with(
        trigger={"command": "Approve", "data": {"custNo": 2337368}}
    ),
    "trigger_without_data": message_with(trigger={"command": "Approve"}),
    "trigger_empty_command": message_with(trigger={"command": "", "data": ""}),
    "trigger_without_text": message_with(drop=("text",), trigger={"command": "A", "data": ""}),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_CASES))
def test_structural_violation_gets_400_malformed(sandbox, http, case):
    assert_malformed(post(sandbox, http, MALFORMED_CASES[case]))


DOCUMENT_MALFORMED: dict[str, dict[str, Any]] = {
    "photo_and_video_together": {
        "photo": {"width": 1, "height": 1},
        "video": {"width": 1, "height": 1, "duration": 1},
    },
    "photo_without_height": {"photo": {"width": 1}},
    "photo_width_boolean": {"photo": {"width": True, "height": 1}},
    "photo_width_float": {"photo": {"width": 1.5, "height": 1}},
    "video_without_duration": {"video": {"width": 1, "height": 1}},
    "voice_negative_duration": {"voice": {"duration": -1}},
    "mime_type_not_string": {"mimeType": 7},
    "photo_null": {"photo": None},
}


@pytest.mark.parametrize("case", sorted(DOCUMENT_MALFORMED))
def test_document_structure_violation_gets_400_malformed(sandbox, http, case):
    assert_malformed(
        post(sandbox, http, document_body(b64(png_bytes()), **DOCUMENT_MALFORMED[case]))
    )


def test_document_without_file_name_is_malformed(sandbox, http):
    body = document_body(b64(b"x"))
    del body["message"]["document"]["fileName"]
    assert_malformed(post(sandbox, http, body))


def test_document_with_text_is_malformed(sandbox, http):
    body = document_body(b64(b"x"))
    body["message"]["text"] = "also text"
    assert_malformed(post(sandbox, http, body))


# --- document data -------------------------------------------------------------------------


def assert_plain(response: requests.Response, status: int, text: str) -> None:
    assert (response.status_code, response.text) == (status, text)
    assert response.headers["Content-Type"] == "text/plain; charset=UTF-8"


def test_empty_file_data_is_rejected(sandbox, http):
    assert_plain(post(sandbox, http, document_body("")), 400, "File data bytes is empty")


@pytest.mark.parametrize(
    "file_data", ["not base64!", "QUJD\nREVG", "QUJDRA", "QUJDRA===", "QU-_", "=QUJD"]
)
def test_invalid_base64_is_rejected(sandbox, http, file_data):
    assert_plain(post(sandbox, http, document_body(file_data)), 400, "File data bytes not valid")


def test_five_mib_plus_one_decoded_byte_is_too_big(sandbox, http):
    response = post(sandbox, http, document_body(b64(b"\0" * (FIVE_MIB + 1))))
    assert_plain(response, 400, "Exceeded max file size of 5MB")


def test_photo_that_is_not_an_image_is_rejected(sandbox, http):
    body = document_body(b64(b"%PDF-1.7\n"), photo={"width": 640, "height": 480})
    expected = "File as photo cannot be parsed due to it is not a image file."
    assert_plain(post(sandbox, http, body), 400, expected)


# --- token, bot, recipient -----------------------------------------------------------------


def test_unknown_token_gets_503_wrong_token(sandbox, http):
    response = post(sandbox, http, text_body(), token="0" * 32)
    assert_plain(response, 503, "You may be using wrong token.")


def test_dead_bot_gets_500_not_alive(sandbox, http):
    response = post(sandbox, http, text_body(), token=DEMO_DEAD_BOT_TOKEN)
    assert_plain(response, 500, "Sender bot is not alive.")


@pytest.mark.parametrize(
    "unknown", [{"appCustomerId": "99999"}, {"appStaffId": "S9999"}, {"id": "70023"}]
)
def test_unknown_recipient_gets_500_recepient_not_found(sandbox, http, unknown):
    body = text_body()
    body["recipient"] = unknown
    assert_plain(post(sandbox, http, body), 500, "Not delivered due to recepient not found.")


def test_malformed_is_reported_before_a_wrong_token(sandbox, http):
    assert_malformed(post(sandbox, http, b"{", token="0" * 32))


def test_wrong_token_is_reported_before_bad_file_data(sandbox, http):
    response = post(sandbox, http, document_body(""), token="0" * 32)
    assert response.status_code == 503


def test_bad_file_data_is_reported_before_an_unknown_recipient(sandbox, http):
    body = document_body("")
    body["recipient"] = {"appCustomerId": "99999"}
    assert post(sandbox, http, body).text == "File data bytes is empty"


# --- routes and HTTP -----------------------------------------------------------------------


def test_wrong_method_gets_405(sandbox, http):
    response = http.get(sandbox.dlg_url(DEMO_DLG_TOKEN), timeout=5)
    assert_plain(response, 405, "HTTP method not allowed, supported methods: POST")


@pytest.mark.parametrize(
    "path", ["/", "/v1/bots/sendmessage/", "/v1/bots/sendmok/x", "/v1/bots/sendmessage/a/b"]
)
def test_unknown_path_gets_404(sandbox, http, path):
    response = http.post(sandbox.url + path, json=text_body(), timeout=5)
    assert_plain(response, 404, "The requested resource could not be found.")


@pytest.mark.parametrize("size", [8 * 1024 * 1024 + 1, 20 * 1024 * 1024])
def test_body_over_eight_mib_gets_413(sandbox, http, size):
    response = http.post(sandbox.dlg_url(DEMO_DLG_TOKEN), data=b" " * size, timeout=10)
    expected = (
        f"Request Content-Length of {size} bytes exceeds the configured limit of 8388608 bytes"
    )
    assert_plain(response, 413, expected)
    assert sandbox.messages() == []


def test_chunked_request_body_is_read(sandbox, http):
    payload = json.dumps(text_body(messageId="chunked")).encode()
    chunks = iter([payload[:10], payload[10:]])
    response = http.post(sandbox.dlg_url(DEMO_DLG_TOKEN), data=chunks, timeout=5)
    assert response.json()["message_id"] == "chunked"


def test_two_requests_share_one_keep_alive_connection(sandbox):
    host, port = sandbox.url.removeprefix("http://").split(":")
    payload = json.dumps(text_body()).encode()
    request = (
        f"POST /v1/bots/sendmessage/{DEMO_DLG_TOKEN} HTTP/1.1\r\nHost: x\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(request + request)
        received = b""
        while received.count(b"HTTP/1.1 200") < 2 or not received.endswith(b"}"):
            chunk = conn.recv(65536)
            assert chunk, f"connection closed early: {received!r}"
            received += chunk
    assert received.count(b'"recipient_id":"2074022437"') == 2


# --- recording -----------------------------------------------------------------------------


def test_accepted_send_is_recorded_with_bot_name_and_never_the_token(sandbox, http):
    post(sandbox, http, text_body(messageId="rec-1"))
    post(sandbox, http, text_body(), token="0" * 32)
    listing = http.get(sandbox.url + "/_sandbox/messages", timeout=5)
    (message,) = listing.json()["messages"]
    assert message["platform"] == "dlg"
    assert message["bot"] == DEMO_DLG_BOT_NAME
    assert message["body"] == text_body(messageId="rec-1")
    assert message["response_status"] == 200
    assert message["response"] == {"recipient_id": "2074022437", "message_id": "rec-1"}
    assert message["answered"] is True
    assert message["received_at"].endswith("Z")
    assert message == sandbox.messages()[0]
    requests_log = http.get(sandbox.url + "/_sandbox/requests", timeout=5).json()["requests"]
    assert [r["status"] for r in requests_log] == [200, 503]
    assert {r["path"] for r in requests_log} == {"/v1/bots/sendmessage/<BOT-TOKEN>"}
    assert DEMO_DLG_TOKEN not in listing.text + json.dumps(requests_log)


def test_delete_clears_messages_and_requests(sandbox, http):
    post(sandbox, http, text_body())
    assert http.delete(sandbox.url + "/_sandbox/messages", timeout=5).status_code == 200
    assert sandbox.messages() == []
    assert sandbox.requests() == []


def test_since_returns_only_newer_records(sandbox, http):
    post(sandbox, http, text_body(messageId="a"))
    first = sandbox.messages()[-1]["seq"]
    post(sandbox, http, text_body(messageId="b"))
    listing = http.get(f"{sandbox.url}/_sandbox/messages?since={first}", timeout=5).json()
    assert [m["body"]["message"]["messageId"] for m in listing["messages"]] == ["b"]


def test_summary_replaces_file_data_with_size_and_hash(sandbox, http):
    post(sandbox, http, document_body(b64(b"hello")))
    listing = http.get(sandbox.url + "/_sandbox/messages?summary=1", timeout=5).json()
    file_data = listing["messages"][0]["body"]["message"]["document"]["fileData"]
    assert file_data.startswith("<base64: 5 bytes, sha256=2cf24dba5fb0a30e")


def test_stats_count_duplicate_message_ids(sandbox, http):
    for message_id in ("d-1", "d-2", "d-1"):
        post(sandbox, http, text_body(messageId=message_id))
    post(sandbox, http, b"{")
    stats = http.get(sandbox.url + "/_sandbox/stats", timeout=5).json()
    assert stats["received"] == 4
    assert stats["accepted"] == 3
    assert stats["rejected"] == {"400": 1}
    assert stats["duplicate_message_ids"] == 1


# --- property: arbitrary bodies ------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
KEYS = st.sampled_from(
    ["recipient", "message", "appCustomerId", "id", "text", "quickReplies", "quickRepliesV2",
     "document", "trigger", "fileData", "photo", "messageId", "command", "data"]
)  # fmt: skip
NEAR_VALID = st.fixed_dictionaries(
    {
        "recipient": st.dictionaries(KEYS, JSON_VALUES, max_size=3)
        | st.just({"appCustomerId": "70023"}),
        "message": st.dictionaries(KEYS, JSON_VALUES, max_size=6).map(
            lambda m: {"quickReplies": [], "quickRepliesV2": [], **m}
        )
        | st.just({"text": "x", "quickReplies": [], "quickRepliesV2": []}),
    }
)
DOCUMENTED_5XX = {
    503: "You may be using wrong token.",
    500: {"Sender bot is not alive.", "Not delivered due to recepient not found."},
}


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=JSON_VALUES | NEAR_VALID, token=st.sampled_from([DEMO_DLG_TOKEN, "0" * 32]))
def test_arbitrary_json_never_gets_an_undocumented_5xx(sandbox, http, body, token):
    response = post(sandbox, http, body, token=token)
    assert response.status_code in (200, 400, 500, 503)
    if response.status_code == 503:
        assert response.text == DOCUMENTED_5XX[503]
    if response.status_code == 500:
        assert response.text in DOCUMENTED_5XX[500]
    if response.status_code == 200:
        assert set(response.json()) == {"recipient_id", "message_id"}
    assert http.get(sandbox.url + "/_sandbox/health", timeout=5).json() == {"ok": True}
