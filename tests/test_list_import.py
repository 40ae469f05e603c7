"""Recipient lists in the admin, and members imported from CSV: every row is checked and
reported before anything is saved, and the import is all or nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError
from django.test import Client
from django.urls import reverse

from messaging import list_import
from messaging.list_import import Action, ImportRefused, parse
from messaging.models import Recipient, RecipientList, RecipientListMember
from tests.roles import auditor, bot_admin, client_for, sender

__all__ = ["auditor", "bot_admin", "sender"]  # fixtures used by name below

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Any) -> None:
    """Checked files are stored until confirmed; keep them out of the project's var/ folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def customers(bot_admin: User) -> RecipientList:
    return RecipientList.objects.create(name="Customers", created_by=bot_admin)


def import_url(recipient_list: RecipientList) -> str:
    return reverse("admin:messaging_recipientlist_import", args=[recipient_list.pk])


def upload(client: Client, recipient_list: RecipientList, text: str, **kwargs: Any) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = kwargs.pop("data", text.encode())
    csv_file = SimpleUploadedFile("members.csv", data, content_type="text/csv")
    return client.post(import_url(recipient_list), {"csv_file": csv_file})


def token_of(page: str) -> str:
    match = re.search(r'name="token" value="([^"]+)"', page)
    assert match, "no confirmation form"
    return match.group(1)


def actions(page: str) -> dict[int, str]:
    """Row number → the action the report gives it."""
    return {
        int(number): action
        for number, action in re.findall(r'data-row="(\d+)" data-action="(\w+)"', page)
    }


def snapshot() -> list[Any]:
    """Every recipient and membership, as the database holds them now."""
    return [
        list(Recipient.objects.order_by("pk").values("kind", "value", "name", "attributes")),
        list(RecipientListMember.objects.order_by("pk").values("recipient_list", "recipient")),
    ]


# The whole flow, through the admin.


def test_valid_file_is_reported_unsaved_then_imported_in_full(
    bot_admin: User, customers: RecipientList
) -> None:
    renamed = Recipient.objects.create(
        kind="appCustomerId", value="70023", name="A. Yilmaz", attributes={"tier": "gold"}
    )
    member = Recipient.objects.create(kind="user_id", value="u-9", name="Deniz")
    RecipientListMember.objects.create(recipient_list=customers, recipient=member)
    outsider = Recipient.objects.create(kind="appStaffId", value="s-1", name="Ece")
    client = client_for(bot_admin)
    text = (
        "kind,id,name,first_name,city\n"
        "customer,70023,Ayşe Yılmaz,Ayşe,İzmir\n"  # exists: renamed, attributes merged
        "appCustomerId,70024,Burak Kaya,Burak,\n"  # new; empty city not set
        "CERTAINLY_USER,u-9,,,\n"  # in the list already, nothing changes
        "staff,s-1,,,\n"  # exists, unchanged, joins the list
    )
    before = snapshot()

    page = upload(client, customers, text).content.decode()

    assert snapshot() == before
    assert actions(page) == {
        2: Action.UPDATE,
        3: Action.CREATE,
        4: Action.ALREADY,
        5: Action.ADD,
    }
    assert "Update the existing recipient&#x27;s name and attributes and add to the list" in page
    assert 'data-count="rows">4<' in page
    assert 'data-count="error">0<' in page

    response = client.post(import_url(customers), {"token": token_of(page)}, follow=True)

    assert response.redirect_chain == [
        (reverse("admin:messaging_recipientlist_change", args=[customers.pk]), 302)
    ]
    assert (
        "Imported 4 rows. Recipients created: 1; updated: 1. "
        "Added to the list: 3; already in it: 1." in response.content.decode()
    )
    renamed.refresh_from_db()
    assert renamed.name == "Ayşe Yılmaz"
    assert renamed.attributes == {"tier": "gold", "first_name": "Ayşe", "city": "İzmir"}
    created = Recipient.objects.get(kind="appCustomerId", value="70024")
    assert (created.name, created.attributes) == ("Burak Kaya", {"first_name": "Burak"})
    assert set(customers.members.all()) == {renamed, created, member, outsider}
    outsider.refresh_from_db()
    assert outsider.name == "Ece"


def test_one_bad_row_among_good_ones_saves_nothing(
    bot_admin: User, customers: RecipientList
) -> None:
    text = (
        "kind,id,name\n"
        "customer,70023,Ayşe\n"
        "customer,700 24,Burak\n"  # row 3: an id with a space
        "customer,70025,Cem\n"
    )

    page = upload(client_for(bot_admin), customers, text).content.decode()

    assert actions(page) == {2: Action.CREATE, 3: Action.ERROR, 4: Action.CREATE}
    assert re.search(r'data-row="3".*?The id contains spaces\.', page, re.S)
    assert "The file has errors, so nothing can be imported." in page
    assert "Upload a corrected file" in page
    assert 'name="token"' not in page
    assert snapshot() == [[], []]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param("\ufeffkind;id;name;city\ncustomer;70023;Ayşe;İzmir\n".encode(), id="bom;"),
        pytest.param(b"kind;id;name;city\r\ncustomer;70023;Ay\xc5\x9fe;Izmir\r\n", id="crlf;"),
        pytest.param("\ufeffkind,id,name,city\ncustomer,70023,Ayşe,İzmir\n".encode(), id="bom,"),
    ],
)
def test_bom_and_semicolons_are_read(
    bot_admin: User, customers: RecipientList, data: bytes
) -> None:
    client = client_for(bot_admin)

    page = upload(client, customers, "", data=data).content.decode()
    client.post(import_url(customers), {"token": token_of(page)})

    recipient = customers.members.get()
    assert (recipient.kind, recipient.value, recipient.name) == ("appCustomerId", "70023", "Ayşe")
    assert set(recipient.attributes) == {"city"}


def test_duplicates_and_unknown_kinds_are_reported(
    bot_admin: User, customers: RecipientList
) -> None:
    text = "kind,id,name\ncustomer,70023,Ayşe\nfax,555,Cem\nappCustomerId,70023,Ayşe Y.\n"

    page = upload(client_for(bot_admin), customers, text).content.decode()

    assert actions(page) == {2: Action.CREATE, 3: Action.ERROR, 4: Action.ERROR}
    assert "Unknown kind “fax”" in page
    assert "The same kind and id as row 2 (a duplicate)." in page
    assert snapshot() == [[], []]


@pytest.mark.parametrize("role", ["auditor", "sender"])
def test_import_needs_the_change_permission(
    request: pytest.FixtureRequest, customers: RecipientList, role: str
) -> None:
    client = client_for(request.getfixturevalue(role))

    assert client.get(import_url(customers)).status_code == 403
    assert upload(client, customers, "kind,id,name\ncustomer,1,A\n").status_code == 403
    assert client.post(import_url(customers), {"token": "x"}).status_code == 403
    change_page = client.get(reverse("admin:messaging_recipientlist_change", args=[customers.pk]))
    assert change_page.status_code == 200  # viewing is allowed, importing is not offered
    assert "Import members from CSV" not in change_page.content.decode()
    assert snapshot() == [[], []]


def test_change_page_offers_the_import(bot_admin: User, customers: RecipientList) -> None:
    page = client_for(bot_admin).get(
        reverse("admin:messaging_recipientlist_change", args=[customers.pk])
    )

    assert f'href="{import_url(customers)}"' in page.content.decode()


def test_confirmation_for_another_list_or_a_forged_one_is_refused(
    bot_admin: User, customers: RecipientList
) -> None:
    client = client_for(bot_admin)
    other = RecipientList.objects.create(name="Staff")
    page = upload(client, customers, "kind,id,name\ncustomer,70023,Ayşe\n").content.decode()

    for target, token in [(other, token_of(page)), (customers, token_of(page) + "x")]:
        response = client.post(import_url(target), {"token": token})
        assert response.status_code == 400
        assert "This confirmation has expired" in response.content.decode()
    assert snapshot() == [[], []]


def test_a_failure_while_applying_rolls_everything_back(
    bot_admin: User, customers: RecipientList, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_for(bot_admin)
    page = upload(client, customers, "kind,id,name\ncustomer,1,A\ncustomer,2,B\n").content.decode()

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise DatabaseError("disk full")

    monkeypatch.setattr(RecipientListMember.objects, "bulk_create", refuse)
    response = client.post(import_url(customers), {"token": token_of(page)})

    assert response.status_code == 409
    assert "Nothing was imported: disk full" in response.content.decode()
    assert snapshot() == [[], []]


def test_rows_that_turn_bad_before_confirming_are_shown_again(
    bot_admin: User, customers: RecipientList
) -> None:
    client = client_for(bot_admin)
    page = upload(client, customers, "kind,id,name\ncustomer,1,A\n").content.decode()
    bot_admin.groups.clear()
    bot_admin.user_permissions.add(
        *bot_admin.user_permissions.model.objects.filter(
            codename__in=["change_recipientlist", "view_recipientlist"]
        )
    )
    client = client_for(User.objects.get(pk=bot_admin.pk))

    response = client.post(import_url(customers), {"token": token_of(page)})

    assert response.status_code == 409
    assert "You may not create recipients." in response.content.decode()
    assert snapshot() == [[], []]


def test_oversized_and_overlong_files_are_refused(
    bot_admin: User, customers: RecipientList, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_for(bot_admin)
    text = "kind,id,name\ncustomer,1,A\ncustomer,2,B\ncustomer,3,C\n"

    monkeypatch.setattr(list_import, "MAX_ROWS", 2)
    too_long = upload(client, customers, text).content.decode()
    monkeypatch.setattr(list_import, "MAX_BYTES", 20)
    too_big = upload(client, customers, text).content.decode()

    assert "The file has more than 2 rows; split it." in too_long
    assert "The file is larger than" in too_big
    assert 'name="token"' not in too_long + too_big


# The member counts on the list page.


def test_list_page_counts_members_in_one_query(
    bot_admin: User, django_assert_max_num_queries: Any
) -> None:
    recipients = [
        Recipient.objects.create(kind="appCustomerId", value=str(n), name=f"R{n}") for n in range(6)
    ]
    for size in range(6):
        members = RecipientList.objects.create(name=f"List {size}")
        members.members.add(*recipients[:size])
    client = client_for(bot_admin)
    client.get(reverse("admin:messaging_recipientlist_changelist"))  # warm the session

    # Session, user, permissions and the count: the same whatever the number of lists.
    with django_assert_max_num_queries(8):
        page = client.get(reverse("admin:messaging_recipientlist_changelist")).content.decode()

    for size in range(6):
        assert re.search(rf"List {size}</a></th><td class=\"field-member_count\">{size}<", page)


def test_new_list_records_who_made_it(bot_admin: User) -> None:
    client_for(bot_admin).post(
        reverse("admin:messaging_recipientlist_add"),
        {
            "name": "VIPs",
            "description": "",
            "recipientlistmember_set-TOTAL_FORMS": "0",
            "recipientlistmember_set-INITIAL_FORMS": "0",
        },
    )

    assert RecipientList.objects.get().created_by == bot_admin


# The file's rules, without the admin.


def test_kinds_take_aliases_in_any_case() -> None:
    text = "KIND,Id,Name\nCustomer,1,\nSTAFF,2,\ndlg_user,3,\nCertainly_User,4,\nappstaffid,5,\n"

    rows = parse(text.encode()).rows

    assert [row.kind for row in rows] == [
        "appCustomerId",
        "appStaffId",
        "id",
        "user_id",
        "appStaffId",
    ]
    assert not any(row.errors for row in rows)


@pytest.mark.parametrize(
    ("line", "error"),
    [
        (",1,A", "The kind is missing."),
        ("customer,,A", "The id is missing."),
        ("customer,a\tb,A", "The id contains spaces."),
        ("customer," + "9" * 201 + ",A", "The id is 201 characters long; at most 200."),
        ("customer,1," + "n" * 201, "The name is 201 characters long; at most 200."),
        ("customer,1,A,extra", "The row has 4 cells; the header has 3."),
    ],
)
def test_row_errors(line: str, error: str) -> None:
    (row,) = parse(f"kind,id,name\n{line}\n".encode()).rows

    assert row.errors == [error]


def test_bad_attribute_headers_are_reported() -> None:
    parsed = parse(b"kind,id,name,first name,2fa,city,city\ncustomer,1,A,,,,\n")

    assert parsed.has_errors
    assert parsed.header_errors == [
        "Column 4: “first name” cannot be an attribute name "
        "(letters, digits and underscores, not starting with a digit).",
        "Column 5: “2fa” cannot be an attribute name "
        "(letters, digits and underscores, not starting with a digit).",
        "Column 7: the attribute “city” appears twice.",
    ]


@pytest.mark.parametrize(
    ("data", "refusal"),
    [
        (b"", "The file is empty."),
        (b"kind,id,name\n", "The file has a header but no rows."),
        (b"id,kind,name\n1,customer,A\n", "The first row must be the header"),
        ("kind,id,name\ncustomer,1,Ayşe\n".encode("cp1254"), "The file is not UTF-8 text"),
    ],
)
def test_unreadable_files_are_refused(data: bytes, refusal: str) -> None:
    with pytest.raises(ImportRefused, match=re.escape(refusal)):
        parse(data)


def test_blank_lines_are_skipped_and_rows_keep_their_numbers() -> None:
    rows = parse(b"kind,id,name\n\ncustomer,1,A\n,,\ncustomer,2,B\n").rows

    assert [row.number for row in rows] == [3, 5]


def test_a_big_list_links_to_its_members_instead_of_an_inline(
    bot_admin: User, customers: RecipientList, monkeypatch: pytest.MonkeyPatch
) -> None:
    from messaging import admin_lists  # registered by the list_admin fixture already

    monkeypatch.setattr(admin_lists, "MAX_INLINE_MEMBERS", 1)
    customers.members.add(
        Recipient.objects.create(kind="appCustomerId", value="1", name="In one"),
        Recipient.objects.create(kind="appCustomerId", value="2", name="In two"),
    )
    Recipient.objects.create(kind="appCustomerId", value="3", name="Not in")
    client = client_for(bot_admin)

    page = client.get(
        reverse("admin:messaging_recipientlist_change", args=[customers.pk])
    ).content.decode()
    link = re.search(r'href="([^"]+)" data-testid="members-link"', page)
    assert link
    members = client.get(link.group(1).replace("&amp;", "&")).content.decode()

    assert "recipientlistmember_set-TOTAL_FORMS" not in page
    assert "In one" in members
    assert "In two" in members
    assert "Not in" not in members


def test_a_long_report_shows_the_errors_and_a_sample(
    bot_admin: User, customers: RecipientList, monkeypatch: pytest.MonkeyPatch
) -> None:
    from messaging import admin_lists  # registered by the list_admin fixture already

    monkeypatch.setattr(admin_lists, "MAX_REPORT_ROWS", 2)
    text = "kind,id,name\n" + "".join(f"customer,{n},R{n}\n" for n in range(5)) + "fax,9,Z\n"

    page = upload(client_for(bot_admin), customers, text).content.decode()

    assert actions(page) == {2: Action.CREATE, 3: Action.CREATE, 7: Action.ERROR}
    assert "… and 3 more rows, not shown" in page
    assert 'data-count="rows">6<' in page
