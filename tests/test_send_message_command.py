"""``manage.py send_message`` sends through the one send path and refuses what the page refuses."""

from __future__ import annotations

import base64
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from messaging.choices import Status
from messaging.models import MessageTemplate, OutboundMessage, Recipient
from messaging.providers.specs import MAX_FILE_BYTES
from tests.test_media import PDF, bomb_png, jpeg_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Sent files are stored for the history; keep them out of the project's var/ folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


class Run:
    """One command run: what it printed and, when it failed, the error it exited with."""

    def __init__(self, *args: str, raises: bool = False) -> None:
        self.stdout, self.stderr = io.StringIO(), io.StringIO()
        self.error: CommandError | None = None
        try:
            call_command("send_message", *args, stdout=self.stdout, stderr=self.stderr)
        except CommandError as err:
            if not raises:
                raise
            self.error = err
        else:
            assert not raises, "the command was expected to fail"

    @property
    def out(self) -> str:
        return self.stdout.getvalue()

    @property
    def err(self) -> str:
        return self.stderr.getvalue()


def send(bot, *args: str) -> Run:
    return Run("--bot", bot.name, *args)


def refused(bot, *args: str) -> Run:
    return Run("--bot", bot.name, *args, raises=True)


def to_customer(*args: str) -> tuple[str, ...]:
    return ("--customer", "70023", *args)


def file_at(tmp_path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def nothing_sent(sandbox) -> bool:
    return sandbox.requests() == [] and not OutboundMessage.objects.exists()


# --- what is sent -------------------------------------------------------------------------------


def test_text_to_customer_70023_is_accepted_with_the_expected_body(dlg_bot, sandbox) -> None:
    run = send(dlg_bot, *to_customer("--text", "Merhaba Zeynep"))

    record = OutboundMessage.objects.get()
    [received] = sandbox.messages()
    assert received["body"] == {
        "recipient": {"appCustomerId": "70023"},
        "message": {
            "messageId": record.message_id,
            "text": "Merhaba Zeynep",
            "quickReplies": [],
            "quickRepliesV2": [],
        },
    }
    assert run.out == (f"text {record.message_id}: accepted (platform recipient id 2074022437)\n")
    assert (record.status, record.sender, record.recipient) == (Status.ACCEPTED, None, None)


def test_quick_replies_become_buttons_split_at_the_first_equals_sign(dlg_bot, sandbox) -> None:
    send(
        dlg_bot,
        *to_customer("--text", "Still coming?", "--quick-reply", "Yes=yes"),
        "--quick-reply",
        "Later=remind=1h",
    )

    [received] = sandbox.messages()
    assert received["body"]["message"]["text"] == "Still coming?"
    assert received["body"]["message"]["quickRepliesV2"] == [
        {"contentType": "text", "title": "Yes", "payload": "yes", "payloadHidden": False},
        {"contentType": "text", "title": "Later", "payload": "remind=1h", "payloadHidden": False},
    ]


def test_trigger_without_data_sends_an_empty_string(dlg_bot, sandbox) -> None:
    send(dlg_bot, *to_customer("--trigger", "ApproveTransaction", "--text", "Tap to approve"))

    [received] = sandbox.messages()
    assert received["body"]["message"]["text"] == "Tap to approve"
    assert received["body"]["message"]["trigger"] == {"command": "ApproveTransaction", "data": ""}


def test_trigger_data_is_sent_as_typed(dlg_bot, sandbox) -> None:
    send(dlg_bot, *to_customer("--trigger", "Open", "--data", '{"a": 1}', "--text", "Open"))

    assert sandbox.messages()[0]["body"]["message"]["trigger"]["data"] == '{"a": 1}'


def test_photo_turned_by_exif_is_sent_with_its_displayed_size(dlg_bot, sandbox, tmp_path) -> None:
    data = jpeg_bytes(640, 480, orientation=6)
    path = file_at(tmp_path, "holiday.jpeg", data)

    run = send(dlg_bot, *to_customer("--document", path, "--as", "photo"), "--width", "640")

    [received] = sandbox.messages()
    document = received["body"]["message"]["document"]
    assert document["photo"] == {"width": 480, "height": 640}
    assert (document["fileName"], document["mimeType"]) == ("holiday.jpeg", "jpg")
    assert base64.b64decode(document["fileData"]) == data
    assert run.out.startswith("document ")
    assert ": accepted" in run.out


def test_document_kind_is_guessed_from_the_content(dlg_bot, sandbox, tmp_path) -> None:
    photo = file_at(tmp_path, "scan.bin", jpeg_bytes(64, 48))
    pdf = file_at(tmp_path, "statement.pdf", PDF)

    send(dlg_bot, *to_customer("--document", photo))
    send(dlg_bot, *to_customer("--document", pdf))

    first, second = (m["body"]["message"]["document"] for m in sandbox.messages())
    assert (first["mimeType"], first["photo"]) == ("jpg", {"width": 64, "height": 48})
    assert second["mimeType"] == "pdf"
    assert not {"photo", "video", "voice"} & set(second)


def test_sent_file_is_kept_for_the_history(dlg_bot, sandbox, tmp_path) -> None:
    send(dlg_bot, *to_customer("--document", file_at(tmp_path, "a.pdf", PDF)))

    assert OutboundMessage.objects.get().file.size == len(PDF)


def test_text_with_a_document_follows_it_as_its_own_message(dlg_bot, sandbox, tmp_path) -> None:
    path = file_at(tmp_path, "statement.pdf", PDF)

    run = send(dlg_bot, *to_customer("--document", path, "--text", "Your statement"))

    first, second = (m["body"]["message"] for m in sandbox.messages())
    assert "document" in first
    assert "text" not in first
    assert second["text"] == "Your statement"
    lines = run.out.splitlines()
    assert [line.split()[0] for line in lines] == ["document", "text"]
    assert all(line.endswith("(platform recipient id 2074022437)") for line in lines)


def test_text_is_not_sent_when_its_document_fails(dlg_bot, sandbox, tmp_path) -> None:
    path = file_at(tmp_path, "statement.pdf", PDF)

    run = refused(dlg_bot, "--customer", "404404", "--document", path, "--text", "Your statement")

    assert len(sandbox.requests()) == 1
    assert OutboundMessage.objects.get().message_type == "document"
    assert "does not know this recipient" in str(run.error)


def test_template_fills_recipient_attributes_overlaid_with_vars(dlg_bot, sandbox) -> None:
    zeynep = Recipient.objects.create(
        name="Zeynep Çelik",
        kind="appCustomerId",
        value="70023",
        attributes={"first_name": "Zeynep", "day": "Monday"},
    )
    template = MessageTemplate.objects.create(
        name="Card dispatched",
        message_type="text",
        content={"text": "Dear {{ first_name }}, your card arrives on {{ day }}."},
    )

    send(dlg_bot, *to_customer("--template", "Card dispatched", "--var", "day=Friday"))

    record = OutboundMessage.objects.get()
    assert sandbox.messages()[0]["body"]["message"]["text"] == (
        "Dear Zeynep, your card arrives on Friday."
    )
    assert (record.template, record.recipient, record.recipient_name) == (
        template,
        zeynep,
        "Zeynep Çelik",
    )


def test_certainly_text_goes_to_the_certainly_user(certainly_bot, sandbox) -> None:
    run = send(certainly_bot, "--certainly-user", "c-1001", "--text", "An agent is on the way.")

    [received] = sandbox.messages()
    assert received["body"] == {"text_message": "An agent is on the way.", "user_id": "c-1001"}
    assert run.out.startswith("certainly_text ")
    assert ": accepted (platform recipient id c-1001)" in run.out


@pytest.mark.parametrize(("option", "kind"), [("--staff", "appStaffId"), ("--user-id", "id")])
def test_each_recipient_option_is_its_address_kind(dlg_bot, sandbox, option, kind) -> None:
    value = "S1001" if kind == "appStaffId" else "243540663"

    send(dlg_bot, option, value, "--text", "Hello")

    assert sandbox.messages()[0]["body"]["recipient"] == {kind: value}


def test_as_user_records_the_sender(dlg_bot, sandbox, alice) -> None:
    send(dlg_bot, *to_customer("--text", "Hello", "--as-user", "alice"))

    assert OutboundMessage.objects.get().sender == alice


# --- refusals: nothing reaches the platform -----------------------------------------------------


def test_twelfth_quick_reply_is_refused(dlg_bot, sandbox) -> None:
    buttons = [arg for n in range(12) for arg in ("--quick-reply", f"B{n}=p{n}")]

    run = refused(dlg_bot, *to_customer("--text", "Pick one"), *buttons)

    assert run.err == "buttons: Add between 1 and 11 buttons.\n"
    assert str(run.error) == "Nothing was sent."
    assert nothing_sent(sandbox)


def test_two_recipient_options_are_refused(dlg_bot, sandbox) -> None:
    run = refused(dlg_bot, "--customer", "70023", "--staff", "S1001", "--text", "Hi")

    assert "argument --staff: not allowed with argument --customer" in str(run.error)
    assert nothing_sent(sandbox)


def test_file_one_byte_over_five_mebibytes_is_refused(dlg_bot, sandbox, tmp_path) -> None:
    path = file_at(tmp_path, "big.pdf", b"%PDF-" + bytes(MAX_FILE_BYTES - 4))

    run = refused(dlg_bot, *to_customer("--document", path))

    assert run.err == (
        "file: The file is 5,242,881 bytes; DLG accepts files up to 5,242,880 bytes (5 MB).\n"
    )
    assert nothing_sent(sandbox)


def test_file_of_exactly_five_mebibytes_is_sent(dlg_bot, sandbox, tmp_path) -> None:
    path = file_at(tmp_path, "big.pdf", b"%PDF-" + bytes(MAX_FILE_BYTES - 5))

    send(dlg_bot, *to_customer("--document", path))

    assert len(sandbox.messages()) == 1


def test_non_image_sent_as_photo_is_refused(dlg_bot, sandbox, tmp_path) -> None:
    path = file_at(tmp_path, "statement.pdf", PDF)

    run = refused(dlg_bot, *to_customer("--document", path, "--as", "photo"))

    assert run.err == (
        "file: This file is not an image DLG can show as a photo; "
        "send it as a plain file instead.\n"
    )
    assert nothing_sent(sandbox)


def test_decompression_bomb_is_refused(dlg_bot, sandbox, tmp_path) -> None:
    path = file_at(tmp_path, "bomb.png", bomb_png())

    run = refused(dlg_bot, *to_customer("--document", path))

    assert run.err.startswith("file: This image is too large to show as a photo")
    assert nothing_sent(sandbox)


def test_truncated_jpeg_is_refused(dlg_bot, sandbox, tmp_path) -> None:
    whole = jpeg_bytes()
    path = file_at(tmp_path, "cut.jpg", whole[: len(whole) // 2])

    run = refused(dlg_bot, *to_customer("--document", path))

    assert run.err.startswith("file: This image is damaged or incomplete")
    assert nothing_sent(sandbox)


def test_video_without_readable_size_names_the_missing_fields(dlg_bot, sandbox, tmp_path) -> None:
    path = file_at(tmp_path, "clip.pdf", PDF)

    run = refused(dlg_bot, *to_customer("--document", path, "--as", "video", "--duration", "3"))

    assert run.err == "width: This field is required.\nheight: This field is required.\n"
    assert nothing_sent(sandbox)


def test_bad_text_after_a_document_stops_the_document_too(dlg_bot, sandbox, tmp_path) -> None:
    path = file_at(tmp_path, "statement.pdf", PDF)

    run = refused(dlg_bot, *to_customer("--document", path, "--text", "   "))

    assert run.err == "text: This field is required.\n"
    assert nothing_sent(sandbox)


def test_missing_template_variable_is_named(dlg_bot, sandbox) -> None:
    MessageTemplate.objects.create(
        name="Greeting", message_type="text", content={"text": "Hi {{ first_name }}"}
    )

    run = refused(dlg_bot, *to_customer("--template", "Greeting"))

    assert str(run.error) == (
        "The recipient has no value for “first_name”. Give it with --var NAME=VALUE."
    )
    assert nothing_sent(sandbox)


def test_quick_replies_on_a_certainly_bot_are_refused(certainly_bot, sandbox) -> None:
    run = refused(
        certainly_bot, "--certainly-user", "c-1001", "--text", "Hi", "--quick-reply", "A=a"
    )

    assert "--quick-reply needs DLG" in str(run.error)
    assert nothing_sent(sandbox)


def test_dlg_message_to_a_certainly_bot_is_refused(certainly_bot, sandbox) -> None:
    run = refused(certainly_bot, "--certainly-user", "c-1001", "--trigger", "Go", "--text", "Go")

    assert run.err == "message_type: This bot cannot send this kind of message.\n"
    assert nothing_sent(sandbox)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--customer", "70023"), "Give one of --text, --document, --trigger or --template."),
        (("--customer", "70023", "--trigger", "Go"), "--trigger needs --text."),
        (("--customer", "70023", "--text", "Hi", "--data", "x"), "--data cannot be used"),
        (("--customer", "70023", "--template", "T", "--text", "x"), "--text cannot be used"),
        (("--customer", "70023", "--text", "x", "--as", "photo"), "--as cannot be used"),
        (("--customer", "70023", "--text", "x", "--quick-reply", "no-equals"), "TITLE=PAYLOAD"),
        (("--customer", "70023", "--template", "Nope"), "No message template is named “Nope”."),
        (("--customer", "70023", "--text", "x", "--as-user", "nobody"), "No active user"),
        (("--customer", "70023", "--document", "/nonexistent/x.pdf"), "Cannot read"),
    ],
)
def test_unusable_options_are_refused_with_a_clear_error(dlg_bot, sandbox, args, message) -> None:
    run = refused(dlg_bot, *args)

    assert message in str(run.error)
    assert nothing_sent(sandbox)


def test_two_content_options_are_refused(dlg_bot, sandbox) -> None:
    run = refused(dlg_bot, *to_customer("--template", "T", "--trigger", "Go", "--text", "x"))

    assert "not allowed with argument" in str(run.error)
    assert nothing_sent(sandbox)


def test_inactive_user_cannot_be_the_sender(dlg_bot, sandbox, alice) -> None:
    alice.is_active = False
    alice.save()

    run = refused(dlg_bot, *to_customer("--text", "Hi", "--as-user", "alice"))

    assert str(run.error) == "No active user is named “alice”."
    assert nothing_sent(sandbox)


def test_unknown_bot_is_refused(db, sandbox) -> None:
    run = Run("--bot", "no-such-bot", "--customer", "70023", "--text", "Hi", raises=True)

    assert str(run.error) == "No bot is named “no-such-bot”."
    assert sandbox.requests() == []


def test_switched_off_bot_is_refused(dlg_bot, sandbox) -> None:
    dlg_bot.is_active = False
    dlg_bot.save()

    run = refused(dlg_bot, *to_customer("--text", "Hi"))

    assert run.err == f"bot: The bot “{dlg_bot.name}” is switched off.\n"
    assert nothing_sent(sandbox)


# --- platform failures --------------------------------------------------------------------------


def test_unknown_customer_exits_non_zero_with_dlgs_plain_words(dlg_bot, sandbox) -> None:
    run = refused(dlg_bot, "--customer", "404404", "--text", "Hi")

    record = OutboundMessage.objects.get()
    assert record.status == Status.FAILED
    assert str(run.error) == record.error_message
    assert "DLG does not know this recipient" in str(run.error)
    assert run.error.returncode == 1
    assert run.out == f"text {record.message_id}: failed\n"
