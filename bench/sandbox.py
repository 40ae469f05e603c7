"""Throughput of the platform sandbox, next to a do-nothing HTTP server as the baseline.

Sends N valid DLG text sends from K threads over one pooled requests.Session and prints
requests/second and p50/p95 latency. The subprocess figures are the honest ones (the client
does not share a GIL with the server); in-process figures are printed too because tests run
that way. The baseline answers 200 `{}` at once, so the ratio is the sandbox's own overhead.

    python bench/sandbox.py [-n 5000] [-k 8] [--mode both|subprocess|in-process]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if not __package__:
    # Run as a script, bench/ is sys.path[0] and this file would shadow the sandbox package.
    sys.path[0] = str(ROOT)

CUSTOMERS = ("70021", "70022", "70023")


class BaselineHandler(BaseHTTPRequestHandler):
    """Same HTTP plumbing as the sandbox (keep-alive, one write per answer), no work."""

    protocol_version = "HTTP/1.1"
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass


class BaselineServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


@dataclass
class Result:
    label: str
    count: int
    seconds: float
    latencies: list[float]
    failures: int

    @property
    def rps(self) -> float:
        return self.count / self.seconds

    def percentile(self, p: int) -> float:
        return statistics.quantiles(self.latencies, n=100)[p - 1] * 1000

    def line(self) -> str:
        return (
            f"{self.label:<28} {self.rps:>9,.0f} req/s   p50 {self.percentile(50):6.2f} ms   "
            f"p95 {self.percentile(95):6.2f} ms   failures {self.failures}"
        )


def text_send(seq: int) -> bytes:
    body = {
        "recipient": {"appCustomerId": CUSTOMERS[seq % len(CUSTOMERS)]},
        "message": {
            "messageId": f"bench-{os.getpid()}-{seq}",
            "text": "Merhaba, ekstreniz e-posta adresinize gönderildi.",
            "quickReplies": [],
            "quickRepliesV2": [],
        },
    }
    return json.dumps(body).encode()


def run_load(label: str, url: str, total: int, threads: int, first_seq: int) -> Result:
    """K threads share one pooled Session and a counter; each stops when N are sent."""
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=threads))
    counter = itertools.count(first_seq)
    lock = threading.Lock()
    latencies: list[float] = []
    failures = 0
    headers = {"Content-Type": "application/json"}

    def worker() -> None:
        nonlocal failures
        local: list[float] = []
        bad = 0
        while True:
            seq = next(counter)
            if seq >= first_seq + total:
                break
            payload = text_send(seq)
            started = time.perf_counter()
            response = session.post(url, data=payload, headers=headers, timeout=10)
            local.append(time.perf_counter() - started)
            bad += response.status_code != 200
        with lock:
            latencies.extend(local)
            failures += bad

    started = time.perf_counter()
    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - started
    session.close()
    return Result(label, total, elapsed, latencies, failures)


@contextlib.contextmanager
def subprocess_server(command: list[str]) -> Iterator[str]:
    """Start a server process that prints 'listening on <url>' first; stop it with SIGTERM."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and script)
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        if "listening on " not in line:
            raise RuntimeError(f"server did not start: {line!r}")
        yield line.split("listening on ")[1].split()[0]
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def in_process_baseline() -> Iterator[str]:
    server = BaselineServer(("127.0.0.1", 0), BaselineHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def measure(
    mode: str, total: int, threads: int, warmup: int
) -> tuple[Result, Result, dict[str, Any]]:
    from sandbox.defaults import DEMO_DLG_TOKEN
    from sandbox.testing import RemoteSandbox, running_sandbox

    path = f"/v1/bots/sendmessage/{DEMO_DLG_TOKEN}"
    with contextlib.ExitStack() as stack:
        if mode == "subprocess":
            sandbox_command = [sys.executable, "-m", "sandbox.server", "--port", "0"]
            baseline_command = [sys.executable, str(Path(__file__)), "--serve-baseline"]
            sandbox_url = stack.enter_context(subprocess_server(sandbox_command))
            baseline_url = stack.enter_context(subprocess_server(baseline_command))
        else:
            sandbox_url = stack.enter_context(running_sandbox()).url
            baseline_url = stack.enter_context(in_process_baseline())
        run_load("warm-up", baseline_url + path, warmup, threads, 0)
        run_load("warm-up", sandbox_url + path, warmup, threads, 0)
        RemoteSandbox(sandbox_url).reset()
        baseline = run_load(f"baseline ({mode})", baseline_url + path, total, threads, warmup)
        sandbox = run_load(f"sandbox ({mode})", sandbox_url + path, total, threads, warmup)
        stats = RemoteSandbox(sandbox_url).stats()
    return baseline, sandbox, stats


def serve_baseline() -> None:
    server = BaselineServer(("127.0.0.1", 0), BaselineHandler)
    print(f"Baseline listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        import signal

        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        server.serve_forever()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--requests", type=int, default=5000)
    parser.add_argument("-k", "--threads", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--mode", choices=("both", "subprocess", "in-process"), default="both")
    parser.add_argument("--serve-baseline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        serve_baseline()
        return 0
    modes = ("subprocess", "in-process") if args.mode == "both" else (args.mode,)
    print(f"{args.requests} DLG text sends, {args.threads} client threads, one pooled Session")
    ok = True
    for mode in modes:
        baseline, sandbox, stats = measure(mode, args.requests, args.threads, args.warmup)
        print(baseline.line())
        print(sandbox.line())
        print(
            f"{'':<28} sandbox/baseline throughput {sandbox.rps / baseline.rps:.2f}   "
            f"accepted {stats['accepted']}   duplicate messageIds "
            f"{stats['duplicate_message_ids']}"
        )
        ok = ok and not sandbox.failures and stats["accepted"] == args.requests
        ok = ok and stats["duplicate_message_ids"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
