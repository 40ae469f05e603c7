"""The compose page in a real browser: htmx swaps keep what was typed, previews follow, sends land.

Each test signs in through the admin login page and drives Chromium against the live server;
the sandbox on loopback plays DLG and Certainly and records exactly what the console sent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, Request, expect

from messaging.models import Bot, MessageTemplate, Recipient
from sandbox.testing import SandboxHandle
from tests.browser_helpers import (
    button_field,
    choose_bot,
    choose_type,
    open_compose,
    send,
    sign_in,
    swapped,
    type_recipient,
)
from tests.compose_helpers import jpeg

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sender_composes_quick_replies_edits_buttons_and_sends_exactly_what_was_previewed(
    page: Page, live_server: Any, alice: User, dlg_bot: Bot, sandbox: SandboxHandle
) -> None:
    open_compose(page, live_server.url)
    choose_bot(page, dlg_bot)
    type_recipient(page, "DLG customer id", "70023")
    choose_type(page, "Quick replies")
    text = page.get_by_label("Text", exact=True)
    text.fill("Is tomorrow at 10:00 good for your branch visit?")

    rows = page.get_by_test_id("button-row")
    wanted = [("Yes", "visit-yes"), ("Another day", "visit-later"), ("Call me", "visit-call")]
    for count, (title, payload) in enumerate(wanted, start=1):
        with swapped(page, "refresh"):
            page.get_by_role("button", name="Add a button").click()
        expect(rows).to_have_count(count)
        button_field(page, count - 1, "title").fill(title)
        button_field(page, count - 1, "payload").fill(payload)
        for row, (kept_title, kept_payload) in enumerate(wanted[: count - 1]):
            expect(button_field(page, row, "title")).to_have_value(kept_title)
            expect(button_field(page, row, "payload")).to_have_value(kept_payload)
        expect(text).to_have_value("Is tomorrow at 10:00 good for your branch visit?")
    expect(page.get_by_test_id("chip")).to_have_text(["Yes", "Another day", "Call me"])

    with swapped(page, "refresh"):
        page.get_by_role("button", name="Remove button 2").click()
    expect(rows).to_have_count(2)
    expect(button_field(page, 0, "title")).to_have_value("Yes")
    expect(button_field(page, 0, "payload")).to_have_value("visit-yes")
    expect(button_field(page, 1, "title")).to_have_value("Call me")
    expect(button_field(page, 1, "payload")).to_have_value("visit-call")
    expect(text).to_have_value("Is tomorrow at 10:00 good for your branch visit?")
    expect(page.locator("#id_recipient_value")).to_have_value("70023")

    expect(page.get_by_test_id("chip")).to_have_text(["Yes", "Call me"])
    expect(page.get_by_test_id("bubble")).to_have_text(
        "Is tomorrow at 10:00 good for your branch visit?"
    )
    json_preview = page.get_by_test_id("json")
    expect(json_preview).to_contain_text('"quickRepliesV2"')
    expect(json_preview).to_contain_text('"visit-call"')
    expect(json_preview).not_to_contain_text('"visit-later"')
    previewed = json.loads(json_preview.inner_text())

    message_id = send(page)

    expect(page.get_by_text("DLG (Diyalog) accepted the message.")).to_be_visible()
    expect(page.get_by_test_id("platform-recipient-id")).to_have_text("2074022437")
    [received] = sandbox.messages()
    assert received["body"] == {
        "recipient": {"appCustomerId": "70023"},
        "message": {
            "messageId": message_id,
            "text": "Is tomorrow at 10:00 good for your branch visit?",
            "quickReplies": [],
            "quickRepliesV2": [
                {
                    "contentType": "text",
                    "title": "Yes",
                    "payload": "visit-yes",
                    "payloadHidden": False,
                },
                {
                    "contentType": "text",
                    "title": "Call me",
                    "payload": "visit-call",
                    "payloadHidden": False,
                },
            ],
        },
    }
    assert received["body"] == previewed


def test_recipient_search_picks_a_directory_entry_and_fills_its_placeholders(
    page: Page, live_server: Any, alice: User, dlg_bot: Bot, sandbox: SandboxHandle
) -> None:
    Recipient.objects.create(
        name="Ayşe Yılmaz",
        kind="appCustomerId",
        value="70023",
        attributes={"first_name": "Ayşe"},
    )
    Recipient.objects.create(name="Burak Demir", kind="appCustomerId", value="70021")
    open_compose(page, live_server.url)

    with swapped(page, "recipients"):
        page.get_by_label("Find a recipient").press_sequentially("Ay")
    options = page.get_by_role("listbox").get_by_role("option")
    expect(options).to_have_count(1)
    expect(options).to_contain_text("Ayşe Yılmaz")
    # Let the typed search and the debounced preview finish before the list is replaced.
    page.wait_for_load_state("networkidle")
    with swapped(page, "pick"):
        options.first.click()
    expect(page.get_by_test_id("recipient-chip")).to_have_text(
        "Ayşe Yılmaz · DLG customer id 70023", timeout=10_000
    )
    page.get_by_label("Text", exact=True).fill("Merhaba {{ first_name }}, your card is ready.")

    expect(page.get_by_test_id("bubble")).to_have_text("Merhaba Ayşe, your card is ready.")
    expect(page.get_by_test_id("json")).to_contain_text('"text": "Merhaba Ayşe, your card')
    message_id = send(page)

    expect(page.get_by_text("accepted the message")).to_be_visible()
    expect(page.get_by_test_id("send-result")).to_contain_text("Ayşe Yılmaz")
    [received] = sandbox.messages()
    assert received["body"] == {
        "recipient": {"appCustomerId": "70023"},
        "message": {
            "messageId": message_id,
            "text": "Merhaba Ayşe, your card is ready.",
            "quickReplies": [],
            "quickRepliesV2": [],
        },
    }


def test_enter_in_the_recipient_search_searches_and_sends_nothing(
    page: Page, live_server: Any, alice: User, dlg_bot: Bot, sandbox: SandboxHandle
) -> None:
    Recipient.objects.create(name="Ayşe Yılmaz", kind="appCustomerId", value="70023")
    open_compose(page, live_server.url)
    type_recipient(page, "DLG customer id", "70021")
    page.get_by_label("Text", exact=True).fill("Your card is ready")
    search = page.get_by_label("Find a recipient")
    search.fill("Ayşe")

    with swapped(page, "recipients"):
        search.press("Enter")

    expect(page.get_by_role("listbox").get_by_role("option")).to_have_text(
        ["Ayşe Yılmaz DLG customer id 70023"]
    )
    expect(page).to_have_url(f"{live_server.url}/admin/console/compose/")
    assert sandbox.requests() == []


def test_change_clears_the_picked_recipient(
    page: Page, live_server: Any, alice: User, dlg_bot: Bot
) -> None:
    Recipient.objects.create(name="Ayşe Yılmaz", kind="appCustomerId", value="70023")
    open_compose(page, live_server.url)
    with swapped(page, "recipients"):
        page.get_by_label("Find a recipient").press_sequentially("Ay")
    with swapped(page, "pick"):
        page.get_by_role("listbox").get_by_role("option", name="Ayşe Yılmaz").click()
    expect(page.get_by_test_id("recipient-chip")).to_be_visible()

    with swapped(page, "pick"):
        page.get_by_role("button", name="Change").click()

    expect(page.get_by_test_id("recipient-chip")).to_have_count(0)
    expect(page.get_by_label("Find a recipient")).to_be_visible()


def test_rotated_photo_is_measured_before_sending_and_sent_with_its_displayed_size(
    page: Page,
    live_server: Any,
    alice: User,
    dlg_bot: Bot,
    sandbox: SandboxHandle,
    tmp_path: Path,
) -> None:
    photo = tmp_path / "branch-receipt.jpg"
    photo.write_bytes(jpeg(640, 480, orientation=6))
    open_compose(page, live_server.url)
    type_recipient(page, "DLG customer id", "70023")
    choose_type(page, "Document")

    with swapped(page, "upload"):
        page.locator("#id_file").set_input_files(photo)

    expect(page.get_by_test_id("chosen-file")).to_have_text("branch-receipt.jpg")
    expect(page.get_by_test_id("photo-size")).to_have_text("480 × 640")
    expect(page.get_by_label("Send as")).to_have_value("photo")
    thumbnail = page.get_by_alt_text("Thumbnail of the photo")
    expect(thumbnail).to_be_visible()
    expect(thumbnail).to_have_js_property("complete", True)
    width, height = thumbnail.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert 0 < width < height
    expect(page.get_by_test_id("bubble")).to_contain_text("480 × 640")
    assert sandbox.requests() == []

    message_id = send(page)

    expect(page.get_by_text("accepted the message")).to_be_visible()
    [received] = sandbox.messages()
    assert received["body"]["message"]["messageId"] == message_id
    document = received["body"]["message"]["document"]
    assert document["photo"] == {"width": 480, "height": 640}
    assert document["mimeType"] == "jpg"
    assert document["fileName"] == "branch-receipt.jpg"


def test_choosing_video_after_the_upload_asks_for_its_size_and_duration(
    page: Page, live_server: Any, alice: User, dlg_bot: Bot, tmp_path: Path
) -> None:
    clip = tmp_path / "tour.mp4"
    clip.write_bytes(b"\0\0\0\x18ftypmp42" + b"\0" * 200)
    open_compose(page, live_server.url)
    choose_type(page, "Document")
    with swapped(page, "upload"):
        page.locator("#id_file").set_input_files(clip)
    expect(page.get_by_test_id("chosen-file")).to_have_text("tour.mp4")

    with swapped(page, "refresh"):
        page.get_by_label("Send as").select_option(label="Video")

    expect(page.get_by_label("Send as")).to_have_value("video")
    expect(page.get_by_test_id("chosen-file")).to_have_text("tour.mp4")
    for field in ("width", "height", "duration"):
        page.locator(f"#id_{field}").fill({"width": "720", "height": "1280"}.get(field, "12"))
    expect(page.get_by_test_id("bubble")).to_contain_text("▶ video · 12 s · 720 × 1280")


def test_file_over_five_megabytes_is_refused_in_the_browser_before_any_upload(
    page: Page, live_server: Any, alice: User, dlg_bot: Bot, tmp_path: Path
) -> None:
    big = tmp_path / "statement.pdf"
    big.write_bytes(b"\0" * (5 * 1024 * 1024 + 1))
    uploads: list[Request] = []

    def watch(request: Request) -> None:
        if "/compose/upload/" in request.url:
            uploads.append(request)

    page.on("request", watch)
    open_compose(page, live_server.url)
    choose_type(page, "Document")

    # The preview redraws 50 ms after the change, so its answer comes after any upload would.
    with page.expect_response(lambda response: "/compose/preview/" in response.url):
        page.locator("#id_file").set_input_files(big)

    expect(page.get_by_test_id("upload-error")).to_have_text(
        "The file is 5,242,881 bytes; DLG accepts files up to 5,242,880 bytes (5 MB)."
    )
    expect(page.locator("#id_file")).to_have_value("")
    expect(page.get_by_test_id("chosen-file")).to_have_count(0)
    assert uploads == []


def test_choosing_a_template_fills_text_and_buttons_and_the_preview(
    page: Page, live_server: Any, alice: User, dlg_bot: Bot
) -> None:
    MessageTemplate.objects.create(
        name="Branch visit",
        message_type="quick_replies",
        content={
            "text": "Shall we book your branch visit for tomorrow?",
            "buttons": [
                {"title": "Book it", "payload": "book"},
                {"title": "Not now", "payload": "later", "payload_seen_by_user": "Maybe later"},
            ],
        },
    )
    open_compose(page, live_server.url)
    page.get_by_label("Text", exact=True).fill("Something else")

    with swapped(page, "refresh"):
        page.get_by_label("Template").select_option(label="Branch visit — Quick replies")

    expect(page.get_by_label("Type", exact=True)).to_have_value("quick_replies")
    expect(page.get_by_label("Text", exact=True)).to_have_value(
        "Shall we book your branch visit for tomorrow?"
    )
    expect(page.get_by_test_id("button-row")).to_have_count(2)
    expect(button_field(page, 0, "title")).to_have_value("Book it")
    expect(button_field(page, 0, "payload")).to_have_value("book")
    expect(button_field(page, 1, "title")).to_have_value("Not now")
    expect(button_field(page, 1, "payload")).to_have_value("later")
    expect(button_field(page, 1, "payload_seen_by_user")).to_have_value("Maybe later")
    expect(page.get_by_test_id("bubble")).to_have_text(
        "Shall we book your branch visit for tomorrow?"
    )
    expect(page.get_by_test_id("chip")).to_have_text(["Book it", "Not now"])


def test_auditor_sees_no_compose_link_and_is_refused_the_page(
    page: Page, live_server: Any, carol: User, dlg_bot: Bot
) -> None:
    sign_in(page, live_server.url, "carol")

    expect(page.get_by_role("link", name="Compose a message")).to_have_count(0)
    response = page.goto(f"{live_server.url}/admin/console/compose/")
    assert response is not None
    assert response.status == 403


def test_trigger_message_shows_command_and_data_fields_and_sends_them(
    page: Page, live_server: Any, alice: User, dlg_bot: Bot, sandbox: SandboxHandle
) -> None:
    open_compose(page, live_server.url)
    type_recipient(page, "DLG customer id", "70023")
    choose_type(page, "Trigger app message")
    page.get_by_label("Text", exact=True).fill("Tap to approve the transfer of 1,250 TL")
    page.get_by_label("Command").fill("ApproveTransaction")
    page.get_by_label("Data").fill('{"custNo": 2337368}')

    expect(page.get_by_test_id("phone")).to_contain_text(
        'Tapping opens your app: ApproveTransaction with {"custNo": 2337368}'
    )
    expect(page.get_by_test_id("json")).to_contain_text('"command": "ApproveTransaction"')
    message_id = send(page)

    expect(page.get_by_text("accepted the message")).to_be_visible()
    [received] = sandbox.messages()
    assert received["body"] == {
        "recipient": {"appCustomerId": "70023"},
        "message": {
            "messageId": message_id,
            "text": "Tap to approve the transfer of 1,250 TL",
            "trigger": {"command": "ApproveTransaction", "data": '{"custNo": 2337368}'},
            "quickReplies": [],
            "quickRepliesV2": [],
        },
    }


def test_certainly_bot_offers_its_own_type_and_id_kind_and_sends(
    page: Page,
    live_server: Any,
    alice: User,
    dlg_bot: Bot,
    certainly_bot: Bot,
    sandbox: SandboxHandle,
) -> None:
    open_compose(page, live_server.url)
    page.get_by_label("Text", exact=True).fill("An agent will join you in a moment.")

    choose_bot(page, certainly_bot)

    type_select = page.get_by_label("Type", exact=True)
    expect(type_select.locator("option")).to_have_text(["Certainly text"])
    expect(page.locator("#id_recipient_kind option")).to_have_text(["Certainly user id"])
    expect(page.get_by_label("Text", exact=True)).to_have_value(
        "An agent will join you in a moment."
    )
    page.locator("#id_recipient_value").fill("c-1001")
    expect(page.get_by_test_id("json")).to_contain_text('"user_id": "c-1001"')
    expect(page.get_by_test_id("bubble")).to_have_text("An agent will join you in a moment.")
    send(page)

    expect(page.get_by_text("Certainly accepted the message.")).to_be_visible()
    [received] = sandbox.messages()
    assert received["body"] == {
        "text_message": "An agent will join you in a moment.",
        "user_id": "c-1001",
    }
