"""Server time of the sent-message history and memory of its CSV export at a million rows.

The history is the page people open most, and the table only grows, so what matters is how the
list and the export behave once the table is large compared with when it is empty. For each
database (SQLite always; PostgreSQL when ``DATABASE_URL`` names one or ``--postgres URL`` is
given) the script creates a throwaway database, migrates it, and then:

1. times four requests of the history list on the EMPTY table, the baseline of this run: the
   first page; the first page filtered by status and bot; a search by recipient id; page 500;
2. bulk-loads ``--small`` rows and exports them as CSV;
3. bulk-loads up to ``--rows`` rows, runs ANALYZE (on PostgreSQL ``VACUUM (ANALYZE)``, the state
   autovacuum leaves a table in), times the same four requests, prints the plans of the first
   page's query and of the filtered one, and exports every row.

Rows go in with raw multi-row INSERTs (SQLite) or ``COPY`` (PostgreSQL), not the ORM: five
bots, ten senders, statuses mostly accepted, recipient ids from a pool of 50,000, and creation
times over 90 days that follow insertion order only roughly.

Times are server time: the real view run in-process through Django's test client as a
superuser (middleware, session, permissions, form, query, template), the median of
``--repeat`` after one warm-up. Before each request, connections past their ``CONN_MAX_AGE``
are closed as at the end of a real request, so SQLite connects on every request, as it does
in the server.

Export memory is measured in a fresh process per export that does nothing else: it logs in,
runs one empty export to load the code path, notes its resident set, streams the whole CSV and
reports its peak (``ru_maxrss``). Both the peak and the growth over the starting RSS are
compared between ``--small`` and ``--rows``.

Targets: the first page in at most 150 ms at 1,000,000 rows on PostgreSQL; the export's peak
RSS at 1,000,000 rows at most 1.5 times the peak at 10,000.

    python bench/history.py [--rows 1000000] [--small 10000] [--repeat 7]
                            [--sqlite-only] [--postgres postgres://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
if not __package__:
    # Run as a script, bench/ is sys.path[0]; the project's packages live one level up.
    sys.path[0] = str(ROOT)

if TYPE_CHECKING:
    from django.http import HttpResponse, StreamingHttpResponse
    from django.test import Client

FIRST_PAGE_TARGET_MS = 150.0
RSS_RATIO_TARGET = 1.5
SUPERUSER = "bench-admin"
SEED = 1_000_003
RECIPIENT_POOL = 50_000
HISTORY_DAYS = 90
BATCH = 10_000
PROGRESS_EVERY = 100_000
CHILD_TIMEOUT = 1800

# (name, provider, share of the traffic)
BOTS = (
    ("Retail notifications", "dlg", 35),
    ("Customer support", "dlg", 25),
    ("Card services", "dlg", 15),
    ("Staff announcements", "dlg", 10),
    ("Web assistant", "certainly", 15),
)
STATUSES = (
    ("accepted", 62),
    ("delivered", 10),
    ("sent", 8),
    ("read", 8),
    ("failed", 6),
    ("unknown", 3),
    ("expired", 1),
    ("queued", 1),
    ("sending", 1),
)
DLG_TYPES = (("text", 60), ("quick_replies", 25), ("document", 10), ("trigger", 5))
DLG_KINDS = (("appCustomerId", 90), ("appStaffId", 7), ("id", 3))
TEXTS = (
    "Your card has been dispatched and should arrive within 3 working days.",
    "Your statement for this month is ready in the app.",
    "We received your payment of 1,250.00 TRY. Thank you!",
    "Your appointment is confirmed for tomorrow at 10:30.",
    "A new login to your account was detected. Was this you?",
    "Your support request #{n} has been answered.",
    "Reminder: your subscription renews in 5 days.",
    "Hello, your order #{n} is out for delivery today.",
    "The branch you asked about is open until 18:00 on weekdays.",
    "Please rate our service: reply with a number from 1 to 5.",
)
FILES = ("statement.pdf", "invoice.pdf", "contract.pdf", "receipt.png", "tariff.xlsx")
FAILURES = (
    ("recipient_not_found", 404, "The platform does not know this recipient."),
    ("rate_limited", 429, "The platform asked us to slow down; retries ran out."),
    ("server_error", 502, "The platform answered HTTP 502."),
)
#: The history row's columns, in insertion order; checked against the model before loading.
COLUMNS = (
    "message_id",
    "bot_id",
    "recipient_id",
    "recipient_kind",
    "recipient_value",
    "recipient_name",
    "message_type",
    "template_id",
    "file_id",
    "summary",
    "request_body",
    "status",
    "http_status",
    "response_body",
    "platform_recipient_id",
    "platform_message_id",
    "error_code",
    "error_message",
    "attempts",
    "latency_ms",
    "sender_id",
    "created_at",
    "sent_at",
    "updated_at",
    # The outbox's bookkeeping: empty for sends that did not come from a campaign.
    "campaign_id",
    "next_attempt_at",
    "lease_owner",
    "lease_expires_at",
)


@dataclass(frozen=True)
class Probe:
    name: str
    params: dict[str, str]


@dataclass(frozen=True)
class Timing:
    median_ms: float
    min_ms: float
    max_ms: float
    rows_shown: int


@dataclass(frozen=True)
class ExportFigures:
    rows: int
    seconds: float
    csv_bytes: int
    rss_before_kb: int
    peak_kb: int

    @property
    def growth_kb(self) -> int:
        return max(self.peak_kb - self.rss_before_kb, 0)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


# --- Django, in the processes that measure ---------------------------------------------------


def setup_django() -> None:
    """Configure Django from the environment this script's parent prepared."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "console.settings"
    # DEBUG on only so that settings create a local secret key and encryption key in the
    # throwaway CONSOLE_VAR_DIR; switched off before anything runs, as in production (no
    # query log, no template debug information).
    os.environ["DEBUG"] = "true"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False


def superuser_client() -> Client:
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(username=SUPERUSER))
    return client


def weighted(pairs: tuple[tuple[Any, int], ...]) -> list[Any]:
    """A lookup list in which each value appears as often as its weight (out of 100)."""
    return [value for value, weight in pairs for _ in range(weight)]


class HistoryGenerator:
    """Realistic history rows, deterministic for a seed, row ``i`` of ``total``."""

    def __init__(
        self,
        total: int,
        bots: list[tuple[int, str]],
        senders: list[int],
        *,
        sqlite: bool,
    ) -> None:
        self.rng = random.Random(SEED)
        self.total = total
        self.sqlite = sqlite
        weights = [share for _, _, share in BOTS]
        self.bots = [bot for bot, weight in zip(bots, weights, strict=True) for _ in range(weight)]
        self.senders = senders
        self.statuses = weighted(STATUSES)
        self.dlg_types = weighted(DLG_TYPES)
        self.dlg_kinds = weighted(DLG_KINDS)
        end = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
        self.first = end - dt.timedelta(days=HISTORY_DAYS)
        self.step = HISTORY_DAYS * 86_400 / total

    def _stamp(self, moment: dt.datetime | None) -> Any:
        if moment is None or not self.sqlite:
            return moment
        # What Django's SQLite backend stores: naive UTC, always with microseconds here so
        # that text order is time order.
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f")

    def rows(self, start: int, stop: int) -> Iterator[tuple[Any, ...]]:
        rng = self.rng
        random_ = rng.random
        dumps = json.dumps
        for i in range(start, stop):
            bot_id, provider = self.bots[int(random_() * 100)]
            status = self.statuses[int(random_() * 100)]
            message_id = f"dlgc-{rng.getrandbits(128):032x}"
            value = str(70_000 + int(random_() * RECIPIENT_POOL))
            text = TEXTS[int(random_() * len(TEXTS))].replace("{n}", str(100_000 + i % 900_000))
            if provider == "certainly":
                message_type, kind = "certainly_text", "user_id"
                summary = text
                body: dict[str, Any] = {"text_message": text, "user_id": value}
            else:
                message_type = self.dlg_types[int(random_() * 100)]
                kind = self.dlg_kinds[int(random_() * 100)]
                content: dict[str, Any] = {"messageId": message_id}
                buttons: list[dict[str, Any]] = []
                summary = text
                if message_type == "document":
                    summary = f"{i % 97:02d}-{FILES[i % len(FILES)]}"
                    size = 20_000 + i % 400_000
                    content["document"] = {
                        "fileName": summary,
                        "fileData": f"<base64: {size} bytes, sha256={message_id[5:]}{i:032x}>",
                        "mimeType": summary.rsplit(".", 1)[1],
                    }
                else:
                    content["text"] = text
                if message_type == "quick_replies":
                    buttons = [
                        {"contentType": "text", "title": title, "payload": title.lower()}
                        for title in ("Yes", "No", "Call me")
                    ]
                elif message_type == "trigger":
                    content["trigger"] = {"command": "open_offer", "data": f"offer-{i % 50}"}
                content["quickReplies"] = []
                content["quickRepliesV2"] = buttons
                body = {"recipient": {kind: value}, "message": content}
            created = self.first + dt.timedelta(seconds=self.step * i + (random_() - 0.5) * 3600)
            latency = 80 + int(random_() * 900)
            http_status: int | None = 200
            response = json.dumps({"recipient_id": f"p{value}", "message_id": message_id})
            platform_recipient, platform_message = f"p{value}", message_id
            error_code = error_message = ""
            sent_at: dt.datetime | None = created + dt.timedelta(milliseconds=latency)
            updated = sent_at
            if status in ("delivered", "read", "sent"):
                updated = created + dt.timedelta(seconds=5 + int(random_() * 600))
            elif status == "failed":
                error_code, http_status, error_message = FAILURES[i % len(FAILURES)]
                response = json.dumps({"error": error_message})
                platform_recipient = platform_message = ""
                sent_at = None
            elif status in ("unknown", "queued", "sending", "expired"):
                http_status = None
                response = platform_recipient = platform_message = ""
                sent_at = None
                if status == "unknown":
                    error_code, error_message = "timeout", "No answer within 15 seconds."
                if status in ("queued", "sending"):
                    latency = 0
            yield (
                message_id,
                bot_id,
                None,
                kind,
                value,
                f"Customer {value}" if random_() < 0.4 else "",
                message_type,
                None,
                None,
                summary,
                dumps(body, ensure_ascii=False, separators=(",", ":")),
                status,
                http_status,
                response,
                platform_recipient,
                platform_message,
                error_code,
                error_message,
                1 if random_() < 0.95 else 2,
                latency or None,
                self.senders[int(random_() * len(self.senders))] if random_() < 0.9 else None,
                self._stamp(created),
                self._stamp(sent_at),
                self._stamp(updated),
                None,
                None,
                "",
                None,
            )


def check_columns() -> str:
    """The history table's name, after checking that COLUMNS still matches the model."""
    from messaging.models import OutboundMessage

    fields = OutboundMessage._meta.concrete_fields
    actual = {field.column for field in fields if not field.primary_key}
    if actual != set(COLUMNS):
        raise SystemExit(
            "bench/history.py: OutboundMessage's columns changed; update COLUMNS. "
            f"Missing here: {sorted(actual - set(COLUMNS))}; gone: {sorted(set(COLUMNS) - actual)}"
        )
    return OutboundMessage._meta.db_table


def load(generator: HistoryGenerator, start: int, stop: int) -> float:
    """Insert rows ``start`` to ``stop`` in batches, one transaction each, with progress;
    returns the seconds taken."""
    from django.db import connection, transaction

    table = connection.ops.quote_name(check_columns())
    names = ", ".join(connection.ops.quote_name(column) for column in COLUMNS)
    placeholders = ", ".join(["%s"] * len(COLUMNS))
    # Table and column names come from the model; every value is bound, never formatted in.
    insert = f"INSERT INTO {table} ({names}) VALUES ({placeholders})"  # noqa: S608
    copy = f"COPY {table} ({names}) FROM STDIN"
    postgres = connection.vendor == "postgresql"
    if postgres:
        with connection.cursor() as cursor:
            # Loader-only; analyze() closes this connection before any timing. (SQLite keeps
            # its defaults: a loader with a large page cache left a file whose export grew.)
            cursor.execute("SET synchronous_commit = off")
    started = time.perf_counter()
    reported = start
    for low in range(start, stop, BATCH):
        high = min(low + BATCH, stop)
        with transaction.atomic(), connection.cursor() as cursor:
            if postgres:
                with cursor.cursor.copy(copy) as stream:
                    for row in generator.rows(low, high):
                        stream.write_row(row)
            else:
                cursor.executemany(insert, list(generator.rows(low, high)))
        if high - reported >= PROGRESS_EVERY or high == stop:
            reported = high
            elapsed = time.perf_counter() - started
            rate = (high - start) / elapsed
            print(
                f"  loaded {high:>9,} of {generator.total:,} rows   {rate:>9,.0f} rows/s",
                flush=True,
            )
    return time.perf_counter() - started


def analyze() -> float:
    """Fresh planner statistics (and, on PostgreSQL, the visibility map) after a bulk load."""
    from django.db import DatabaseError, connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM (ANALYZE)")
            try:
                # Write the load's dirty pages out now rather than during the timings.
                cursor.execute("CHECKPOINT")
            except DatabaseError as error:
                print(f"  (CHECKPOINT not run: {error})".rstrip(), flush=True)
        else:
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()  # the loader's connection (and its pragmas) is not the server's
    return time.perf_counter() - started


def make_world() -> tuple[list[tuple[int, str]], list[int]]:
    """The superuser who reads, ten senders and five bots; returns (bots, sender ids)."""
    from django.contrib.auth.models import User

    from messaging.models import Bot

    User.objects.create_superuser(SUPERUSER, password="x")
    senders = [
        User.objects.create_user(f"sender{n:02d}", password="x", is_staff=True).pk
        for n in range(1, 11)
    ]
    bots = []
    for name, provider, _ in BOTS:
        base_url = "https://app.certainly.io" if provider == "certainly" else "https://dlg.test"
        bot = Bot.objects.create(name=name, provider=provider, base_url=base_url)
        bots.append((bot.pk, provider))
    return bots, senders


def probes(bot_id: int) -> list[Probe]:
    return [
        Probe("first page", {}),
        Probe("status=failed & bot", {"status": "failed", "bot": str(bot_id)}),
        Probe("search by recipient id", {"q": str(70_000 + 12_345)}),
        Probe("page 500", {"page": "500"}),
    ]


def time_probe(client: Client, probe: Probe, repeat: int) -> Timing:
    from django.db import close_old_connections
    from django.urls import reverse

    url = reverse("messaging:history")

    def once() -> tuple[float, HttpResponse]:
        close_old_connections()  # what the end of the previous request does in the server
        started = time.perf_counter()
        response = client.get(url, probe.params)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (probe.name, response.status_code)
        return elapsed, response

    _, response = once()
    samples = [once()[0] for _ in range(repeat)]
    shown = response.content.count(b'data-testid="history-row"')
    return Timing(statistics.median(samples), min(samples), max(samples), shown)


def print_explain(title: str, cleaned: dict[str, Any]) -> None:
    from django.db import connection

    from messaging import history
    from messaging.models import OutboundMessage

    query = (
        history.apply(OutboundMessage.objects.all(), cleaned)
        .select_related("bot", "sender")
        .defer("request_body", "response_body")[: history.PAGE_SIZE + 1]
    )
    if connection.vendor == "postgresql":
        plan = query.explain(analyze=True, buffers=True)
        print(f"\nEXPLAIN (ANALYZE, BUFFERS) of {title}:")
    else:
        plan = query.explain()
        print(f"\nEXPLAIN QUERY PLAN of {title}:")
    print("\n".join(f"    {line}" for line in plan.splitlines()))
    connection.close()


def export_in_child(rows: int) -> ExportFigures:
    """Run one export in a fresh interpreter and read back its figures."""
    command = [sys.executable, str(Path(__file__).resolve()), "--export-child", str(rows)]
    finished = subprocess.run(  # noqa: S603 (our own interpreter and script)
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
        timeout=CHILD_TIMEOUT,
    )
    return ExportFigures(**json.loads(finished.stdout.strip().splitlines()[-1]))


def resident_kb() -> int:
    """The resident set size now (``ru_maxrss`` only knows the peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def consume(response: StreamingHttpResponse) -> tuple[int, int]:
    """Read a streamed response to the end as a client would; returns (lines, bytes)."""
    lines = size = 0
    for chunk in response.streaming_content:
        lines += 1
        size += len(chunk)
    response.close()
    return lines, size


def export_child(expected_rows: int) -> None:
    """One export, alone in this process; prints its figures as JSON on the last line."""
    setup_django()
    from django.urls import reverse

    client = superuser_client()
    url = reverse("messaging:history-export")
    warm = client.get(url, {"q": "no-such-recipient"})
    assert warm.status_code == 200, warm.status_code
    consume(warm)  # imports, URL resolution, session, the query path
    gc.collect()
    rss_before = resident_kb()
    started = time.perf_counter()
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    lines, size = consume(response)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if lines - 1 != expected_rows:
        raise SystemExit(f"export wrote {lines - 1:,} rows, expected {expected_rows:,}")
    figures = ExportFigures(expected_rows, seconds, size, rss_before, peak)
    print(json.dumps(figures.__dict__))


def load_average() -> str:
    """The machine's load, printed beside timings: other work on the host widens them."""
    one, five, _ = os.getloadavg()
    return f"(load average {one:.2f} / {five:.2f}, {os.cpu_count()} CPUs)"


def mb(kb: float) -> str:
    return f"{kb / 1024:,.1f}"


def run_database(label: str, rows: int, small: int, repeat: int, result_file: str) -> None:
    """Everything for one database, whose URL is in DATABASE_URL."""
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    from messaging.models import Bot

    call_command("migrate", verbosity=0)
    bots, senders = make_world()
    with connection.cursor() as cursor:
        sqlite = connection.vendor == "sqlite"
        cursor.execute("SELECT sqlite_version()" if sqlite else "SHOW server_version")
        server = cursor.fetchone()[0]
    print(f"\n=== {label} {server}: {rows:,} rows (export memory compared with {small:,}) ===")
    filter_bot = bots[1][0]
    client = superuser_client()
    checks = probes(filter_bot)

    print(f"timing {len(checks)} requests on the empty table ... {load_average()}", flush=True)
    empty = {probe.name: time_probe(client, probe, repeat) for probe in checks}
    exports = {"empty": export_in_child(0)}

    generator = HistoryGenerator(rows, bots, senders, sqlite=sqlite)
    print(f"loading {small:,} rows ...", flush=True)
    load_seconds = load(generator, 0, small)
    analyze()
    exports["small"] = export_in_child(small)
    print(f"loading up to {rows:,} rows ...", flush=True)
    load_seconds += load(generator, small, rows)
    analyzed = analyze()
    print(
        f"loaded {rows:,} rows in {load_seconds:.1f} s ({rows / load_seconds:,.0f} rows/s); "
        f"ANALYZE {analyzed:.1f} s",
        flush=True,
    )

    print(f"timing {len(checks)} requests at {rows:,} rows ... {load_average()}", flush=True)
    full = {probe.name: time_probe(client, probe, repeat) for probe in checks}
    exports["full"] = export_in_child(rows)

    print(f"\nHistory list, server time, median of {repeat} after a warm-up ({label}):")
    column = f"{rows:,} rows ms"
    print(
        f"{'request':<26} {'empty table ms':>15} {column:>18} {'(min-max)':>17} "
        f"{'ratio':>7}  rows shown"
    )
    for probe in checks:
        base, big = empty[probe.name], full[probe.name]
        spread = f"({big.min_ms:.1f}-{big.max_ms:.1f})"
        print(
            f"{probe.name:<26} {base.median_ms:>15.1f} {big.median_ms:>18.1f} {spread:>17} "
            f"{big.median_ms / base.median_ms:>6.2f}x  {base.rows_shown} / {big.rows_shown}"
        )

    print_explain("the first page", {})
    print_explain(
        "the first page filtered by status=failed and bot",
        {"status": "failed", "bot": Bot.objects.get(pk=filter_bot)},
    )

    print(f"\nCSV export, each in a fresh process ({label}):")
    print(
        f"{'table':<16} {'rows':>10} {'seconds':>8} {'rows/s':>9} {'CSV MB':>8} "
        f"{'RSS before MB':>14} {'peak RSS MB':>12} {'growth MB':>10}"
    )
    for name, figures in (
        ("empty", exports["empty"]),
        (f"{small:,} rows", exports["small"]),
        (f"{rows:,} rows", exports["full"]),
    ):
        print(
            f"{name:<16} {figures.rows:>10,} {figures.seconds:>8.2f} "
            f"{figures.rows_per_second:>9,.0f} {mb(figures.csv_bytes / 1024):>8} "
            f"{mb(figures.rss_before_kb):>14} {mb(figures.peak_kb):>12} {mb(figures.growth_kb):>10}"
        )
    low, high = exports["small"], exports["full"]
    peak_ratio = high.peak_kb / low.peak_kb
    growth_ratio = high.growth_kb / low.growth_kb if low.growth_kb else float("inf")
    print(f"peak RSS ratio, {rows:,} / {small:,} rows:   {peak_ratio:.2f}x")
    print(
        f"RSS growth ratio, {rows:,} / {small:,} rows: {growth_ratio:.2f}x "
        f"({mb(low.growth_kb)} MB -> {mb(high.growth_kb)} MB)"
    )

    first_page = full["first page"].median_ms
    page_met = first_page <= FIRST_PAGE_TARGET_MS
    rss_met = peak_ratio <= RSS_RATIO_TARGET
    verdicts = [
        (
            f"first page at {rows:,} rows: {first_page:.1f} ms, target <= "
            f"{FIRST_PAGE_TARGET_MS:.0f} ms"
            + ("" if connection.vendor == "postgresql" else " (set for PostgreSQL; for reference)"),
            page_met,
        ),
        (
            f"export peak RSS {rows:,} vs {small:,} rows: {peak_ratio:.2f}x, target <= "
            f"{RSS_RATIO_TARGET}x",
            rss_met,
        ),
    ]
    print(f"\nTargets ({label}):")
    for text, met in verdicts:
        print(f"  {'MET   ' if met else 'MISSED'} {text}")
    if rows != 1_000_000 or small != 10_000:
        print("  (the targets are stated at 1,000,000 and 10,000 rows)")
    Path(result_file).write_text(json.dumps({"label": label, "verdicts": verdicts}))


# --- The parent: databases, environment, children --------------------------------------------


def postgres_url(args: argparse.Namespace) -> str | None:
    if args.sqlite_only:
        return None
    url = args.postgres or os.environ.get("DATABASE_URL", "")
    return url if urlsplit(url).scheme.startswith("postgres") else None


def run_child(label: str, database_url: str, args: argparse.Namespace, scratch: Path) -> dict:
    var_dir = scratch / f"var-{label.lower()}"
    result_file = scratch / f"result-{label.lower()}.json"
    env = {**os.environ, "DATABASE_URL": database_url, "CONSOLE_VAR_DIR": str(var_dir)}
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--run-database",
        label,
        "--rows",
        str(args.rows),
        "--small",
        str(args.small),
        "--repeat",
        str(args.repeat),
        "--result-file",
        str(result_file),
    ]
    subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=4 * CHILD_TIMEOUT)  # noqa: S603
    return json.loads(result_file.read_text())


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per request")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--postgres", metavar="URL", help="server to create a scratch database on")
    parser.add_argument("--export-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--run-database", help=argparse.SUPPRESS)
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.export_child is not None:
        export_child(args.export_child)
        return
    if args.run_database:
        run_database(args.run_database, args.rows, args.small, args.repeat, args.result_file)
        return
    if not 0 < args.small < args.rows or args.repeat < 1:
        parser.error("need 0 < --small < --rows and --repeat >= 1")

    print(
        f"DLG Console history benchmark: Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {args.rows:,} rows, repeat {args.repeat}"
    )
    scratch = Path(tempfile.mkdtemp(prefix="dlg-console-bench-history-"))
    results = []
    try:
        sqlite_url = f"sqlite:///{scratch / 'history.sqlite3'}"
        results.append(run_child("SQLite", sqlite_url, args, scratch))
        server = postgres_url(args)
        if server:
            results.append(run_postgres(server, args, scratch))
        else:
            print("\n(PostgreSQL skipped: no DATABASE_URL or --postgres, or --sqlite-only)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print("\nSummary:")
    for result in results:
        for text, met in result["verdicts"]:
            print(f"  {result['label']:<10} {'MET   ' if met else 'MISSED'} {text}")


def run_postgres(server: str, args: argparse.Namespace, scratch: Path) -> dict:
    """Create a scratch database on the server, run there, and drop it whatever happens."""
    import psycopg
    from psycopg import sql

    name = f"dlg_console_bench_{os.getpid()}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        return run_child("PostgreSQL", with_database(server, name), args, scratch)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


if __name__ == "__main__":
    main()
