"""Model fields that keep secrets encrypted in the database."""

from __future__ import annotations

from typing import Any

from django.db import models

from messaging import secrets


class EncryptedTextField(models.TextField):
    """A text column holding Fernet ciphertext; Python code only ever sees the plaintext.

    The empty string stays empty so that "no secret yet" is visible without decrypting.
    Lookups on the plaintext are impossible by design (ciphertexts differ on every save).
    """

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if not value:
            return value
        return secrets.decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if not value:
            return value
        return secrets.encrypt(value)
