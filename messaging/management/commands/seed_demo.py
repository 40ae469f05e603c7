"""Create the demo world: bots pointing at the sandbox, recipients, templates and three users.

Idempotent: running it again updates the demo bots and templates in place and never changes
the users' passwords (they are printed only when a user is first created).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from messaging import roles
from messaging.choices import MessageType, Provider
from messaging.models import Bot, Campaign, MessageTemplate, Recipient, RecipientList
from sandbox import defaults

TEMPLATES: list[dict[str, Any]] = [
    {
        "name": "Card dispatched",
        "message_type": MessageType.TEXT,
        "content": {
            "text": "Dear {{ first_name }}, your new card has been dispatched and will reach "
            "you within 3 working days."
        },
    },
    {
        "name": "Confirm appointment",
        "message_type": MessageType.QUICK_REPLIES,
        "content": {
            "text": "Hello {{ first_name }}, can you make your branch appointment tomorrow "
            "at 10:00?",
            "buttons": [
                {
                    "title": "Yes",
                    "payload": "appointment-yes",
                    "payload_seen_by_user": "Yes, I'll be there",
                },
                {
                    "title": "No",
                    "payload": "appointment-no",
                    "payload_seen_by_user": "No, I can't",
                },
                {"title": "Call me", "payload": "appointment-call"},
            ],
        },
    },
    {
        "name": "Approve transfer",
        "message_type": MessageType.TRIGGER,
        "content": {
            "text": "Tap to approve your transfer to {{ payee }}.",
            "command": "ApproveTransaction",
            "data": "{custNo:{{ customer_no }}}",
        },
    },
    {
        "name": "Certainly hand-over",
        "message_type": MessageType.CERTAINLY_TEXT,
        "content": {"text": "Hi {{ first_name }}, an agent will join this chat shortly."},
    },
]

# username → (what they do, their group; the admin is a superuser)
USERS: dict[str, tuple[str, str | None]] = {
    "admin": ("superuser", None),
    "sender": ("composes and sends", roles.SENDERS),
    "auditor": ("reads and exports the history", roles.AUDITORS),
}


class Command(BaseCommand):
    help = "Create or update the demo bots, recipients, templates and users (idempotent)."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        sandbox_url = settings.SANDBOX_URL
        demo_bots = [
            (defaults.DEMO_DLG_BOT_NAME, Provider.DLG, defaults.DEMO_DLG_TOKEN),
            (defaults.DEMO_CERTAINLY_BOT_NAME, Provider.CERTAINLY, defaults.DEMO_CERTAINLY_TOKEN),
        ]
        for name, provider, token in demo_bots:
            bot = Bot.objects.filter(name=name).first() or Bot(name=name)
            created = bot.pk is None
            bot.provider, bot.base_url, bot.access_token = provider, sandbox_url, token
            bot.is_active = True
            if provider == Provider.DLG:
                # The sandbox signs its webhook events with this demo secret.
                bot.webhook_id = defaults.DEMO_DLG_WEBHOOK_ID
                bot.webhook_secret = defaults.DEMO_DLG_WEBHOOK_SECRET
            bot.save()
            self.stdout.write(f"Bot {name} → {sandbox_url} ({'created' if created else 'updated'})")
        for entry in defaults.DEMO_RECIPIENTS:
            Recipient.objects.update_or_create(
                kind=entry["kind"],
                value=entry["value"],
                defaults={"name": entry["name"], "attributes": entry["attributes"]},
            )
        self.stdout.write(f"{len(defaults.DEMO_RECIPIENTS)} demo recipients")
        for template in TEMPLATES:
            MessageTemplate.objects.update_or_create(
                name=template["name"],
                defaults={"message_type": template["message_type"], "content": template["content"]},
            )
        self.stdout.write(f"{len(TEMPLATES)} demo templates")
        self._users()
        self._campaign()

    def _campaign(self) -> None:
        """A list of the demo's DLG customers and a draft campaign to try bulk sending."""
        customers, _ = RecipientList.objects.get_or_create(
            name="Demo customers", defaults={"description": "The demo's DLG customers."}
        )
        customers.members.add(*Recipient.objects.filter(kind="appCustomerId"))
        Campaign.objects.get_or_create(
            name="Card dispatched (demo)",
            defaults={
                "bot": Bot.objects.get(name=defaults.DEMO_DLG_BOT_NAME),
                "template": MessageTemplate.objects.get(name="Card dispatched"),
                "recipient_list": customers,
            },
        )
        self.stdout.write("1 demo recipient list and a draft campaign")

    def _users(self) -> None:
        User = get_user_model()
        for username, (role, group) in USERS.items():
            user, created = User.objects.get_or_create(
                username=username, defaults={"is_staff": True, "is_superuser": group is None}
            )
            if group is not None:
                user.groups.set([Group.objects.get(name=group)])
            if created:
                password = secrets.token_urlsafe(12)
                user.set_password(password)
                user.save()
                self.stdout.write(
                    self.style.SUCCESS(f"User {username} ({role}), password: {password}")
                )
            else:
                self.stdout.write(f"User {username} ({role}) exists; password unchanged.")
