"""Registered as a Django app only so that `manage.py sandbox` is found."""

from __future__ import annotations

from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "sandbox"
    verbose_name = "Messaging platform sandbox"
