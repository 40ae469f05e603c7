"""Content-addressed storage of uploaded files.

A file is saved once under its SHA-256; sending it again, or re-sending a message from the
history, reads back exactly the bytes that were sent.
"""

from __future__ import annotations

import hashlib
import re

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from messaging.models import StoredFile

SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")


def store(data: bytes) -> StoredFile:
    """Keep these bytes (once) and return their record."""
    digest = hashlib.sha256(data).hexdigest()
    stored = StoredFile.objects.filter(sha256=digest).first()
    if stored is None:
        try:
            with transaction.atomic():
                stored = StoredFile.objects.create(sha256=digest, size=len(data))
        except IntegrityError:
            stored = StoredFile.objects.get(sha256=digest)
    if not default_storage.exists(stored.storage_name):
        default_storage.save(stored.storage_name, ContentFile(data))
    return stored


def find(digest: str) -> StoredFile | None:
    """The stored file with this hash, if the hash is well-formed and known."""
    if not SHA256_PATTERN.match(digest or ""):
        return None
    return StoredFile.objects.filter(sha256=digest).first()


def read(stored: StoredFile) -> bytes:
    """The stored bytes, checked against their hash so a damaged file is never sent."""
    with default_storage.open(stored.storage_name, "rb") as handle:
        data = handle.read()
    if hashlib.sha256(data).hexdigest() != stored.sha256:
        raise OSError(f"Stored file {stored.sha256[:12]}… does not match its hash.")
    return data
