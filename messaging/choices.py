"""Closed vocabularies shared by models, forms, the wire layer and the history.

A word the platforms send that is not listed here maps to ``unknown`` rather than crashing.
"""

from __future__ import annotations

from django.db import models


class Provider(models.TextChoices):
    DLG = "dlg", "DLG (Diyalog)"
    CERTAINLY = "certainly", "Certainly"


class AddressKind(models.TextChoices):
    """How a recipient is addressed; the values are the platforms' own field names."""

    DLG_CUSTOMER = "appCustomerId", "DLG customer id"
    DLG_STAFF = "appStaffId", "DLG staff id"
    DLG_USER = "id", "DLG user id"
    CERTAINLY_USER = "user_id", "Certainly user id"

    @property
    def provider(self) -> Provider:
        return Provider.CERTAINLY if self is AddressKind.CERTAINLY_USER else Provider.DLG

    @classmethod
    def for_provider(cls, provider: str) -> list[AddressKind]:
        return [kind for kind in cls if kind.provider == provider]


class MessageType(models.TextChoices):
    TEXT = "text", "Text"
    QUICK_REPLIES = "quick_replies", "Quick replies"
    DOCUMENT = "document", "Document"
    TRIGGER = "trigger", "Trigger app message"
    CERTAINLY_TEXT = "certainly_text", "Certainly text"

    @property
    def provider(self) -> Provider:
        return Provider.CERTAINLY if self is MessageType.CERTAINLY_TEXT else Provider.DLG

    @classmethod
    def for_provider(cls, provider: str) -> list[MessageType]:
        return [kind for kind in cls if kind.provider == provider]


class DocumentKind(models.TextChoices):
    """How DLG renders a document: the sub-object sent beside ``fileData``."""

    FILE = "file", "Plain file"
    PHOTO = "photo", "Photo"
    VIDEO = "video", "Video"
    VOICE = "voice", "Voice"


class Status(models.TextChoices):
    """Where a message is in its life.

    The send pipeline moves queued → sending → accepted | failed | unknown; platform events
    later move accepted → sent → delivered → read. ``expired`` ends a message that was not
    sent in time.
    """

    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    ACCEPTED = "accepted", "Accepted"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    READ = "read", "Read"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Unknown outcome"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


class EventType(models.TextChoices):
    """What a platform event says happened; anything unrecognised is kept as ``unknown``."""

    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    READ = "read", "Read"
    REPLY = "reply", "Reply"
    BUTTON = "button", "Button pressed"
    UNKNOWN = "unknown", "Unknown event"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    CANCELLED = "cancelled", "Cancelled"
    FINISHED = "finished", "Finished"
