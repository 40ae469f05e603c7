"""Server time of the compose page's preview and of a text send, beside a raw post.

Runs the console in-process (Django's test client, so the figure is the server's own time:
middleware, form, service, database and the platform call) against the sandbox on loopback.
The baseline, measured in the same run, is a pooled ``requests`` post of the same JSON body
to the same sandbox: the ratio is what the console adds on top of the platform call.

    python bench/compose.py [-n 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["CONSOLE_VAR_DIR"] = tempfile.mkdtemp(prefix="dlg-console-bench-")
os.environ.pop("DATABASE_URL", None)

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.contrib.auth.models import Permission, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from messaging.models import Bot, OutboundMessage, new_message_id  # noqa: E402
from sandbox import defaults  # noqa: E402
from sandbox.testing import running_sandbox  # noqa: E402


def timed(action: Callable[[], object], rounds: int) -> list[float]:
    for _ in range(5):  # warm connections, caches and the template loader
        action()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def summary(name: str, samples: list[float]) -> float:
    median = statistics.median(samples)
    p95 = statistics.quantiles(samples, n=20)[18]
    print(f"{name:<34} median {median:7.2f} ms   p95 {p95:7.2f} ms   ({len(samples)} runs)")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--rounds", type=int, default=200)
    rounds = parser.parse_args().rounds

    call_command("migrate", verbosity=0)
    user = User.objects.create_user("bench", password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="send_message"))
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)

    with running_sandbox() as sandbox:
        bot = Bot.objects.create(
            name="bench",
            provider="dlg",
            base_url=sandbox.url,
            access_token=defaults.DEMO_DLG_TOKEN,
        )

        def form() -> dict[str, str]:
            return {
                "message_id": new_message_id(),
                "bot": str(bot.pk),
                "message_type": "text",
                "recipient_kind": "appCustomerId",
                "recipient_value": "70023",
                "text": "Your card has been dispatched.",
                "buttons-TOTAL_FORMS": "0",
                "buttons-INITIAL_FORMS": "0",
            }

        def preview() -> None:
            response = client.post(reverse("messaging:compose-preview"), form())
            assert response.status_code == 200

        def send() -> None:
            response = client.post(reverse("messaging:compose"), form())
            assert response.status_code == 302, response.content[:500]

        session = requests.Session()
        url = sandbox.dlg_url(defaults.DEMO_DLG_TOKEN)

        def raw() -> None:
            body = {
                "recipient": {"appCustomerId": "70023"},
                "message": {
                    "messageId": new_message_id(),
                    "text": "Your card has been dispatched.",
                    "quickReplies": [],
                    "quickRepliesV2": [],
                },
            }
            assert session.post(url, json=body, timeout=10).status_code == 200

        print(f"DLG Console compose benchmark, {rounds} rounds each, SQLite, sandbox on loopback")
        baseline = summary("raw requests post (baseline)", timed(raw, rounds))
        previewed = summary("console preview (no platform call)", timed(preview, rounds))
        sent = summary("console text send (full path)", timed(send, rounds))
        print(
            f"send / raw post ratio: {sent / baseline:.2f}x (console adds {sent - baseline:.2f} ms)"
        )
        print(f"preview / raw post ratio: {previewed / baseline:.2f}x")
        accepted = OutboundMessage.objects.filter(status="accepted").count()
        print(f"messages accepted by the sandbox: {accepted} of {rounds + 5}")


if __name__ == "__main__":
    main()
