"""The three kinds of people who use the console, as Django groups.

The groups are created by data migrations (``0004_roles``, then ``0009_campaign_roles``)
holding frozen copies of this table; changing a role means a new migration, so every
installation's rights change together.
"""

from __future__ import annotations

SENDERS = "Senders"
BOT_ADMINS = "Bot admins"
AUDITORS = "Auditors"

_MANAGE = ("add", "change", "delete", "view")

#: group name → "app_label.codename" permissions, exactly.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    SENDERS: (
        "messaging.send_message",
        "messaging.view_recipient",
        "messaging.view_messagetemplate",
        "messaging.view_recipientlist",
        "messaging.add_campaign",
        "messaging.change_campaign",
        "messaging.view_campaign",
        "messaging.run_campaign",
    ),
    BOT_ADMINS: (
        *(f"messaging.{action}_bot" for action in _MANAGE),
        *(f"messaging.{action}_recipient" for action in _MANAGE),
        *(f"messaging.{action}_messagetemplate" for action in _MANAGE),
        *(f"messaging.{action}_recipientlist" for action in _MANAGE),
        "messaging.view_campaign",
        "messaging.view_outboundmessage",
        "messaging.view_secretchange",
    ),
    AUDITORS: (
        "messaging.view_outboundmessage",
        "messaging.export_history",
        "messaging.view_secretchange",
        "messaging.view_recipientlist",
        "messaging.view_campaign",
        "admin.view_logentry",
    ),
}
