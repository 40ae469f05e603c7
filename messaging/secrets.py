"""Encryption at rest and fingerprints for bot secrets.

Fernet gives authenticated encryption (a tampered column fails loudly instead of decrypting to
garbage); MultiFernet lets operators add a new key in front, re-encrypt with ``rotate_secrets``
and only then drop the old one.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class UndecryptableSecret(ImproperlyConfigured):
    """A stored secret was encrypted with a key that is no longer configured."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _current() -> MultiFernet:
    # Keyed on the configured tuple so that tests overriding the setting get a fresh instance.
    return _fernet(tuple(settings.CONSOLE_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    """Encrypt with the first configured key."""
    return _current().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(ciphertext: str) -> str:
    """Decrypt with any configured key, or explain which setting is wrong."""
    try:
        return _current().decrypt(ciphertext.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise UndecryptableSecret(
            "A stored secret cannot be decrypted with any key in CONSOLE_ENCRYPTION_KEYS. "
            "Was a key removed before running 'manage.py rotate_secrets'?"
        ) from None


def rotate(ciphertext: str) -> str:
    """Re-encrypt a stored secret with the first key, keeping its original timestamp."""
    try:
        return _current().rotate(ciphertext.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise UndecryptableSecret(
            "A stored secret cannot be decrypted with any key in CONSOLE_ENCRYPTION_KEYS."
        ) from None


def fingerprint(secret: str) -> str:
    """Identify a secret to a person without revealing it: its last four characters and a hash.

    Four characters alone collide too easily to tell two tokens apart; the short hash does not,
    and neither lets anyone rebuild the token.
    """
    if not secret:
        return "(not set)"
    digest = hashlib.sha256(secret.encode("utf-8")).hexdigest()[:8]
    return f"…{secret[-4:]} · {digest}"
