"""One user per role, made a member of the real groups the ``0004_roles`` migration created.

Import the fixtures a test module needs by name (``from tests.roles import sender``), or call
:func:`make_user` for a second member of a role or a role chosen by a parameter.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, Group, User
from django.test import Client

from messaging.roles import AUDITORS, BOT_ADMINS, SENDERS

PASSWORD = "correct horse battery staple"

#: Every role a visitor of the console can have, anonymous last.
ROLES = ("sender", "bot_admin", "auditor", "superuser", "outsider", "anonymous")

_GROUP_OF = {"sender": SENDERS, "bot_admin": BOT_ADMINS, "auditor": AUDITORS}


def make_user(role: str, username: str | None = None) -> User | AnonymousUser:
    """A fresh active member of staff in ``role`` (see :data:`ROLES`); no user for anonymous."""
    if role == "anonymous":
        return AnonymousUser()
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    user = User.objects.create_user(
        username or role,
        password=PASSWORD,
        is_staff=True,
        is_superuser=role == "superuser",
    )
    if role in _GROUP_OF:
        # The group must exist already: a missing one means the migration changed.
        user.groups.add(Group.objects.get(name=_GROUP_OF[role]))
    return user


def client_for(user: User | AnonymousUser) -> Client:
    """A test client logged in as ``user`` (or not logged in, for anonymous)."""
    client = Client()
    if user.is_authenticated:
        client.force_login(user)
    return client


@pytest.fixture
def sender(db: Any) -> User:
    """A member of Senders: composes and sends, sees only their own history."""
    return make_user("sender")  # type: ignore[return-value]


@pytest.fixture
def bot_admin(db: Any) -> User:
    """A member of Bot admins: manages bots, recipients and templates, reads all history."""
    return make_user("bot_admin")  # type: ignore[return-value]


@pytest.fixture
def auditor(db: Any) -> User:
    """A member of Auditors: reads and exports all history and the change log."""
    return make_user("auditor")  # type: ignore[return-value]


@pytest.fixture
def superuser(db: Any) -> User:
    return make_user("superuser")  # type: ignore[return-value]


@pytest.fixture
def outsider(db: Any) -> User:
    """Staff in no group: may log in to the admin and nothing more."""
    return make_user("outsider")  # type: ignore[return-value]


@pytest.fixture
def anonymous() -> AnonymousUser:
    return AnonymousUser()
