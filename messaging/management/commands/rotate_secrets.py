"""Re-encrypt every stored secret with the first key in CONSOLE_ENCRYPTION_KEYS.

Rotation: put the new key first, keep the old one after it, run this command, then remove the
old key. Each row is rewritten in its own transaction so a failure names the row it stopped at.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from messaging import secrets
from messaging.fields import EncryptedTextField


class Command(BaseCommand):
    help = "Re-encrypt every stored secret (bot tokens, webhook secrets) with the newest key."

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        for model in apps.get_models():
            fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            if not fields:
                continue
            table = connection.ops.quote_name(model._meta.db_table)
            pk = connection.ops.quote_name(str(model._meta.pk.column))
            columns = [connection.ops.quote_name(str(field.column)) for field in fields]
            with connection.cursor() as cursor:
                # Raw SQL: the field would decrypt on read and encrypt on write, but rotation
                # must work on the ciphertext itself (MultiFernet.rotate keeps its timestamp).
                cursor.execute(f"SELECT {pk}, {', '.join(columns)} FROM {table}")  # noqa: S608
                rows = cursor.fetchall()
            for row_pk, *values in rows:
                rotated = [secrets.rotate(value) if value else value for value in values]
                assignments = ", ".join(f"{column} = %s" for column in columns)
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(
                        f"UPDATE {table} SET {assignments} WHERE {pk} = %s",  # noqa: S608
                        [*rotated, row_pk],
                    )
                total += sum(1 for value in values if value)
            self.stdout.write(f"{model._meta.verbose_name_plural}: {len(rows)} rows checked.")
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {total} secrets with the newest key."))
