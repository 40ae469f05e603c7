"""Run the local demo: the platform sandbox, the console and a worker; Ctrl-C stops them all.

Each runs as its own process (the sandbox must stay up while the console's autoreloader
restarts), and whichever exits first takes the other down so nothing is left listening. If
whatever started this command goes away (make killed, terminal closed), the demo stops too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand
from django.urls import reverse

from messaging.models import Bot
from sandbox.defaults import DEMO_DLG_BOT_NAME


class Command(BaseCommand):
    help = "Start the sandbox, the console (127.0.0.1:8000) and a campaign worker together."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--addrport", default="127.0.0.1:8000")

    def handle(self, *args: Any, addrport: str, **options: Any) -> None:
        sandbox = urlsplit(settings.SANDBOX_URL)
        manage = [sys.executable, "manage.py"]
        webhook: list[str] = []
        demo_bot = Bot.objects.filter(name=DEMO_DLG_BOT_NAME).exclude(webhook_secret="").first()
        if demo_bot is not None:
            # The sandbox posts the demo bot's delivery events back to this console.
            path = reverse("dlg-webhook", args=[demo_bot.pk])
            webhook = ["--webhook-url", f"http://{addrport}{path}"]
        commands = {
            "sandbox": [
                *manage,
                "sandbox",
                "--host",
                sandbox.hostname or "127.0.0.1",
                "--port",
                str(sandbox.port or 8765),
                *webhook,
            ],
            "console": [*manage, "runserver", addrport],
            # One worker for campaigns (django.tasks, queued in the database).
            "worker": [*manage, "db_worker"],
        }
        parent = os.getppid()
        processes = {name: subprocess.Popen(command) for name, command in commands.items()}  # noqa: S603
        self.stdout.write(
            self.style.SUCCESS(
                f"Console on http://{addrport}/admin/ , sandbox on {settings.SANDBOX_URL}, "
                "one campaign worker. Ctrl-C stops them all."
            )
        )
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
        try:
            while all(process.poll() is None for process in processes.values()):
                if os.getppid() != parent:
                    raise KeyboardInterrupt
                time.sleep(0.5)
            stopped = [name for name, process in processes.items() if process.poll() is not None]
            self.stderr.write(f"{', '.join(stopped)} stopped; stopping the rest.")
        except KeyboardInterrupt:
            pass
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.terminate()
            for process in processes.values():
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
