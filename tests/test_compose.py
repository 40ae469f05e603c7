"""Composing and sending from the page, without a browser: what is refused and what is sent."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from messaging.choices import Status
from messaging.models import MessageTemplate, OutboundMessage, Recipient
from tests.compose_helpers import bomb_png, jpeg, post_data

pytestmark = pytest.mark.django_db
COMPOSE = reverse("messaging:compose")


@pytest.fixture
def sender_client(client, alice):
    client.force_login(alice)
    return client


def test_plain_text_send_works_without_javascript(sender_client, dlg_bot, sandbox, alice):
    response = sender_client.post(COMPOSE, post_data(dlg_bot, text="Your card is ready"))

    record = OutboundMessage.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("messaging:sent", args=[record.message_id])
    assert (record.status, record.sender) == (Status.ACCEPTED, alice)
    [received] = sandbox.messages()
    assert received["body"] == {
        "recipient": {"appCustomerId": "70023"},
        "message": {
            "messageId": record.message_id,
            "text": "Your card is ready",
            "quickReplies": [],
            "quickRepliesV2": [],
        },
    }


def test_result_page_shows_ids_and_latency(sender_client, dlg_bot, sandbox):
    response = sender_client.post(COMPOSE, post_data(dlg_bot), follow=True)

    page = response.content.decode()
    record = OutboundMessage.objects.get()
    assert "accepted the message" in page
    assert record.message_id in page
    assert "2074022437" in page
    assert f"{record.latency_ms} ms" in page


def test_double_submission_sends_once(sender_client, dlg_bot, sandbox):
    data = post_data(dlg_bot)

    first = sender_client.post(COMPOSE, data)
    second = sender_client.post(COMPOSE, data, follow=True)

    assert first["Location"] == second.redirect_chain[0][0]
    assert "already sent once" in second.content.decode()
    assert len(sandbox.requests()) == 1
    assert OutboundMessage.objects.count() == 1


def test_platform_error_is_shown_in_plain_words(sender_client, dlg_bot, sandbox):
    response = sender_client.post(
        COMPOSE, post_data(dlg_bot, recipient_value="404404"), follow=True
    )

    page = response.content.decode()
    assert "The message was not sent." in page
    assert "DLG does not know this recipient" in page
    assert "Edit and try again" in page


def refused(client, bot, **fields):
    response = client.post(COMPOSE, post_data(bot, **fields))
    assert response.status_code == 200
    assert OutboundMessage.objects.count() == 0
    return response


def field_errors(response, name: str) -> list[str]:
    form = response.context["form"]
    if "." in name:
        index, field = name.split(".")
        return form.buttons.forms[int(index)].errors.get(field, [])
    if name == "buttons":
        return form.buttons_errors
    return form.errors.get(name, [])


def test_twelfth_quick_reply_is_refused(sender_client, dlg_bot, sandbox):
    buttons = [{"title": f"B{i}", "payload": f"p{i}"} for i in range(12)]

    response = refused(sender_client, dlg_bot, message_type="quick_replies", buttons=buttons)

    assert field_errors(response, "buttons") == ["Add between 1 and 11 buttons."]
    assert "Add between 1 and 11 buttons." in response.content.decode()
    assert sandbox.requests() == []


def test_two_recipient_ids_are_refused(sender_client, dlg_bot, sandbox):
    customer = Recipient.objects.create(name="Ayşe", kind="appCustomerId", value="70023")

    response = refused(sender_client, dlg_bot, recipient=customer.pk, recipient_value="70021")

    assert field_errors(response, "recipient_value") == [
        "Choose a recipient from the directory or type an id, not both."
    ]
    assert sandbox.requests() == []


def test_javascript_image_url_is_refused(sender_client, dlg_bot, sandbox):
    buttons = [{"title": "Go", "payload": "go", "image_url": "javascript:alert(1)"}]

    response = refused(sender_client, dlg_bot, message_type="quick_replies", buttons=buttons)

    assert field_errors(response, "0.image_url") == [
        "Enter an http:// or https:// address for the icon."
    ]
    assert sandbox.requests() == []


def document(name: str, content: bytes, **fields):
    return {"message_type": "document", "file": SimpleUploadedFile(name, content), **fields}


def test_file_over_five_megabytes_is_refused(sender_client, dlg_bot, sandbox):
    response = refused(sender_client, dlg_bot, **document("big.bin", b"\0" * (5 * 1024 * 1024 + 1)))

    assert field_errors(response, "file") == [
        "The file is 5,242,881 bytes; DLG accepts files up to 5,242,880 bytes (5 MB)."
    ]
    assert sandbox.requests() == []


def test_non_image_sent_as_photo_is_refused(sender_client, dlg_bot, sandbox):
    response = refused(
        sender_client, dlg_bot, **document("scan.pdf", b"%PDF-1.7 text", document_kind="photo")
    )

    assert "not an image" in " ".join(field_errors(response, "file"))
    assert sandbox.requests() == []


def test_truncated_jpeg_is_refused(sender_client, dlg_bot, sandbox):
    whole = jpeg()

    response = refused(
        sender_client,
        dlg_bot,
        **document("cut.jpg", whole[: len(whole) // 2], document_kind="photo"),
    )

    assert "damaged or incomplete" in " ".join(field_errors(response, "file"))
    assert sandbox.requests() == []


def test_decompression_bomb_is_refused(sender_client, dlg_bot, sandbox):
    response = refused(
        sender_client, dlg_bot, **document("bomb.png", bomb_png(), document_kind="photo")
    )

    assert "pixels" in " ".join(field_errors(response, "file"))
    assert sandbox.requests() == []


def test_missing_template_variable_is_refused_at_the_field(sender_client, dlg_bot, sandbox):
    Recipient.objects.create(
        name="Ayşe", kind="appCustomerId", value="70023", attributes={"first_name": "Ayşe"}
    )

    response = refused(sender_client, dlg_bot, text="Dear {{ first_name }}, {{ balance }} TL")

    assert field_errors(response, "text") == ["The recipient has no value for “balance”."]
    assert sandbox.requests() == []


def test_placeholders_are_filled_from_the_recipients_attributes(sender_client, dlg_bot, sandbox):
    customer = Recipient.objects.create(
        name="Ayşe", kind="appCustomerId", value="70023", attributes={"first_name": "Ayşe"}
    )

    sender_client.post(
        COMPOSE,
        post_data(dlg_bot, recipient=customer.pk, recipient_value="", text="Hi {{first_name}}"),
    )

    assert sandbox.messages()[0]["body"]["message"]["text"] == "Hi Ayşe"
    assert OutboundMessage.objects.get().recipient == customer


def test_photo_is_sent_with_its_rotated_size(sender_client, dlg_bot, sandbox):
    sender_client.post(
        COMPOSE,
        post_data(
            dlg_bot,
            **document("portrait.jpg", jpeg(640, 480, orientation=6), document_kind="photo"),
        ),
    )

    document_json = sandbox.messages()[0]["body"]["message"]["document"]
    assert document_json["photo"] == {"width": 480, "height": 640}
    assert document_json["mimeType"] == "jpg"
    assert OutboundMessage.objects.get().file.size == len(jpeg(640, 480, orientation=6))


def test_trigger_with_json_data_sends_it_as_a_string(sender_client, dlg_bot, sandbox):
    sender_client.post(
        COMPOSE,
        post_data(
            dlg_bot,
            message_type="trigger",
            text="Tap to approve",
            command="ApproveTransaction",
            trigger_data='{"custNo": 2337368}',
        ),
    )

    assert sandbox.messages()[0]["body"]["message"]["trigger"] == {
        "command": "ApproveTransaction",
        "data": '{"custNo": 2337368}',
    }


def test_certainly_bot_sends_certainly_text(sender_client, certainly_bot, sandbox):
    sender_client.post(
        COMPOSE,
        post_data(
            certainly_bot,
            message_type="certainly_text",
            recipient_kind="user_id",
            recipient_value="c-1001",
            text="An agent will join",
        ),
    )

    assert sandbox.messages()[0]["body"] == {
        "text_message": "An agent will join",
        "user_id": "c-1001",
    }


def test_preview_shows_the_exact_json_without_the_token(sender_client, dlg_bot, sandbox):
    data = post_data(
        dlg_bot,
        message_type="quick_replies",
        text="Continue?",
        buttons=[{"title": "Yes", "payload": "yes"}],
    )

    response = sender_client.post(reverse("messaging:compose-preview"), data)

    page = response.content.decode()
    assert "&quot;quickRepliesV2&quot;" in page
    assert data["message_id"] in page
    assert "sendmessage/&lt;BOT-TOKEN&gt;" in page
    assert dlg_bot.access_token not in page
    assert sandbox.requests() == []


def test_upload_reports_the_photo_size_before_sending(sender_client, dlg_bot, sandbox):
    response = sender_client.post(
        reverse("messaging:compose-upload"),
        {
            **post_data(dlg_bot, message_type="document"),
            "file": SimpleUploadedFile("p.jpg", jpeg(640, 480, orientation=6)),
        },
    )

    page = response.content.decode()
    assert '<span data-testid="photo-size">480 × 640</span>' in page
    assert sandbox.requests() == []


def test_template_prefills_the_form(sender_client, dlg_bot):
    template = MessageTemplate.objects.create(
        name="Appointment",
        message_type="quick_replies",
        content={"text": "Tomorrow at 10?", "buttons": [{"title": "Yes", "payload": "y"}]},
    )

    response = sender_client.get(COMPOSE, {"template": template.pk})

    form = response.context["form"]
    assert form.chosen_type == "quick_replies"
    assert "Tomorrow at 10?" in response.content.decode()
    assert 'value="Yes"' in response.content.decode()


def test_save_as_template_keeps_placeholders(client, admin_user, dlg_bot):
    client.force_login(admin_user)
    data = post_data(dlg_bot, text="Dear {{ first_name }}", template_name="Greeting")

    response = client.post(reverse("messaging:compose-save-template"), data)

    assert "Saved as “Greeting”" in response.content.decode()
    assert MessageTemplate.objects.get(name="Greeting").content == {"text": "Dear {{ first_name }}"}


def test_auditor_gets_no_compose_page(client, carol):
    client.force_login(carol)

    assert client.get(COMPOSE).status_code == 403
    assert client.post(reverse("messaging:compose-preview"), {}).status_code == 403


def test_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get(COMPOSE)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_htmx_posts_without_the_csrf_token_are_refused(dlg_bot, alice):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)

    response = strict.post(
        reverse("messaging:compose-preview"), post_data(dlg_bot), HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 403
