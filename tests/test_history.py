"""The sent-message history: finding messages, reading one, its file, and the CSV export."""

from __future__ import annotations

import contextlib
import csv
import datetime
import html
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from messaging import export, files, services
from messaging.choices import Status
from messaging.models import Bot, MessageTemplate, OutboundMessage
from messaging.providers.specs import Address, Document, Text
from tests.roles import auditor, client_for, make_user, sender

__all__ = ["auditor", "sender"]  # fixtures used by name below

pytestmark = pytest.mark.django_db

HISTORY = reverse("messaging:history")
EXPORT = reverse("messaging:history-export")
DOC = Path(__file__).resolve().parent.parent / "docs" / "history-export.md"
ROW_LINK = re.compile(r'href="/admin/console/history/(dlgc-[0-9a-f]{32})/"')


def message(bot: Bot, **fields: Any) -> OutboundMessage:
    """An unsaved, valid history row: an accepted text to customer 70023 unless told."""
    text = fields.pop("text", "Hello")
    values: dict[str, Any] = {
        "bot": bot,
        "recipient_kind": "user_id" if bot.provider == "certainly" else "appCustomerId",
        "recipient_value": "70023",
        "message_type": "certainly_text" if bot.provider == "certainly" else "text",
        "summary": text,
        "request_body": {"message": {"text": text}},
        "status": Status.ACCEPTED,
        "http_status": 200,
        "attempts": 1,
        **fields,
    }
    return OutboundMessage(**values)


@contextlib.contextmanager
def clock(when: datetime.datetime) -> Iterator[None]:
    """Rows created inside are recorded at ``when``."""
    with mock.patch("django.utils.timezone.now", return_value=when):
        yield


def recorded(*rows: OutboundMessage, when: datetime.datetime | None = None) -> list[str]:
    """Store the rows (at ``when``, if given) and return their message ids."""
    with clock(when) if when else contextlib.nullcontext():
        OutboundMessage.objects.bulk_create(rows)
    return [row.message_id for row in rows]


def listed(client: Any, **params: Any) -> list[str]:
    """The message ids on the history page for these filters, top to bottom."""
    response = client.get(HISTORY, params)
    assert response.status_code == 200
    return ROW_LINK.findall(response.content.decode())


def exported(client: Any, **params: Any) -> list[list[str]]:
    response = client.get(EXPORT, params)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def auditor_client(auditor: Any) -> Any:
    return client_for(auditor)


# Filters and search.


def test_bot_and_provider_filters(auditor_client, dlg_bot, certainly_bot) -> None:
    [on_dlg] = recorded(message(dlg_bot))
    [on_certainly] = recorded(message(certainly_bot))

    assert listed(auditor_client, bot=dlg_bot.pk) == [on_dlg]
    assert listed(auditor_client, bot=certainly_bot.pk) == [on_certainly]
    assert listed(auditor_client, provider="dlg") == [on_dlg]
    assert listed(auditor_client, provider="certainly") == [on_certainly]


def test_message_type_and_status_filters(auditor_client, dlg_bot) -> None:
    [text] = recorded(message(dlg_bot))
    [trigger] = recorded(message(dlg_bot, message_type="trigger"))
    [failed] = recorded(
        message(dlg_bot, status=Status.FAILED, http_status=404, error_code="recipient_not_found")
    )

    assert listed(auditor_client, message_type="trigger") == [trigger]
    assert set(listed(auditor_client, message_type="text")) == {text, failed}
    assert listed(auditor_client, status="failed") == [failed]
    assert set(listed(auditor_client, status="accepted")) == {text, trigger}
    assert listed(auditor_client, message_type="text", status="failed") == [failed]


def test_sender_filter(auditor_client, dlg_bot, sender) -> None:
    other = make_user("sender", username="erin")
    [mine] = recorded(message(dlg_bot, sender=sender))
    [theirs] = recorded(message(dlg_bot, sender=other))

    assert listed(auditor_client, sender=sender.pk) == [mine]
    assert listed(auditor_client, sender=other.pk) == [theirs]


def test_date_range_includes_both_whole_days_in_the_console_time_zone(
    auditor_client, dlg_bot, settings
) -> None:
    settings.TIME_ZONE = "Europe/Istanbul"
    zone = timezone.get_current_timezone()

    def local(*parts: int) -> datetime.datetime:
        return datetime.datetime(*parts, tzinfo=zone)

    [before] = recorded(message(dlg_bot), when=local(2026, 3, 1, 23, 59, 59))
    [first] = recorded(message(dlg_bot), when=local(2026, 3, 2, 0, 0, 0))
    [last] = recorded(message(dlg_bot), when=local(2026, 3, 3, 23, 59, 59))
    [after] = recorded(message(dlg_bot), when=local(2026, 3, 4, 0, 0, 0))

    assert listed(auditor_client, since="2026-03-02", until="2026-03-03") == [last, first]
    assert listed(auditor_client, since="2026-03-02", until="2026-03-02") == [first]
    assert listed(auditor_client, since="2026-03-04") == [after]
    assert listed(auditor_client, until="2026-03-01") == [before]


def test_an_end_before_the_start_is_explained(auditor_client, dlg_bot) -> None:
    recorded(message(dlg_bot))

    page = auditor_client.get(HISTORY, {"since": "2026-03-03", "until": "2026-03-02"})

    assert "The end date is before the start date." in page.content.decode()


def test_search_finds_a_message_id_or_a_recipient_id_exactly(auditor_client, dlg_bot) -> None:
    [first, second] = recorded(message(dlg_bot), message(dlg_bot))
    [other_customer] = recorded(message(dlg_bot, recipient_value="700231"))

    assert listed(auditor_client, q=first) == [first]
    assert listed(auditor_client, q=first[:-1]) == []
    assert set(listed(auditor_client, q="70023")) == {first, second}
    assert listed(auditor_client, q="700231") == [other_customer]
    assert listed(auditor_client, q="7002") == []


def test_text_contains_matches_the_message_text(auditor_client, dlg_bot) -> None:
    [card] = recorded(message(dlg_bot, text="Your CARD is ready for pick-up"))
    recorded(message(dlg_bot, text="Your loan was approved"))

    assert listed(auditor_client, text="card is") == [card]
    assert listed(auditor_client, text="pick-up") == [card]
    assert listed(auditor_client, text="mortgage") == []


def test_newest_first(auditor_client, dlg_bot) -> None:
    start = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
    ids = [
        recorded(message(dlg_bot), when=start + datetime.timedelta(minutes=m))[0]
        for m in (5, 0, 10)
    ]

    assert listed(auditor_client) == [ids[2], ids[0], ids[1]]


# Pagination.


@pytest.fixture
def hundred_twenty(dlg_bot: Bot) -> list[str]:
    return recorded(*(message(dlg_bot, text=f"Bulk {n}") for n in range(120)))


def test_pages_hold_fifty_rows_and_link_to_older_ones(auditor_client, hundred_twenty) -> None:
    first = auditor_client.get(HISTORY).content.decode()
    third = auditor_client.get(HISTORY, {"page": 3}).content.decode()

    assert len(ROW_LINK.findall(first)) == 50
    assert "Older ›" in first
    assert len(ROW_LINK.findall(third)) == 20
    assert "Older" not in third
    assert "‹ Newer" in third


def test_pages_together_list_every_row_once(auditor_client, hundred_twenty) -> None:
    seen = [id_ for page in (1, 2, 3) for id_ in listed(auditor_client, page=page)]

    assert sorted(seen) == sorted(hundred_twenty)


def test_a_page_is_read_without_counting_rows(auditor_client, hundred_twenty) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = auditor_client.get(HISTORY, {"page": 2, "status": "accepted"})

    assert response.status_code == 200
    statements = [query["sql"].upper() for query in queries.captured_queries]
    assert not [sql for sql in statements if "COUNT(" in sql]
    assert len(statements) <= 10  # no query per row


def test_the_older_link_keeps_the_filters(auditor_client, hundred_twenty) -> None:
    page = auditor_client.get(HISTORY, {"text": "Bulk"}).content.decode()

    assert "?text=Bulk&amp;page=2" in page


# Who sees what.


def test_a_sender_sees_only_their_own_messages(dlg_bot, sender) -> None:
    other = make_user("sender", username="erin")
    [mine] = recorded(message(dlg_bot, sender=sender))
    [theirs] = recorded(message(dlg_bot, sender=other))
    client = client_for(sender)

    assert listed(client) == [mine]
    assert listed(client, q=theirs) == []
    assert listed(client, sender=other.pk) == []
    assert client.get(reverse("messaging:history-detail", args=[theirs])).status_code == 404


# One message.


PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


@pytest.fixture
def sent_document(dlg_bot: Bot) -> OutboundMessage:
    template = MessageTemplate.objects.create(
        name="Monthly statement", message_type="text", content={"text": "Statement"}
    )
    return services.send(
        bot=dlg_bot,
        address=Address("appCustomerId", "70023"),
        message=Document("statement.pdf", PDF),
        sender=make_user("sender", username="sara.sender"),
        template=template,
        file=files.store(PDF),
    )


def test_detail_shows_the_redacted_request_and_the_answer(auditor_client, sent_document) -> None:
    import hashlib

    response = auditor_client.get(sent_document.get_absolute_url())
    page = html.unescape(response.content.decode())

    assert response.status_code == 200
    assert sent_document.status == Status.ACCEPTED
    assert f"<base64: {len(PDF)} bytes, sha256={hashlib.sha256(PDF).hexdigest()}>" in page
    assert sent_document.request_body["message"]["document"]["fileData"] in page
    assert sent_document.response_body
    assert sent_document.response_body in page
    assert sent_document.platform_message_id in page
    assert "sara.sender" in page
    assert "Monthly statement" in page
    assert "Download the file sent" in page


def test_the_file_download_is_exactly_the_bytes_sent(auditor_client, sent_document) -> None:
    response = auditor_client.get(
        reverse("messaging:history-file", args=[sent_document.message_id])
    )

    assert response.status_code == 200
    assert response.content == PDF


def test_the_file_download_keeps_its_name(auditor_client, sent_document) -> None:
    response = auditor_client.get(
        reverse("messaging:history-file", args=[sent_document.message_id])
    )

    assert response.get("Content-Disposition") == 'attachment; filename="statement.pdf"'


def test_a_message_without_a_file_has_no_download(auditor_client, dlg_bot, sender) -> None:
    record = services.send(
        bot=dlg_bot, address=Address("appCustomerId", "70023"), message=Text("hi"), sender=sender
    )

    response = auditor_client.get(reverse("messaging:history-file", args=[record.message_id]))

    assert response.status_code == 404


# The CSV export.


def test_export_header_is_the_documented_columns(auditor_client, dlg_bot) -> None:
    recorded(message(dlg_bot))

    rows = exported(auditor_client)

    assert rows[0] == [column[0] for column in export.COLUMNS]


def test_export_has_one_row_per_filtered_message(auditor_client, dlg_bot, certainly_bot) -> None:
    failed = recorded(*(message(dlg_bot, status=Status.FAILED, http_status=404) for _ in range(3)))
    recorded(message(dlg_bot), message(certainly_bot))

    rows = exported(auditor_client, status="failed")
    everything = exported(auditor_client)

    ids = [row[0] for row in rows[1:]]
    assert sorted(ids) == sorted(failed)
    assert len(everything) == 1 + 5
    assert {row[4] for row in everything[1:]} == {"dlg", "certainly"}


def test_export_values_match_the_row(auditor_client, dlg_bot, sender) -> None:
    when = datetime.datetime(2026, 3, 2, 9, 30, 15, tzinfo=datetime.UTC)
    [message_id] = recorded(
        message(dlg_bot, sender=sender, text="Card ready", platform_message_id="pm-1"), when=when
    )

    [header, row] = exported(auditor_client)
    values = dict(zip(header, row, strict=True))

    assert values["message_id"] == message_id
    assert values["created_at"] == "2026-03-02T09:30:15+00:00"
    assert values["bot"] == dlg_bot.name
    assert values["recipient_id"] == "70023"
    assert values["summary"] == "Card ready"
    assert values["status"] == "accepted"
    assert values["sender"] == "sender"
    assert values["platform_message_id"] == "pm-1"
    assert values["request_body"] == '{"message":{"text":"Card ready"}}'


def test_export_defuses_spreadsheet_formulas(auditor_client, dlg_bot) -> None:
    recorded(message(dlg_bot, text='=HYPERLINK("http://evil.example","Click")'))
    recorded(message(dlg_bot, text="+1 555 0100", recipient_value="70024"))

    rows = exported(auditor_client)

    summaries = {row[9] for row in rows[1:]}
    assert summaries == {'\'=HYPERLINK("http://evil.example","Click")', "'+1 555 0100"}


def test_export_is_streamed_as_a_csv_attachment(auditor_client, dlg_bot) -> None:
    recorded(message(dlg_bot))

    response = auditor_client.get(EXPORT)

    assert isinstance(response, StreamingHttpResponse)
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="sent-messages-')


def test_export_sees_what_the_list_sees(auditor_client, dlg_bot) -> None:
    recorded(*(message(dlg_bot, text=f"Row {n}") for n in range(3)))
    recorded(message(dlg_bot, text="Other"))

    ids = [row[0] for row in exported(auditor_client, text="Row")[1:]]

    assert ids == listed(auditor_client, text="Row")


def test_every_export_column_is_documented() -> None:
    doc = DOC.read_text(encoding="utf-8")

    missing = [name for name, _, _ in export.COLUMNS if f"`{name}`" not in doc]

    assert missing == []


def test_one_bad_filter_does_not_drop_the_others(auditor_client, dlg_bot) -> None:
    recorded(message(dlg_bot, status=Status.FAILED, http_status=404))
    recorded(message(dlg_bot))
    bad_range = {"status": "failed", "since": "2026-03-03", "until": "2026-03-02"}

    export = auditor_client.get(EXPORT, bad_range)

    assert export.status_code == 400
    assert "The end date is before the start date." in export.content.decode()
    assert listed(auditor_client, **bad_range) == []
