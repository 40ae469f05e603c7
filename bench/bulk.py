"""Throughput and worker memory of a bulk send (campaign), beside a raw pooled HTTP client.

A campaign is only worth its bookkeeping if it keeps up with the platform: the console
claims each message from the database, waits for its send slot, posts it, and records the
answer, so what it costs on top of the posts themselves is the figure that matters. For each
database (SQLite with one worker; PostgreSQL with two when ``--postgres URL`` is given or
``DATABASE_URL`` names a PostgreSQL server) and each injected platform latency (none and 50 ms
by default) the script:

1. starts the sandbox in its own process (``manage.py sandbox --config FILE`` accepting any
   recipient, ``--latency-ms`` as asked), and a fresh migrated database;
2. creates a ``--recipients`` campaign (10,000 by default) through a bot whose rate limit
   (10,000/s) is never the bottleneck, and starts it (the outbox is written, tasks queued);
3. sends the very same request bodies with a raw pooled ``requests`` client, with as many
   threads as the workers have in flight together (CAMPAIGN_CONCURRENCY x workers): the
   baseline of this run, on the same sandbox;
4. clears the sandbox, starts the ``manage.py db_worker`` processes and waits (bounded) until
   the campaign is finished, printing progress;
5. prints messages per second of both and their ratio, each worker's peak resident set
   (``VmHWM`` from ``/proc/<pid>/status`` when the campaign is finished), and the sandbox's
   count of requests received and of duplicate message ids.

Rates are the sandbox's own view: messages divided by the time from the first request it
received to the last, for the console and for the raw client alike.

With ``--rss-recipients 100000`` a second, larger campaign runs without latency and its
workers' peak RSS is compared with the first run's: the outbox is read in batches, so a
worker's memory should not grow with the campaign.

Targets: the console at 0.8 or more of the raw client's throughput with 50 ms latency, and
each worker's peak RSS at 100,000 recipients at most 1.2 times the peak at 10,000.

    python bench/bulk.py [--recipients 10000] [--latency-ms 0 50] [--rss-recipients 100000]
                         [--sqlite-only] [--postgres postgres://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if not __package__:
    # Run as a script, bench/ is sys.path[0]; the project's packages live one level up.
    sys.path[0] = str(ROOT)

import requests  # noqa: E402

from sandbox import defaults  # noqa: E402
from sandbox.testing import RemoteSandbox  # noqa: E402
from tests.campaign_harness import (  # noqa: E402
    Database,
    Stack,
    is_postgres,
    parse_time,
)

THROUGHPUT_TARGET = 0.8
RSS_RATIO_TARGET = 1.2
BOT_RATE = 10_000.0
CONCURRENCY = 8
#: The slowest a campaign may go before the run is abandoned (messages per second).
FLOOR_RATE = 20.0


@dataclass
class Outcome:
    """One campaign run and its raw-client baseline."""

    backend: str
    workers: int
    recipients: int
    latency_ms: float
    console_rate: float = 0.0
    console_wall: float = 0.0
    raw_rate: float | None = None
    rss_kib: list[int] = field(default_factory=list)
    received: int = 0
    duplicates: int = 0
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return self.console_rate / self.raw_rate if self.raw_rate else None


def sandbox_config(path: Path) -> Path:
    config = defaults.default_config().to_dict()
    config["accept_any_recipient"] = True
    config.pop("customer", None)
    path.write_text(json.dumps(config))
    return path


def start_sandbox(stack: Stack, latency_ms: float) -> tuple[subprocess.Popen[bytes], str]:
    """``manage.py sandbox`` on a free port; its URL from the startup line."""
    config = sandbox_config(stack.workdir / "sandbox.json")
    log_path = stack.workdir / "sandbox.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [
                sys.executable,
                "manage.py",
                "sandbox",
                "--config",
                str(config),
                "--port",
                "0",
                "--latency-ms",
                str(latency_ms),
            ],
            cwd=ROOT,
            env=stack.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(r"listening on (http://\S+)", log_path.read_text(errors="replace"))
        if found:
            return process, found.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the sandbox did not start:\n{log_path.read_text(errors='replace')}")


def peak_rss_kib(pid: int) -> int:
    """The process's peak resident set so far (VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def arrival_rate(sandbox: RemoteSandbox, expected: int) -> tuple[float, int]:
    """Messages per second as the sandbox saw them: first arrival to last."""
    arrivals = [parse_time(r["received_at"]) for r in sandbox.requests()]
    times = sorted(moment.timestamp() for moment in arrivals if moment is not None)
    if len(times) < 2:
        return 0.0, len(times)
    span = max(times[-1] - times[0], 1e-6)
    return (min(len(times), expected) - 1) / span, len(times)


def raw_send(url: str, bodies: list[dict[str, Any]], threads: int) -> float:
    """Post every body with ``threads`` threads, one pooled session each; the wall time."""
    local = threading.local()

    def post(body: dict[str, Any]) -> int:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        return session.post(url, json=body, timeout=30).status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        codes = list(pool.map(post, bodies))
    wall = time.perf_counter() - started
    refused = sum(1 for code in codes if code != 200)
    if refused:
        print(f"    raw client: {refused} requests were not answered 200")
    return wall


def request_bodies(database: Database, campaign_id: int) -> list[dict[str, Any]]:
    rows = database.query(
        "SELECT request_body FROM messaging_outboundmessage WHERE campaign_id = %s ORDER BY id",
        (campaign_id,),
    )
    return [json.loads(body) if isinstance(body, str) else body for (body,) in rows]


def run_case(
    template: Database,
    workdir: Path,
    *,
    workers: int,
    recipients: int,
    latency_ms: float,
    with_raw: bool,
) -> Outcome:
    outcome = Outcome(template.backend, workers, recipients, latency_ms)
    label = f"{template.backend}, {workers} worker(s), {recipients:,} recipients, {latency_ms:g} ms"
    print(f"\n== {label}")
    workdir.mkdir(parents=True, exist_ok=True)
    if template.backend == "postgres":
        database = template.clone(f"dlgc_bulk_{uuid.uuid4().hex[:12]}")
    else:
        database = template.clone(workdir / "console.sqlite3")
    stack = Stack(
        database,
        workdir,
        {"CAMPAIGN_CONCURRENCY": str(CONCURRENCY), "CAMPAIGN_PARALLEL_TASKS": str(workers)},
    )
    sandbox_process, url = start_sandbox(stack, latency_ms)
    sandbox = RemoteSandbox(url, timeout=60)
    try:
        started = time.perf_counter()
        made = stack.setup_campaign(sandbox_url=url, recipients=recipients, rate_limit=BOT_RATE)
        campaign_id = made["campaign_id"]
        took = time.perf_counter() - started
        print(f"    campaign written: {made['total']:,} messages in {took:.1f} s")

        if with_raw:
            bodies = request_bodies(database, campaign_id)
            threads = CONCURRENCY * workers
            wall = raw_send(sandbox.dlg_url(defaults.DEMO_DLG_TOKEN), bodies, threads)
            outcome.raw_rate, seen = arrival_rate(sandbox, len(bodies))
            print(
                f"    raw requests client ({threads} threads): {outcome.raw_rate:,.0f} msg/s "
                f"({seen:,} received, wall {wall:.1f} s)"
            )
            # Clearing the records clears the faults too: put the latency back.
            sandbox.reset()
            sandbox.set_faults(latency_ms=latency_ms)

        began = time.perf_counter()
        for _ in range(workers):
            stack.start_worker()
        limit = 60 + recipients / FLOOR_RATE
        last_print = 0.0
        while True:
            state = stack.campaign(campaign_id)
            elapsed = time.perf_counter() - began
            if state["status"] != "running" or elapsed > limit:
                break
            if elapsed - last_print >= 5:
                counts = stack.counts(campaign_id)
                done = recipients - counts.get("queued", 0) - counts.get("sending", 0)
                print(f"    {elapsed:5.0f} s: {done:,} of {recipients:,} settled")
                last_print = elapsed
            time.sleep(0.25)
        outcome.console_wall = time.perf_counter() - began
        outcome.rss_kib = [peak_rss_kib(process.pid) for process in stack.workers]
        outcome.statuses = stack.counts(campaign_id)
        if state["status"] != "finished":
            print(
                f"    NOT FINISHED after {outcome.console_wall:.0f} s: {state['status']}, "
                f"{outcome.statuses}"
            )
        outcome.console_rate, _ = arrival_rate(sandbox, recipients)
        stats = sandbox.stats()
        outcome.received = stats["received"]
        outcome.duplicates = stats["duplicate_message_ids"]
        print(
            f"    console: {outcome.console_rate:,.0f} msg/s (wall {outcome.console_wall:.1f} s "
            f"from worker start, statuses {outcome.statuses})"
        )
        rss = ", ".join(f"{kib / 1024:.1f} MiB" for kib in outcome.rss_kib)
        print(f"    peak RSS per worker: {rss}")
        print(
            f"    sandbox: {outcome.received:,} requests received, "
            f"{outcome.duplicates} duplicate message ids"
        )
        if outcome.ratio is not None:
            print(f"    console / raw: {outcome.ratio:.2f}")
    finally:
        stack.stop()
        sandbox_process.terminate()
        try:
            sandbox_process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sandbox_process.kill()
        database.drop()
    return outcome


def report(outcomes: list[Outcome], rss_pairs: list[tuple[Outcome, Outcome]]) -> bool:
    """The summary table and the verdict on each target; True when every target is met."""
    print("\n== Summary")
    print(
        f"{'database':<9} {'workers':>7} {'recipients':>10} {'latency':>8} "
        f"{'console/s':>10} {'raw/s':>8} {'ratio':>6} {'peak RSS (MiB)':>16} {'received':>9}"
    )
    for o in outcomes:
        raw = f"{o.raw_rate:,.0f}" if o.raw_rate else "-"
        ratio = f"{o.ratio:.2f}" if o.ratio is not None else "-"
        rss = "/".join(f"{kib / 1024:.0f}" for kib in o.rss_kib)
        print(
            f"{o.backend:<9} {o.workers:>7} {o.recipients:>10,} {o.latency_ms:>6g}ms "
            f"{o.console_rate:>10,.0f} {raw:>8} {ratio:>6} {rss:>16} {o.received:>9,}"
        )
    met = True
    for o in outcomes:
        complete = o.statuses == {"accepted": o.recipients} and o.duplicates == 0
        if not complete or o.received != o.recipients:
            met = False
            print(
                f"MISSED: {o.backend} {o.recipients:,} at {o.latency_ms:g} ms did not send "
                f"every message exactly once ({o.statuses}, {o.received:,} received, "
                f"{o.duplicates} duplicates)"
            )
        if o.latency_ms >= 50 and o.ratio is not None:
            verdict = "met" if o.ratio >= THROUGHPUT_TARGET else "MISSED"
            met = met and o.ratio >= THROUGHPUT_TARGET
            print(
                f"{verdict}: {o.backend} throughput at {o.latency_ms:g} ms latency is "
                f"{o.ratio:.2f} of the raw client's (target {THROUGHPUT_TARGET})"
            )
    for small, large in rss_pairs:
        ratio = max(large.rss_kib) / max(small.rss_kib)
        verdict = "met" if ratio <= RSS_RATIO_TARGET else "MISSED"
        met = met and ratio <= RSS_RATIO_TARGET
        print(
            f"{verdict}: {small.backend} peak worker RSS at {large.recipients:,} recipients is "
            f"{ratio:.2f}x the peak at {small.recipients:,} (target {RSS_RATIO_TARGET}x)"
        )
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0, 50.0])
    parser.add_argument(
        "--rss-recipients",
        type=int,
        default=0,
        help="also run a campaign this large (no latency) and compare worker peak RSS",
    )
    parser.add_argument("--postgres", help="a PostgreSQL server URL (else DATABASE_URL's)")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--postgres-only", action="store_true")
    args = parser.parse_args()

    pg_url = args.postgres or (
        os.environ["DATABASE_URL"] if is_postgres(os.environ.get("DATABASE_URL")) else None
    )
    backends: list[tuple[str, int]] = []
    if not args.postgres_only:
        backends.append(("sqlite", 1))
    if pg_url and not args.sqlite_only:
        backends.append(("postgres", 2))
    workdir = Path(tempfile.mkdtemp(prefix="dlg-console-bulk-"))
    print(f"DLG Console bulk-send benchmark; work files in {workdir}")
    print(f"CAMPAIGN_CONCURRENCY={CONCURRENCY}, bot rate limit {BOT_RATE:,.0f}/s")

    outcomes: list[Outcome] = []
    rss_pairs: list[tuple[Outcome, Outcome]] = []
    for backend, workers in backends:
        if backend == "postgres":
            assert pg_url is not None
            template = Database.postgres(pg_url, f"dlgc_bulk_tmpl_{uuid.uuid4().hex[:12]}")
        else:
            template = Database.sqlite(workdir / "template.sqlite3")
        try:
            Stack(template, workdir).migrate()
            baseline: Outcome | None = None
            for latency in args.latency_ms:
                outcome = run_case(
                    template,
                    workdir / f"{backend}-{latency:g}ms",
                    workers=workers,
                    recipients=args.recipients,
                    latency_ms=latency,
                    with_raw=True,
                )
                outcomes.append(outcome)
                if latency == 0:
                    baseline = outcome
            if args.rss_recipients:
                large = run_case(
                    template,
                    workdir / f"{backend}-{args.rss_recipients}",
                    workers=workers,
                    recipients=args.rss_recipients,
                    latency_ms=0.0,
                    with_raw=False,
                )
                outcomes.append(large)
                if baseline is not None:
                    rss_pairs.append((baseline, large))
        finally:
            template.drop()
    return 0 if report(outcomes, rss_pairs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
