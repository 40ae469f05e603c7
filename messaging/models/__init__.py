"""The console's nouns: bots, recipients, templates, the history and its events."""

from messaging.models.bots import SECRET_FIELDS, Bot, BotPace, SecretChange
from messaging.models.campaigns import Campaign, RecipientList, RecipientListMember
from messaging.models.directory import MessageTemplate, Recipient
from messaging.models.events import MessageEvent, WebhookBatch
from messaging.models.history import (
    MESSAGE_ID_PATTERN,
    OutboundMessage,
    OutboundMessageQuerySet,
    StoredFile,
    new_message_id,
)

__all__ = [
    "MESSAGE_ID_PATTERN",
    "SECRET_FIELDS",
    "Bot",
    "BotPace",
    "Campaign",
    "MessageEvent",
    "MessageTemplate",
    "OutboundMessage",
    "OutboundMessageQuerySet",
    "Recipient",
    "RecipientList",
    "RecipientListMember",
    "SecretChange",
    "StoredFile",
    "WebhookBatch",
    "new_message_id",
]
