"""Test settings: the real settings, with fixed secrets so runs are reproducible.

``DATABASE_URL`` is honoured, so the same suite runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "tests-only-" + "k3y-" * 12)
os.environ.setdefault("CONSOLE_ENCRYPTION_KEYS", "3q2-76_Ae2Z0nFf1E3lRvdm-YpJAqQn3uQvJbJzVhqM=")
os.environ.setdefault("CONSOLE_VAR_DIR", tempfile.mkdtemp(prefix="dlg-console-tests-"))
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")

from console.settings import *  # noqa: F403

STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
CONSOLE_CONNECT_TIMEOUT = 2.0
CONSOLE_READ_TIMEOUT = 2.0
