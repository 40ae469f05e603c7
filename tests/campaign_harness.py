"""Real campaign workers for the fault tests and ``bench/bulk.py``.

A campaign is only as robust as the worker processes that run it, so these helpers run the
product the way it is deployed: ``manage.py db_worker`` processes against a database file (a
SQLite file, or a PostgreSQL database) that every process can open, with the settings read
from the environment. Nothing here uses pytest-django's database.

The pytest side (or a benchmark) uses :class:`Database` and :class:`Stack`; the Django side of
the setup (creating a bot, a list and a campaign, then starting it) runs in a child process
started with ``python -m tests.campaign_harness setup`` and reading its order as JSON on stdin.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
# Fixed test secrets (the same as tests/settings.py): the children run with DEBUG off.
SECRET_KEY = "tests-only-" + "k3y-" * 12
ENCRYPTION_KEY = "3q2-76_Ae2Z0nFf1E3lRvdm-YpJAqQn3uQvJbJzVhqM="
#: A token no sandbox bot has.
WRONG_TOKEN = "0" * 32

T = TypeVar("T")


def is_postgres(url: str | None) -> bool:
    return bool(url) and urlsplit(url or "").scheme in ("postgres", "postgresql", "pgsql")


def parse_time(value: Any) -> datetime | None:
    """A timestamp from either database (SQLite stores naive UTC text), as an aware UTC time."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# -- databases ------------------------------------------------------------------------------


@dataclass
class Database:
    """A database the workers and the test both open: a SQLite file or a PostgreSQL database."""

    backend: str
    url: str
    path: Path | None = None
    server_url: str | None = None
    name: str | None = None

    @classmethod
    def sqlite(cls, path: Path) -> Database:
        return cls("sqlite", f"sqlite:///{path}", path=path)

    @classmethod
    def postgres(cls, server_url: str, name: str | None = None) -> Database:
        """A new, empty PostgreSQL database on the server ``server_url`` names."""
        name = name or f"dlgc_campaign_{uuid.uuid4().hex[:12]}"
        database = cls("postgres", _with_db(server_url, name), server_url=server_url, name=name)
        database._admin(f'CREATE DATABASE "{name}"')
        return database

    def clone(self, path_or_name: Path | str) -> Database:
        """A copy of this (migrated, idle) database: a file copy or ``CREATE ... TEMPLATE``."""
        if self.backend == "sqlite":
            assert self.path is not None
            target = Path(path_or_name)
            source = sqlite3.connect(self.path)
            copy = sqlite3.connect(target)
            with copy:
                source.backup(copy)
            source.close()
            copy.close()
            return Database.sqlite(target)
        assert self.server_url is not None
        name = str(path_or_name)
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
        return Database("postgres", _with_db(self.server_url, name), None, self.server_url, name)

    def drop(self) -> None:
        if self.backend == "postgres":
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def _admin(self, sql: str) -> None:
        import psycopg

        assert self.server_url is not None
        with psycopg.connect(_with_db(self.server_url, "postgres"), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one read (``%s`` placeholders) on a fresh connection, so nothing is held open."""
        if self.backend == "sqlite":
            assert self.path is not None
            conn = sqlite3.connect(self.path, timeout=30)
            try:
                return conn.execute(sql.replace("%s", "?"), params).fetchall()
            finally:
                conn.close()
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def postgres_server_url() -> str | None:
    """The PostgreSQL server ``DATABASE_URL`` points at, if it points at one."""
    url = os.environ.get("DATABASE_URL", "")
    return url if is_postgres(url) else None


# -- the processes --------------------------------------------------------------------------


@dataclass
class Stack:
    """The console's processes against one database: setup commands and db_worker processes.

    ``settings`` are extra environment variables for every child (CAMPAIGN_CONCURRENCY,
    CAMPAIGN_LEASE_SECONDS, CONSOLE_READ_TIMEOUT, ...).
    """

    database: Database
    workdir: Path
    settings: dict[str, str] = field(default_factory=dict)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("DJANGO_", "CAMPAIGN_", "CONSOLE_", "DATABASE_"))
        }
        env.update(
            DJANGO_SETTINGS_MODULE="console.settings",
            DATABASE_URL=self.database.url,
            DEBUG="false",
            SECRET_KEY=SECRET_KEY,
            CONSOLE_ENCRYPTION_KEYS=ENCRYPTION_KEY,
            CONSOLE_VAR_DIR=str(self.workdir / "var"),
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.settings)
        return env

    def run(self, *args: str, stdin: str | None = None, timeout: float = 300) -> str:
        """Run ``python <args>`` in the project; its stdout, or an error quoting its stderr."""
        done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            [PYTHON, *args],
            cwd=ROOT,
            env=self.env(),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
            )
        return done.stdout

    def migrate(self) -> None:
        self.run("manage.py", "migrate", "--noinput", "-v", "0")

    def setup_campaign(self, **order: Any) -> dict[str, Any]:
        """Create a bot, a template, ``recipients`` people in a list, and start a campaign.

        Keys: ``sandbox_url``, ``recipients``, ``rate_limit``, ``token``, ``expires_in`` and
        ``scheduled_in`` (seconds from now). Returns the ids and times as JSON gives them.
        """
        out = self.run("-m", "tests.campaign_harness", "setup", stdin=json.dumps(order))
        return json.loads(out.strip().splitlines()[-1])

    def start_worker(self, name: str | None = None) -> subprocess.Popen[bytes]:
        """One ``manage.py db_worker`` process polling every 50 ms; its output goes to a log."""
        name = name or f"worker-{len(self.workers) + 1}"
        log = (self.workdir / f"{name}.log").open("wb")
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [
                PYTHON,
                "manage.py",
                "db_worker",
                "--interval",
                "0.05",
                "--no-startup-delay",
                "--no-reload",
                "--worker-id",
                f"{name}-{uuid.uuid4().hex[:8]}",
            ],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.workers.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        """Signal one worker we started, by its pid, and reap it."""
        if process.poll() is None:
            os.kill(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)

    def stop(self) -> None:
        """End every worker this stack started: SIGTERM, then SIGKILL for any still running."""
        for process in self.workers:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 3
        for process in self.workers:
            remaining = max(0.1, deadline - time.monotonic())
            try:
                process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                self.kill(process)

    def logs(self) -> str:
        """The tail of every worker's log, for a failure message."""
        parts = []
        for path in sorted(self.workdir.glob("worker-*.log")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    # -- reading the outcome ----------------------------------------------------------------

    def campaign(self, campaign_id: int) -> dict[str, Any]:
        rows = self.database.query(
            "SELECT c.status, c.paused_reason, c.expires_at, c.finished_at, b.alert "
            "FROM messaging_campaign c JOIN messaging_bot b ON b.id = c.bot_id WHERE c.id = %s",
            (campaign_id,),
        )
        status, reason, expires_at, finished_at, alert = rows[0]
        return {
            "status": status,
            "paused_reason": reason,
            "expires_at": parse_time(expires_at),
            "finished_at": parse_time(finished_at),
            "bot_alert": alert,
        }

    def counts(self, campaign_id: int) -> dict[str, int]:
        rows = self.database.query(
            "SELECT status, COUNT(*) FROM messaging_outboundmessage WHERE campaign_id = %s "
            "GROUP BY status",
            (campaign_id,),
        )
        return dict(rows)

    def messages(self, campaign_id: int) -> list[dict[str, Any]]:
        """Every outbox row of the campaign: id, status, error, attempts and send time."""
        rows = self.database.query(
            "SELECT message_id, status, error_code, attempts, sent_at, lease_owner "
            "FROM messaging_outboundmessage WHERE campaign_id = %s ORDER BY id",
            (campaign_id,),
        )
        return [
            {
                "message_id": message_id,
                "status": status,
                "error_code": error_code,
                "attempts": attempts,
                "sent_at": parse_time(sent_at),
                "lease_owner": lease_owner,
            }
            for message_id, status, error_code, attempts, sent_at, lease_owner in rows
        ]

    def wait_for(self, check: Callable[[], T], timeout: float, what: str, every: float = 0.2) -> T:
        """Poll ``check`` until it returns something truthy; fail loudly after ``timeout``.

        A worker that died is reported at once, with its log, instead of timing out.
        """
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}.\n")
            for process in self.workers:
                code = process.poll()
                if code is not None and code != -signal.SIGKILL and code != 0:
                    raise AssertionError(f"A worker exited {code} while waiting for {what}.")
            time.sleep(every)

    def wait_until_status(
        self, campaign_id: int, statuses: tuple[str, ...], timeout: float
    ) -> dict[str, Any]:
        """Wait until the campaign reaches one of ``statuses`` and nothing is left in flight."""

        def settled() -> dict[str, Any] | None:
            state = self.campaign(campaign_id)
            if state["status"] not in statuses:
                return None
            if self.counts(campaign_id).get("sending"):
                return None
            return state

        try:
            return self.wait_for(settled, timeout, f"campaign {campaign_id} to be {statuses}")
        except AssertionError as err:
            detail = f"{err}\nlast state {self.campaign(campaign_id)}, {self.counts(campaign_id)}"
            raise AssertionError(f"{detail}\n{self.logs()}") from None


@contextlib.contextmanager
def running_stack(
    database: Database, workdir: Path, settings: dict[str, str] | None = None
) -> Iterator[Stack]:
    """A stack whose workers are stopped on the way out, whatever happened."""
    stack = Stack(database, workdir, dict(settings or {}))
    try:
        yield stack
    finally:
        stack.stop()


def densest_window(times: list[float], window: float = 1.0) -> list[float]:
    """The most events inside one window of ``window`` seconds, wherever it starts."""
    ordered = sorted(times)
    best = (0, 0)
    first = 0
    for last, moment in enumerate(ordered):
        while ordered[first] <= moment - window:
            first += 1
        if last - first + 1 > best[1] - best[0]:
            best = (first, last + 1)
    return ordered[best[0] : best[1]]


def slide_max(times: list[float], window: float = 1.0) -> int:
    """How many events the densest window of ``window`` seconds holds."""
    return len(densest_window(times, window))


# -- the Django side (child process) --------------------------------------------------------


def _setup(order: dict[str, Any]) -> dict[str, Any]:
    """Create the campaign's world and start it; runs inside a configured Django process."""
    from datetime import timedelta

    from django.utils import timezone

    from messaging import campaigns
    from messaging.models import (
        Bot,
        Campaign,
        MessageTemplate,
        Recipient,
        RecipientList,
        RecipientListMember,
    )
    from sandbox import defaults

    tag = uuid.uuid4().hex[:8]
    count = int(order["recipients"])
    bot = Bot.objects.create(
        name=f"bulk-{tag}",
        provider="dlg",
        base_url=order["sandbox_url"],
        access_token=order.get("token") or defaults.DEMO_DLG_TOKEN,
        rate_limit=float(order.get("rate_limit", 50)),
    )
    template = MessageTemplate.objects.create(
        name=f"notice-{tag}",
        message_type="text",
        content={"text": "Dear {{ first_name }}, your statement is ready."},
    )
    people = RecipientList.objects.create(name=f"customers-{tag}")
    base = int(order.get("first_value", 5_000_000))
    batch = 5000
    for start in range(0, count, batch):
        made = Recipient.objects.bulk_create(
            Recipient(
                name=f"Customer {base + i}",
                kind="appCustomerId",
                value=str(base + i),
                attributes={"first_name": f"Name{i}"},
            )
            for i in range(start, min(count, start + batch))
        )
        RecipientListMember.objects.bulk_create(
            RecipientListMember(recipient_list=people, recipient=recipient) for recipient in made
        )
    now = timezone.now()
    fields: dict[str, Any] = {}
    if order.get("expires_in") is not None:
        fields["expires_at"] = now + timedelta(seconds=float(order["expires_in"]))
    if order.get("scheduled_in") is not None:
        fields["scheduled_at"] = now + timedelta(seconds=float(order["scheduled_in"]))
    campaign = Campaign.objects.create(
        name=f"campaign-{tag}", bot=bot, template=template, recipient_list=people, **fields
    )
    report = campaigns.start(campaign)
    campaign.refresh_from_db()
    return {
        "campaign_id": campaign.pk,
        "bot_id": bot.pk,
        "ready": report.ready,
        "total": campaign.total,
        "status": campaign.status,
        "expires_at": campaign.expires_at.isoformat() if campaign.expires_at else None,
        "scheduled_at": campaign.scheduled_at.isoformat() if campaign.scheduled_at else None,
    }


def main(argv: list[str]) -> int:
    if argv[:1] != ["setup"]:
        print("usage: python -m tests.campaign_harness setup < order.json", file=sys.stderr)
        return 2
    import django

    django.setup()
    print(json.dumps(_setup(json.loads(sys.stdin.read()))))
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    raise SystemExit(main(sys.argv[1:]))
