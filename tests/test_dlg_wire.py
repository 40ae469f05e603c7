"""DLG bodies match the docs' field tables, and the sandbox accepts each of them."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

from messaging.providers.dlg import DlgClient, build_body, display_url, sendmessage_url
from messaging.providers.specs import (
    Address,
    Document,
    InvalidMessage,
    QuickReplies,
    QuickReply,
    Text,
    Trigger,
)
from sandbox import defaults

CUSTOMER = Address("appCustomerId", "70023")


def jpeg_bytes(width: int = 64, height: int = 48) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "teal").save(buffer, "JPEG")
    return buffer.getvalue()


def test_text_body_is_the_documented_golden_json() -> None:
    body = build_body(CUSTOMER, Text("Hello world !"), "messageId-1")

    assert json.dumps(body, sort_keys=True) == json.dumps(
        {
            "recipient": {"appCustomerId": "70023"},
            "message": {
                "messageId": "messageId-1",
                "text": "Hello world !",
                "quickReplies": [],
                "quickRepliesV2": [],
            },
        },
        sort_keys=True,
    )


def test_quick_replies_body_carries_each_button_with_only_the_fields_given() -> None:
    buttons = (
        QuickReply(
            "Yes",
            "yes",
            payload_seen_by_user="Yes I want to continue",
            image_url="https://example.com/yes.png",
        ),
        QuickReply("No", "no", payload_hidden=True),
    )
    body = build_body(Address("appStaffId", "S1001"), QuickReplies("Continue?", buttons), "m-2")

    assert body == {
        "recipient": {"appStaffId": "S1001"},
        "message": {
            "messageId": "m-2",
            "text": "Continue?",
            "quickReplies": [],
            "quickRepliesV2": [
                {
                    "contentType": "text",
                    "title": "Yes",
                    "payload": "yes",
                    "payloadHidden": False,
                    "payloadSeenByUser": "Yes I want to continue",
                    "imageUrl": "https://example.com/yes.png",
                },
                {"contentType": "text", "title": "No", "payload": "no", "payloadHidden": True},
            ],
        },
    }


@pytest.mark.parametrize(
    ("kind", "sizes", "expected"),
    [
        ("file", {}, {}),
        ("photo", {"width": 640, "height": 480}, {"photo": {"width": 640, "height": 480}}),
        (
            "video",
            {"width": 360, "height": 480, "duration": 120},
            {"video": {"width": 360, "height": 480, "duration": 120}},
        ),
        ("voice", {"duration": 18}, {"voice": {"duration": 18}}),
    ],
)
def test_document_body_has_base64_data_extension_and_one_render_object(
    kind: str, sizes: dict[str, int], expected: dict[str, object]
) -> None:
    data = b"%PDF-1.7\n" + bytes(range(256))
    body = build_body(
        Address("id", "243540663"),
        Document("report.PDF", data, kind=kind, **sizes),
        "m-3",
    )

    assert body == {
        "recipient": {"id": "243540663"},
        "message": {
            "messageId": "m-3",
            "document": {
                "fileName": "report.PDF",
                "fileData": base64.b64encode(data).decode(),
                "mimeType": "pdf",
                **expected,
            },
            "quickReplies": [],
            "quickRepliesV2": [],
        },
    }


@pytest.mark.parametrize("data", ["", "{custNo:2337368}", '{"custNo": 2337368}'])
def test_trigger_body_sends_data_as_a_string_even_when_empty_or_json(data: str) -> None:
    body = build_body(CUSTOMER, Trigger("Tap to approve", "ApproveTransaction", data), "m-4")

    assert body["message"] == {
        "messageId": "m-4",
        "text": "Tap to approve",
        "trigger": {"command": "ApproveTransaction", "data": data},
        "quickReplies": [],
        "quickRepliesV2": [],
    }


def test_token_goes_only_into_the_url_and_the_display_url_hides_it() -> None:
    assert sendmessage_url("https://api.example.com/", "t0k/en") == (
        "https://api.example.com/v1/bots/sendmessage/t0k%2Fen"
    )
    assert display_url("https://api.example.com") == (
        "https://api.example.com/v1/bots/sendmessage/<BOT-TOKEN>"
    )


SENDABLE = [
    Text("Hello"),
    QuickReplies("Pick one", tuple(QuickReply(f"B{i}", f"p{i}") for i in range(11))),
    Document("manual.pdf", b"%PDF-1.7 tiny"),
    Document("photo.jpg", jpeg_bytes(), kind="photo", width=64, height=48),
    Document("clip.mp4", b"\x00\x00\x00\x18ftypmp42", kind="video", width=1, height=1, duration=0),
    Document("note.ogg", b"OggS\x00", kind="voice", duration=3),
    Trigger("Approve?", "ApproveTransaction", ""),
]


@pytest.mark.parametrize("message", SENDABLE, ids=lambda message: type(message).__name__)
def test_sandbox_accepts_every_body_the_builder_makes(sandbox, message) -> None:
    client = DlgClient(sandbox.url, defaults.DEMO_DLG_TOKEN)
    request = client.prepare(CUSTOMER, message, "console-test-1")

    result = client.send(request)

    assert (result.http_status, result.message_id) == (200, "console-test-1")
    assert result.recipient_id == defaults.DEMO_DLG_USER_IDS["appCustomerId"]["70023"]
    [received] = sandbox.messages()
    assert received["body"] == request.body


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (
            QuickReplies("Too many", tuple(QuickReply(f"B{i}", f"p{i}") for i in range(12))),
            "buttons",
        ),
        (QuickReplies("None", ()), "buttons"),
        (
            QuickReplies("x", (QuickReply("Go", "go", image_url="javascript:alert(1)"),)),
            "buttons.0.image_url",
        ),
        (Document("big.bin", b"\0" * (5 * 1024 * 1024 + 1)), "file"),
        (Document("pic.jpg", jpeg_bytes(), kind="photo"), "width"),
        (Trigger("Tap", "", ""), "command"),
        (Text("   "), "text"),
    ],
)
def test_builder_refuses_what_dlg_would_refuse(sandbox, message, field: str) -> None:
    client = DlgClient(sandbox.url, defaults.DEMO_DLG_TOKEN)

    with pytest.raises(InvalidMessage) as caught:
        client.prepare(CUSTOMER, message, "m-5")

    assert field in caught.value.by_field()
    assert sandbox.requests() == []


def test_file_of_exactly_five_mebibytes_is_accepted(sandbox) -> None:
    client = DlgClient(sandbox.url, defaults.DEMO_DLG_TOKEN)
    request = client.prepare(CUSTOMER, Document("big.bin", b"\0" * (5 * 1024 * 1024)), "m-6")

    assert client.send(request).http_status == 200
    assert request.recorded_body["message"]["document"]["fileData"].startswith(
        "<base64: 5242880 bytes, sha256="
    )


@pytest.mark.parametrize(
    ("address", "message", "field"),
    [
        (CUSTOMER, Text("a\x00b"), "text"),
        (CUSTOMER, Trigger("Tap", "Open", "x\x00"), "data"),
        (Address("appCustomerId", "700\x0023"), Text("hi"), "recipient"),
        (
            CUSTOMER,
            QuickReplies("x", (QuickReply("a", "b", image_url="https://x/\x00"),)),
            "buttons.0.image_url",
        ),
    ],
)
def test_nul_characters_are_refused_before_anything_is_stored(sandbox, address, message, field):
    client = DlgClient(sandbox.url, defaults.DEMO_DLG_TOKEN)

    with pytest.raises(InvalidMessage) as caught:
        client.prepare(address, message, "m-nul")

    assert field in caught.value.by_field()
