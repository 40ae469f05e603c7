"""Who may open what: every console page and every admin page of the app, for every role.

The table below is the specification. Each cell is what that role gets from that request:

* ``200`` the page; ``403`` refused; ``404`` not found (nothing says the message exists);
  ``405`` the page exists but not for this method;
* ``302`` a redirect to the row's ``goes_to`` address (a saved form, the history...);
* ``login`` a redirect to the admin's login page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib import admin
from django.urls import reverse

from messaging import files
from messaging.models import (
    Bot,
    Campaign,
    MessageTemplate,
    OutboundMessage,
    Recipient,
    RecipientList,
    SecretChange,
)
from tests.compose_helpers import jpeg, post_data
from tests.roles import ROLES, client_for, make_user

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")
C = "/admin/console"
A = "/admin/messaging"


@dataclass(frozen=True)
class Row:
    """One request, and what each role in :data:`ROLES` gets from it, in that order."""

    label: str
    method: str
    url: str
    outcomes: tuple[str, str, str, str, str, str]
    data: str = ""
    goes_to: str = ""


#      sender   bot_admin auditor superuser outsider anonymous
SENDS = ("200", "403", "403", "200", "403", "login")
SENDS_POST_ONLY = ("405", "403", "403", "405", "403", "login")
SENDS_GET_ONLY = SENDS_POST_ONLY
SENT_OK = ("302", "403", "403", "302", "403", "login")
READS_HISTORY = ("200", "200", "200", "200", "403", "login")
READS_OTHERS_HISTORY = ("404", "200", "200", "200", "403", "login")
HISTORY_GET_ONLY = ("405", "405", "405", "405", "403", "login")
AUDITS = ("403", "403", "200", "200", "403", "login")
AUDIT_GET_ONLY = ("403", "403", "405", "405", "403", "login")
MANAGES = ("403", "200", "403", "200", "403", "login")
MANAGES_POST = ("403", "302", "403", "302", "403", "login")
MANAGES_VIEWED_BY_SENDERS = ("200", "200", "403", "200", "403", "login")
HISTORY_REDIRECT = ("403", "302", "302", "302", "403", "login")
NOBODY = ("403", "403", "403", "403", "403", "login")
SEES_CAMPAIGNS = ("200", "200", "200", "200", "403", "login")
RUNS_CAMPAIGNS = ("302", "403", "403", "302", "403", "login")
RUNS_CAMPAIGNS_POST_ONLY = ("405", "403", "403", "405", "403", "login")
CREATES_CAMPAIGNS = ("200", "403", "403", "200", "403", "login")

MATRIX: tuple[Row, ...] = (
    # The console's own pages (messaging/urls.py).
    Row("compose", "GET", f"{C}/compose/", SENDS),
    Row("compose-send", "POST", f"{C}/compose/", SENT_OK, data="send", goes_to=f"{C}/sent/"),
    Row("compose-refresh", "POST", f"{C}/compose/refresh/", SENDS, data="compose"),
    Row("compose-refresh", "GET", f"{C}/compose/refresh/", SENDS_POST_ONLY),
    Row("compose-preview", "POST", f"{C}/compose/preview/", SENDS, data="compose"),
    Row("compose-preview", "GET", f"{C}/compose/preview/", SENDS_POST_ONLY),
    Row("compose-upload", "POST", f"{C}/compose/upload/", SENDS, data="compose"),
    Row("compose-upload", "GET", f"{C}/compose/upload/", SENDS_POST_ONLY),
    Row("compose-recipients", "GET", f"{C}/compose/recipients/?bot={{bot}}&q=Ay", SENDS),
    Row("compose-recipients", "POST", f"{C}/compose/recipients/", SENDS_GET_ONLY),
    Row("compose-pick", "GET", f"{C}/compose/pick/?bot={{bot}}&recipient={{recipient}}", SENDS),
    Row("compose-pick", "POST", f"{C}/compose/pick/", SENDS_GET_ONLY),
    # Saving a template needs the add-template right too, which no sender has.
    Row(
        "compose-save-template",
        "POST",
        f"{C}/compose/save-template/",
        ("403", "403", "403", "200", "403", "login"),
        data="save_template",
    ),
    Row("compose-save-template", "GET", f"{C}/compose/save-template/", SENDS_POST_ONLY),
    Row("file-thumbnail", "GET", f"{C}/files/{{sha256}}/thumbnail/", SENDS),
    Row("file-thumbnail", "POST", f"{C}/files/{{sha256}}/thumbnail/", SENDS_GET_ONLY),
    Row("sent-own", "GET", f"{C}/sent/{{own}}/", SENDS),
    Row(
        "sent-others", "GET", f"{C}/sent/{{others}}/", ("403", "403", "403", "200", "403", "login")
    ),
    Row("history", "GET", f"{C}/history/", READS_HISTORY),
    Row("history", "POST", f"{C}/history/", HISTORY_GET_ONLY),
    Row("history-export", "GET", f"{C}/history/export.csv", AUDITS),
    Row("history-export", "POST", f"{C}/history/export.csv", AUDIT_GET_ONLY),
    Row("history-detail-own", "GET", f"{C}/history/{{own}}/", READS_HISTORY),
    Row("history-detail-others", "GET", f"{C}/history/{{others}}/", READS_OTHERS_HISTORY),
    Row(
        "history-detail-unknown",
        "GET",
        f"{C}/history/dlgc-{'0' * 32}/",
        ("404", "404", "404", "404", "403", "login"),
    ),
    Row("history-detail-own", "POST", f"{C}/history/{{own}}/", HISTORY_GET_ONLY),
    Row("history-file-own", "GET", f"{C}/history/{{own}}/file/", READS_HISTORY),
    Row("history-file-others", "GET", f"{C}/history/{{others}}/file/", READS_OTHERS_HISTORY),
    Row("history-file-own", "POST", f"{C}/history/{{own}}/file/", HISTORY_GET_ONLY),
    Row("replies", "GET", f"{C}/replies/", READS_HISTORY),
    Row("replies", "POST", f"{C}/replies/", HISTORY_GET_ONLY),
    Row("campaign", "GET", f"{C}/campaigns/{{campaign}}/", SEES_CAMPAIGNS),
    Row("campaign", "POST", f"{C}/campaigns/{{campaign}}/", HISTORY_GET_ONLY),
    Row(
        "campaign-action",
        "POST",
        f"{C}/campaigns/{{campaign}}/pause/",
        RUNS_CAMPAIGNS,
        goes_to=f"{C}/campaigns/{{campaign}}/",
    ),
    Row("campaign-action", "GET", f"{C}/campaigns/{{campaign}}/pause/", RUNS_CAMPAIGNS_POST_ONLY),
    Row("change-log", "GET", f"{C}/change-log/", AUDITS),
    Row("change-log", "POST", f"{C}/change-log/", AUDIT_GET_ONLY),
    # The admin.
    Row("admin-index", "GET", "/admin/", ("200", "200", "200", "200", "200", "login")),
    Row("bot-changelist", "GET", f"{A}/bot/", MANAGES),
    Row("bot-add", "GET", f"{A}/bot/add/", MANAGES),
    Row("bot-add", "POST", f"{A}/bot/add/", MANAGES_POST, data="bot", goes_to=f"{A}/bot/"),
    Row("bot-change", "GET", f"{A}/bot/{{spare_bot}}/change/", MANAGES),
    Row(
        "bot-change",
        "POST",
        f"{A}/bot/{{spare_bot}}/change/",
        MANAGES_POST,
        data="bot",
        goes_to=f"{A}/bot/",
    ),
    Row("bot-delete", "GET", f"{A}/bot/{{spare_bot}}/delete/", MANAGES),
    Row(
        "bot-delete",
        "POST",
        f"{A}/bot/{{spare_bot}}/delete/",
        MANAGES_POST,
        data="confirm",
        goes_to=f"{A}/bot/",
    ),
    Row("recipient-changelist", "GET", f"{A}/recipient/", MANAGES_VIEWED_BY_SENDERS),
    Row("recipient-add", "GET", f"{A}/recipient/add/", MANAGES),
    Row(
        "recipient-add",
        "POST",
        f"{A}/recipient/add/",
        MANAGES_POST,
        data="recipient",
        goes_to=f"{A}/recipient/",
    ),
    Row(
        "recipient-change",
        "GET",
        f"{A}/recipient/{{recipient}}/change/",
        MANAGES_VIEWED_BY_SENDERS,
    ),
    Row(
        "recipient-change",
        "POST",
        f"{A}/recipient/{{recipient}}/change/",
        MANAGES_POST,
        data="recipient",
        goes_to=f"{A}/recipient/",
    ),
    Row("recipient-delete", "GET", f"{A}/recipient/{{recipient}}/delete/", MANAGES),
    Row(
        "recipient-delete",
        "POST",
        f"{A}/recipient/{{recipient}}/delete/",
        MANAGES_POST,
        data="confirm",
        goes_to=f"{A}/recipient/",
    ),
    Row("template-changelist", "GET", f"{A}/messagetemplate/", MANAGES_VIEWED_BY_SENDERS),
    Row("template-add", "GET", f"{A}/messagetemplate/add/", MANAGES),
    Row(
        "template-add",
        "POST",
        f"{A}/messagetemplate/add/",
        MANAGES_POST,
        data="template",
        goes_to=f"{A}/messagetemplate/",
    ),
    Row(
        "template-change",
        "GET",
        f"{A}/messagetemplate/{{template}}/change/",
        MANAGES_VIEWED_BY_SENDERS,
    ),
    Row(
        "template-change",
        "POST",
        f"{A}/messagetemplate/{{template}}/change/",
        MANAGES_POST,
        data="template",
        goes_to=f"{A}/messagetemplate/",
    ),
    Row("template-delete", "GET", f"{A}/messagetemplate/{{template}}/delete/", MANAGES),
    Row(
        "template-delete",
        "POST",
        f"{A}/messagetemplate/{{template}}/delete/",
        MANAGES_POST,
        data="confirm",
        goes_to=f"{A}/messagetemplate/",
    ),
    # The history in the admin leads to the history pages; nobody adds, edits or deletes it.
    Row(
        "message-changelist",
        "GET",
        f"{A}/outboundmessage/",
        HISTORY_REDIRECT,
        goes_to=f"{C}/history/",
    ),
    Row("message-add", "GET", f"{A}/outboundmessage/add/", NOBODY),
    Row("message-add", "POST", f"{A}/outboundmessage/add/", NOBODY, data="message"),
    Row(
        "message-change",
        "GET",
        f"{A}/outboundmessage/{{own_pk}}/change/",
        HISTORY_REDIRECT,
        goes_to=f"{C}/history/{{own}}/",
    ),
    Row(
        "message-change",
        "POST",
        f"{A}/outboundmessage/{{own_pk}}/change/",
        HISTORY_REDIRECT,
        data="message",
        goes_to=f"{C}/history/{{own}}/",
    ),
    Row("message-delete", "GET", f"{A}/outboundmessage/{{own_pk}}/delete/", NOBODY),
    Row(
        "message-delete", "POST", f"{A}/outboundmessage/{{own_pk}}/delete/", NOBODY, data="confirm"
    ),
    # Campaigns are created as drafts in the admin and steered from their own page.
    Row("campaign-changelist", "GET", f"{A}/campaign/", SEES_CAMPAIGNS),
    Row("campaign-add", "GET", f"{A}/campaign/add/", CREATES_CAMPAIGNS),
    Row("campaign-change", "GET", f"{A}/campaign/{{campaign}}/change/", SEES_CAMPAIGNS),
    Row(
        "campaign-delete",
        "GET",
        f"{A}/campaign/{{campaign}}/delete/",
        ("403", "403", "403", "200", "403", "login"),
    ),
    # Recipient lists: bot admins keep them; senders and auditors read them.
    Row("recipientlist-changelist", "GET", f"{A}/recipientlist/", SEES_CAMPAIGNS),
    Row("recipientlist-add", "GET", f"{A}/recipientlist/add/", MANAGES),
    Row("recipientlist-change", "GET", f"{A}/recipientlist/{{list}}/change/", SEES_CAMPAIGNS),
    Row("recipientlist-delete", "GET", f"{A}/recipientlist/{{list}}/delete/", MANAGES),
    Row("recipientlist-import", "GET", f"{A}/recipientlist/{{list}}/import/", MANAGES),
    # Secret changes are read on the change log, not in the admin.
    Row(
        "secretchange-changelist",
        "GET",
        f"{A}/secretchange/",
        ("404", "404", "404", "404", "404", "login"),
    ),
)


@dataclass
class World:
    """The objects the URLs in the table point at."""

    owner: Any
    bot: Bot
    spare_bot: Bot
    recipient: Recipient
    template: MessageTemplate
    own: OutboundMessage
    others: OutboundMessage
    sha256: str
    campaign: Campaign
    names: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.names = {
            "bot": str(self.bot.pk),
            "spare_bot": str(self.spare_bot.pk),
            "recipient": str(self.recipient.pk),
            "template": str(self.template.pk),
            "own": self.own.message_id,
            "own_pk": str(self.own.pk),
            "others": self.others.message_id,
            "sha256": self.sha256,
            "campaign": str(self.campaign.pk),
            "list": str(self.campaign.recipient_list_id),
        }

    def url(self, template: str) -> str:
        return template.format(**self.names)

    def data(self, kind: str) -> dict[str, Any]:
        forms: dict[str, dict[str, Any]] = {
            "": {},
            "send": post_data(self.bot, text="Matrix"),
            "compose": post_data(self.bot, text="Matrix"),
            "save_template": post_data(self.bot, template_name="Saved from compose"),
            "bot": {
                "name": "matrix bot",
                "provider": "dlg",
                "base_url": "https://api.dlg.example",
                "access_token": "matrix-token-0001",
                "is_active": "on",
                "rate_limit": "5",
                "webhook_id": "",
                "webhook_secret": "",
            },
            "recipient": {
                "name": "Matrix person",
                "kind": "appCustomerId",
                "value": "55555",
                "attributes": "{}",
            },
            "template": {
                "name": "Matrix template",
                "message_type": "text",
                "content": '{"text": "Hello"}',
            },
            "confirm": {"post": "yes"},
            "message": {"summary": "rewritten", "status": "read"},
        }
        return forms[kind]


def stored_message(bot: Bot, sender: Any, sha256: str, summary: str) -> OutboundMessage:
    stored = files.find(sha256)
    return OutboundMessage.objects.create(
        bot=bot,
        recipient_kind="appCustomerId",
        recipient_value="70023",
        message_type="document",
        file=stored,
        summary=summary,
        request_body={"message": {"document": {"fileName": summary}}},
        status="accepted",
        sender=sender,
    )


@pytest.fixture
def world(dlg_bot: Bot) -> World:
    owner = make_user("sender")
    someone = make_user("sender", username="erin")
    image = files.store(jpeg(64, 48))
    template = MessageTemplate.objects.create(
        name="Greeting", message_type="text", content={"text": "Hi"}
    )
    return World(
        owner=owner,
        bot=dlg_bot,
        spare_bot=Bot.objects.create(
            name="spare", provider="dlg", base_url="https://api.dlg.example", access_token="t"
        ),
        recipient=Recipient.objects.create(name="Ayşe", kind="appCustomerId", value="70023"),
        template=template,
        own=stored_message(dlg_bot, owner, image.sha256, "own.jpg"),
        others=stored_message(dlg_bot, someone, image.sha256, "others.jpg"),
        sha256=image.sha256,
        campaign=Campaign.objects.create(
            name="Notice",
            bot=dlg_bot,
            template=MessageTemplate.objects.create(
                name="Notice", message_type="text", content={"text": "Notice"}
            ),
            recipient_list=RecipientList.objects.create(name="Everyone"),
        ),
    )


def cases() -> list[Any]:
    return [
        pytest.param(row, role, outcome, id=f"{row.label}-{row.method}-{role}")
        for row in MATRIX
        for role, outcome in zip(ROLES, row.outcomes, strict=True)
    ]


@pytest.mark.parametrize(("row", "role", "expected"), cases())
def test_permission_matrix(world: World, row: Row, role: str, expected: str) -> None:
    user = world.owner if role == "sender" else make_user(role)
    client = client_for(user)
    url = world.url(row.url)

    if row.method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, world.data(row.data))

    if expected == "login":
        assert response.status_code == 302
        assert response["Location"].startswith(f"{LOGIN}?next=")
    elif expected == "302":
        assert response.status_code == 302
        assert response["Location"].startswith(world.url(row.goes_to))
    else:
        assert response.status_code == int(expected)


def test_the_table_covers_every_console_route() -> None:
    from messaging.urls import urlpatterns

    names = {pattern.name for pattern in urlpatterns}
    covered = {row.label.removesuffix("-own").removesuffix("-others") for row in MATRIX}

    assert names - covered == set()


def test_the_table_covers_every_admin_model_of_the_app() -> None:
    registered = {
        model._meta.model_name
        for model in admin.site._registry
        if model._meta.app_label == "messaging"
    }
    labels = {row.label.split("-")[0] for row in MATRIX}
    model_labels = {
        "bot": "bot",
        "recipient": "recipient",
        "messagetemplate": "template",
        "outboundmessage": "message",
        "campaign": "campaign",
        "recipientlist": "recipientlist",
    }

    assert registered == set(model_labels)
    assert {model_labels[name] for name in registered} <= labels
    assert SecretChange not in admin.site._registry


COMPOSE_LINK = "Compose a message"


@pytest.mark.parametrize(
    ("role", "sees_link"),
    [
        ("sender", True),
        ("bot_admin", False),
        ("auditor", False),
        ("superuser", True),
        ("outsider", False),
    ],
)
def test_admin_index_offers_compose_only_to_those_who_may_send(role: str, sees_link: bool) -> None:
    client = client_for(make_user(role))

    page = client.get(reverse("admin:index")).content.decode()

    assert (COMPOSE_LINK in page) is sees_link
    assert (reverse("messaging:compose") in page) is sees_link


@pytest.mark.parametrize(
    ("role", "history_link", "change_log"),
    [
        ("sender", "Messages you sent", False),
        ("bot_admin", "Sent messages", False),
        ("auditor", "Sent messages", True),
        ("superuser", "Sent messages", True),
        ("outsider", None, False),
    ],
)
def test_admin_index_links_the_history_and_change_log_by_right(
    role: str, history_link: str | None, change_log: bool
) -> None:
    client = client_for(make_user(role))

    page = client.get(reverse("admin:index")).content.decode()

    assert (reverse("messaging:history") in page) is (history_link is not None)
    if history_link:
        assert f">{history_link}</a>" in page
    assert (reverse("messaging:change-log") in page) is change_log


def test_a_sender_sees_only_their_own_messages_in_the_history(world: World) -> None:
    client = client_for(world.owner)

    page = client.get(reverse("messaging:history")).content.decode()

    assert world.own.message_id in page
    assert world.others.message_id not in page
    assert "You see the messages you sent." in page


def test_refused_admin_writes_change_nothing(world: World) -> None:
    for role in ("sender", "auditor", "outsider"):
        client = client_for(world.owner if role == "sender" else make_user(role))
        client.post(world.url(f"{A}/bot/{{spare_bot}}/change/"), world.data("bot"))
        client.post(world.url(f"{A}/recipient/{{recipient}}/delete/"), {"post": "yes"})
        client.post(f"{A}/messagetemplate/add/", world.data("template"))

    world.spare_bot.refresh_from_db()
    assert world.spare_bot.name == "spare"
    assert Recipient.objects.filter(pk=world.recipient.pk).exists()
    assert not MessageTemplate.objects.filter(name="Matrix template").exists()


def test_an_auditor_sends_nothing(world: World, sandbox: Any) -> None:
    client = client_for(make_user("auditor"))

    response = client.post(reverse("messaging:compose"), world.data("send"))

    assert response.status_code == 403
    assert sandbox.requests() == []
    assert OutboundMessage.objects.count() == 2
