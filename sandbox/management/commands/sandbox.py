"""`python manage.py sandbox`: serve the DLG/Certainly emulator until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sandbox.cli import add_cli_arguments, config_from_cli
from sandbox.config import ConfigError
from sandbox.server import make_server, serve_until_signalled, startup_line


class Command(BaseCommand):
    help = (
        "Serve a local emulator of DLG's SendMessage API and Certainly's Trigger Message API, "
        "with optional fault injection and DLG webhook events from an emulated customer "
        "(--webhook-url). Control endpoints live under /_sandbox/."
    )
    requires_system_checks: list[str] = []  # the emulator needs no database or models

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_cli_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            config = config_from_cli(options)
        except ConfigError as exc:
            raise CommandError(str(exc)) from exc
        try:
            server = make_server(config, options["host"], options["port"], options["verbose"])
        except OSError as exc:
            raise CommandError(
                f"cannot listen on {options['host']}:{options['port']}: {exc}"
            ) from exc
        self.stdout.write(startup_line(server))
        self.stdout.flush()
        serve_until_signalled(server)
