"""Campaigns under faults, run by real ``db_worker`` processes against a database file.

The in-process campaign tests call the outbox directly; these run the deployed shape instead:
worker processes that claim messages through the database, a platform sandbox on loopback that
misbehaves on purpose, and a worker killed with SIGKILL in the middle. What is checked is what
a bank would ask after such a day: did every customer get the message exactly once (or is the
message honestly reported as ``unknown``), did the platform ever see more than the bot's rate
limit, was anything sent after the campaign's expiry, and does a refused bot stop the campaign
without failing its messages.

The database is a SQLite file (one worker) or, when ``DATABASE_URL`` names a PostgreSQL server,
a throwaway PostgreSQL database on it (two workers); every test gets its own copy of a database
migrated once per run. pytest-django's database is not used: worker processes cannot open its
in-memory SQLite database.
"""

from __future__ import annotations

import itertools
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sandbox import defaults
from sandbox.config import config_from_dict
from sandbox.testing import SandboxHandle, running_sandbox
from tests.campaign_harness import (
    WRONG_TOKEN,
    Database,
    Stack,
    densest_window,
    parse_time,
    postgres_server_url,
    running_stack,
)

# SQLite always; PostgreSQL too whenever DATABASE_URL names a PostgreSQL server (CI runs the
# whole suite a second time that way). Neither variant is ever skipped.
PG_SERVER = postgres_server_url()
BACKENDS = ["sqlite", "postgres"] if PG_SERVER else ["sqlite"]
WORKERS = {"sqlite": 1, "postgres": 2}
RECIPIENTS = 400
RATE = 50.0
LEASE_SECONDS = 5
SETTINGS = {
    "CAMPAIGN_LEASE_SECONDS": str(LEASE_SECONDS),
    "CAMPAIGN_CONCURRENCY": "8",
    "CONSOLE_READ_TIMEOUT": "1",
    "CONSOLE_CONNECT_TIMEOUT": "1",
}
FINISH_TIMEOUT = 60
#: Scheduling jitter of the in-process sandbox when it stamps an arrival (seconds).
ARRIVAL_JITTER = 0.05

pytestmark = pytest.mark.timeout(110)


@pytest.fixture(scope="module")
def open_sandbox() -> Iterator[SandboxHandle]:
    """The demo world, accepting any well-formed recipient, so lists can be thousands long."""
    config = defaults.default_config().to_dict()
    config["accept_any_recipient"] = True
    config.pop("customer", None)
    with running_sandbox(config_from_dict(config)) as server:
        yield server


@pytest.fixture
def sandbox(open_sandbox: SandboxHandle) -> Iterator[SandboxHandle]:
    open_sandbox.reset()
    yield open_sandbox
    open_sandbox.reset()


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Database]]:
    """One migrated database per backend and module; each test works on its own copy."""
    templates: dict[str, Database] = {}
    try:
        for backend in BACKENDS:
            workdir = tmp_path_factory.mktemp(f"campaign-{backend}")
            if backend == "postgres":
                assert PG_SERVER is not None
                database = Database.postgres(PG_SERVER, f"dlgc_tmpl_{uuid.uuid4().hex[:12]}")
            else:
                database = Database.sqlite(workdir / "template.sqlite3")
            templates[backend] = database
            Stack(database, workdir).migrate()
        yield templates
    finally:
        for database in templates.values():
            database.drop()


@pytest.fixture(params=BACKENDS)
def stack(
    request: pytest.FixtureRequest, migrated: dict[str, Database], tmp_path: Path
) -> Iterator[Stack]:
    """A fresh copy of the migrated database and no workers yet."""
    template = migrated[request.param]
    if request.param == "postgres":
        database = template.clone(f"dlgc_case_{uuid.uuid4().hex[:12]}")
    else:
        database = template.clone(tmp_path / "console.sqlite3")
    settings = {**SETTINGS, "CAMPAIGN_PARALLEL_TASKS": str(WORKERS[request.param])}
    try:
        with running_stack(database, tmp_path, settings) as running:
            yield running
    finally:
        database.drop()


def start_workers(stack: Stack) -> None:
    for _ in range(WORKERS[stack.database.backend]):
        stack.start_worker()


def by_message_id(records: list[dict[str, Any]]) -> Counter[str]:
    return Counter(record["body"]["message"]["messageId"] for record in records)


def test_faults_every_recipient_accepted_once_or_reported_unknown(
    stack: Stack, sandbox: SandboxHandle
) -> None:
    """10 % answered 502/503 (retried), 5 % accepted but never answered (unknown, not resent)."""
    faults = {"error_rate": 0.10, "timeout_rate": 0.05, "timeout_hold_s": 2.0, "seed": 7}
    sandbox.set_faults(**faults, error_status=503)
    made = stack.setup_campaign(sandbox_url=sandbox.url, recipients=RECIPIENTS, rate_limit=RATE)
    campaign_id = made["campaign_id"]
    start_workers(stack)
    # Half way through, the gateway in front of the platform starts answering 502 instead.
    stack.wait_for(lambda: len(sandbox.messages()) >= RECIPIENTS // 2, FINISH_TIMEOUT, "half")
    sandbox.set_faults(**faults, error_status=502)

    state = stack.wait_until_status(campaign_id, ("finished",), FINISH_TIMEOUT)

    rows = stack.messages(campaign_id)
    statuses = Counter(row["status"] for row in rows)
    unknown = {row["message_id"] for row in rows if row["status"] == "unknown"}
    accepted = {row["message_id"] for row in rows if row["status"] == "accepted"}
    seen = by_message_id(sandbox.messages())
    answered = by_message_id([m for m in sandbox.messages() if m["answered"]])
    assert state["status"] == "finished"
    assert len(rows) == RECIPIENTS
    assert set(statuses) <= {"accepted", "unknown"}, statuses
    assert {row["error_code"] for row in rows if row["status"] == "unknown"} <= {"read_timeout"}
    assert set(seen) <= {row["message_id"] for row in rows}
    assert {mid: seen[mid] for mid in accepted if seen[mid] != 1} == {}
    assert {mid: seen[mid] for mid in unknown if seen[mid] > 1} == {}
    assert len(accepted) == len(answered)
    assert accepted == set(answered)
    # The faults did happen: retries after 5xx, and some timeouts.
    stats = sandbox.stats()
    assert stats["rejected"].get("503"), stats
    assert stats["rejected"].get("502"), stats
    assert unknown, "no timeout hit the campaign"
    assert max(row["attempts"] for row in rows) > 1


def test_sigkill_mid_campaign_loses_nothing_and_duplicates_at_most_the_unknown(
    stack: Stack, sandbox: SandboxHandle
) -> None:
    """A worker killed at ~30 %: its claims return after the lease, its in-flight are unknown."""
    made = stack.setup_campaign(sandbox_url=sandbox.url, recipients=RECIPIENTS, rate_limit=RATE)
    campaign_id = made["campaign_id"]
    start_workers(stack)
    stack.wait_for(
        lambda: len(sandbox.messages()) >= RECIPIENTS * 0.3, FINISH_TIMEOUT, "30 % sent", 0.02
    )
    stack.kill(stack.workers[0], signal.SIGKILL)
    stack.start_worker()

    state = stack.wait_until_status(campaign_id, ("finished",), FINISH_TIMEOUT)

    rows = stack.messages(campaign_id)
    statuses = Counter(row["status"] for row in rows)
    unknown = [row for row in rows if row["status"] == "unknown"]
    seen = by_message_id(sandbox.messages())
    assert state["status"] == "finished"
    assert len(rows) == RECIPIENTS
    assert set(statuses) <= {"accepted", "unknown"}, statuses
    assert {row["error_code"] for row in unknown} <= {"worker_lost"}
    assert [
        row for row in rows if row["status"] == "accepted" and not seen[row["message_id"]]
    ] == []
    assert sandbox.stats()["duplicate_message_ids"] <= len(unknown)
    assert sum(seen.values()) - len(seen) <= len(unknown)


def arrivals(sandbox: SandboxHandle) -> list[float]:
    moments = [parse_time(r["received_at"]) for r in sandbox.requests()]
    return [moment.timestamp() for moment in moments if moment is not None]


def test_no_one_second_window_holds_more_than_the_rate_limit(
    stack: Stack, sandbox: SandboxHandle
) -> None:
    """The platform's view: every request it received, timed on arrival, any 1 s window.

    The in-process sandbox stamps arrivals from a handler thread of this busy test process,
    which adds scheduling jitter of its own; windows are shortened by that much
    (``ARRIVAL_JITTER``) so that only the console's pacing is judged.
    """
    made = stack.setup_campaign(sandbox_url=sandbox.url, recipients=RECIPIENTS, rate_limit=RATE)
    start_workers(stack)

    stack.wait_until_status(made["campaign_id"], ("finished",), FINISH_TIMEOUT)

    times = arrivals(sandbox)
    densest = densest_window(times, 1.0 - ARRIVAL_JITTER)
    gaps = [round((b - a) * 1000, 1) for a, b in itertools.pairwise(densest)]
    assert len(times) == RECIPIENTS
    assert len(densest) <= RATE, f"{len(densest)} requests in one second; gaps in ms: {gaps}"


@pytest.fixture(scope="module")
def expiry_runs() -> dict[str, dict[str, Any]]:
    """The expiry campaign's outcome per backend, shared by the two expiry tests."""
    return {}


@pytest.fixture
def expired_campaign(
    stack: Stack, sandbox: SandboxHandle, expiry_runs: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """A campaign at 0.5 message/s that starts in 4 s and expires 5 s after that.

    The start is scheduled so that the expiry falls between two send slots (slots are 2.04 s
    apart from the start): a message is then due about a second after the expiry.
    """
    backend = stack.database.backend
    if backend not in expiry_runs:
        start_workers(stack)
        made = stack.setup_campaign(
            sandbox_url=sandbox.url,
            recipients=RECIPIENTS,
            rate_limit=0.5,
            scheduled_in=4.0,
            expires_in=9.0,
        )
        state = stack.wait_until_status(made["campaign_id"], ("finished",), 40)
        expiry_runs[backend] = {
            "state": state,
            "rows": stack.messages(made["campaign_id"]),
            "sandbox": sandbox.messages(),
        }
    return expiry_runs[backend]


def test_expiry_marks_what_was_not_sent_expired(expired_campaign: dict[str, Any]) -> None:
    rows = expired_campaign["rows"]
    statuses = Counter(row["status"] for row in rows)
    sent = {row["message_id"] for row in rows if row["status"] == "accepted"}
    seen = by_message_id(expired_campaign["sandbox"])
    assert set(statuses) == {"accepted", "expired"}, statuses
    assert 1 <= statuses["accepted"] <= 5
    assert statuses["expired"] == RECIPIENTS - statuses["accepted"]
    assert {row["error_code"] for row in rows if row["status"] == "expired"} == {"expired"}
    assert set(seen) == sent
    assert set(seen.values()) == {1}


def test_expiry_nothing_reaches_the_platform_after_the_expiry(
    expired_campaign: dict[str, Any],
) -> None:
    expires_at: datetime = expired_campaign["state"]["expires_at"]
    late = [
        (record["body"]["message"]["messageId"], record["received_at"])
        for record in expired_campaign["sandbox"]
        if parse_time(record["received_at"]) > expires_at  # type: ignore[operator]
    ]
    assert late == [], f"expiry {expires_at.isoformat()}, sent after it: {late}"


def test_a_refused_bot_pauses_the_campaign_and_fails_no_message(
    stack: Stack, sandbox: SandboxHandle
) -> None:
    """A wrong token is the bot's fault, not the messages': pause, flag the bot, keep queued."""
    made = stack.setup_campaign(
        sandbox_url=sandbox.url, recipients=RECIPIENTS, rate_limit=RATE, token=WRONG_TOKEN
    )
    campaign_id = made["campaign_id"]
    start_workers(stack)

    state = stack.wait_until_status(campaign_id, ("paused",), FINISH_TIMEOUT)
    # Another worker may still be finishing what it had in flight: wait until all are quiet.
    settled = time.monotonic() + 15
    quiet = 0
    while quiet < 3:
        assert time.monotonic() < settled, "messages stayed in flight after the pause"
        busy = any(
            row["status"] == "sending" or row["lease_owner"] for row in stack.messages(campaign_id)
        )
        quiet = 0 if busy else quiet + 1
        time.sleep(0.3)

    reason = (
        "DLG did not recognise this bot's access token. A bot admin must update the token "
        "on the bot's page."
    )
    rows = stack.messages(campaign_id)
    assert state["paused_reason"] == reason
    assert state["bot_alert"] == reason
    assert Counter(row["status"] for row in rows) == {"queued": RECIPIENTS}
    assert all(row["lease_owner"] == "" for row in rows)
    assert sandbox.messages() == []
    assert WRONG_TOKEN not in state["paused_reason"]
