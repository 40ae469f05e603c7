"""Screenshots of the compose page for the docs, taken in Chromium against the live console.

    python bench/screenshots.py [--out docs/screenshots]

The script runs itself under pytest with the browser tests' fixtures (``tests/conftest.py``), so it
gets the same live server, loopback sandbox and Chromium launch settings. Each function below
fills in the compose page the way a sender would, waits until the live preview shows the result
and saves a full-page PNG, 1400 pixels wide, into ``SCREENSHOTS_DIR``.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
OUT_ENV = "SCREENSHOTS_DIR"
DEFAULT_OUT = ROOT / "docs" / "screenshots"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the PNGs")
    args, pytest_args = parser.parse_known_args()
    os.environ[OUT_ENV] = str(args.out.resolve())
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    return pytest.main([str(Path(__file__).resolve()), "-q", *pytest_args])


if __name__ == "__main__":
    # Run as a script: hand over to pytest, which imports this file again as a test module
    # once Django is configured; the imports below are for that second import only.
    sys.exit(main())

from django.contrib.auth.models import Permission, User  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402
from playwright.sync_api import Page, expect  # noqa: E402

from messaging.models import Bot, MessageTemplate, Recipient  # noqa: E402
from sandbox.testing import SandboxHandle  # noqa: E402
from tests.test_browser_compose import (  # noqa: E402
    button_field,
    choose_bot,
    choose_type,
    open_compose,
    send,
    swapped,
    type_recipient,
)

# The browser tests' fixtures: live sandbox, bots, the sender and Chromium's launch settings.
pytest_plugins = ["tests.conftest"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORT = {"width": 1400, "height": 900}
AYSE = "Ayşe Yılmaz"  # noqa: RUF001 (Turkish dotless i)
KADIKOY = "Kadıköy"  # noqa: RUF001 (Turkish dotless i)
PHOTO_SIZE = "900 \N{MULTIPLICATION SIGN} 1200"


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": VIEWPORT}


@pytest.fixture
def out_dir() -> Path:
    raw = os.environ.get(OUT_ENV)
    if not raw:
        pytest.skip(f"set {OUT_ENV} (or run python bench/screenshots.py) to write screenshots")
    path = Path(raw)
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def scene(alice: User, dlg_bot: Bot, certainly_bot: Bot) -> dict[str, Bot]:
    """A sender who may also save templates, both demo bots by platform and a small directory."""
    alice.user_permissions.add(Permission.objects.get(codename="add_messagetemplate"))
    Recipient.objects.create(
        name=AYSE,
        kind="appCustomerId",
        value="70023",
        attributes={"first_name": "Ayşe", "branch": KADIKOY},
    )
    Recipient.objects.create(name="Burak Demir", kind="appCustomerId", value="70021")
    Recipient.objects.create(name="Ayla Kaya", kind="user_id", value="c-1001")
    MessageTemplate.objects.create(
        name="Card ready",
        message_type="text",
        content={"text": "Merhaba {{ first_name }}, your new card is ready."},
    )
    return {"dlg": dlg_bot, "certainly": certainly_bot}


def open_for(page: Page, base_url: str, bot: Bot) -> None:
    page.set_default_timeout(10_000)
    open_compose(page, base_url)
    choose_bot(page, bot)


def shoot(page: Page, out_dir: Path, name: str) -> None:
    expect(page.get_by_test_id("json")).to_be_visible()
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )
    page.wait_for_function("() => [...document.images].every(image => image.complete)")
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.screenshot(path=out_dir / name, full_page=True)


def pick_recipient(page: Page, query: str, name: str) -> None:
    with swapped(page, "recipients"):
        page.get_by_label("Find a recipient").press_sequentially(query)
    with swapped(page, "pick"):
        page.get_by_role("listbox").get_by_role("option", name=name).click()
    expect(page.get_by_test_id("recipient-chip")).to_contain_text(name)


def branch_photo() -> bytes:
    """A portrait picture with some structure, so the thumbnail reads as a photo."""
    width, height = 900, 1200
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        shade = y * 255 // height
        draw.line([(0, y), (width, y)], fill=(40 + shade // 3, 110 + shade // 4, 200 - shade // 3))
    draw.rectangle([150, 520, 750, 1200], fill=(235, 232, 224))
    draw.rectangle([150, 470, 750, 540], fill=(31, 111, 235))
    for column in range(3):
        left = 200 + column * 190
        draw.rectangle([left, 620, left + 130, 800], fill=(120, 170, 210))
    draw.rectangle([380, 900, 520, 1200], fill=(90, 60, 40))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def test_text(page: Page, live_server: Any, scene: dict[str, Bot], out_dir: Path) -> None:
    open_for(page, live_server.url, scene["dlg"])
    pick_recipient(page, "Ay", AYSE)
    page.get_by_label("Text", exact=True).fill(
        "Merhaba {{ first_name }}, your new card is ready to collect at the "
        "{{ branch }} branch. Bring your ID, please."
    )
    expect(page.get_by_test_id("bubble")).to_contain_text("Merhaba Ayşe")
    shoot(page, out_dir, "compose-text.png")


def test_quick_replies(page: Page, live_server: Any, scene: dict[str, Bot], out_dir: Path) -> None:
    open_for(page, live_server.url, scene["dlg"])
    type_recipient(page, "DLG customer id", "70023")
    choose_type(page, "Quick replies")
    page.get_by_label("Text", exact=True).fill("Is tomorrow at 10:00 good for your branch visit?")
    buttons = [
        ("Yes, 10:00", "visit-yes", "See you tomorrow at 10:00"),
        ("Another day", "visit-later", ""),
        ("Call me", "visit-call", "Please call me"),
    ]
    for row, (title, payload, shown) in enumerate(buttons):
        with swapped(page, "refresh"):
            page.get_by_role("button", name="Add a button").click()
        button_field(page, row, "title").fill(title)
        button_field(page, row, "payload").fill(payload)
        button_field(page, row, "payload_seen_by_user").fill(shown)
    expect(page.get_by_test_id("chip")).to_have_text([title for title, _, _ in buttons])
    shoot(page, out_dir, "compose-quick-replies.png")


def test_document_photo(
    page: Page, live_server: Any, scene: dict[str, Bot], out_dir: Path, tmp_path: Path
) -> None:
    photo = tmp_path / "kadikoy-branch.jpg"
    photo.write_bytes(branch_photo())
    open_for(page, live_server.url, scene["dlg"])
    pick_recipient(page, "Ay", AYSE)
    choose_type(page, "Document")
    with swapped(page, "upload"):
        page.locator("#id_file").set_input_files(photo)
    expect(page.get_by_test_id("photo-size")).to_have_text(PHOTO_SIZE)
    expect(page.get_by_test_id("bubble")).to_contain_text(PHOTO_SIZE)
    shoot(page, out_dir, "compose-document-photo.png")


def test_trigger(page: Page, live_server: Any, scene: dict[str, Bot], out_dir: Path) -> None:
    open_for(page, live_server.url, scene["dlg"])
    type_recipient(page, "DLG customer id", "70023")
    choose_type(page, "Trigger app message")
    page.get_by_label("Text", exact=True).fill("Tap to approve the transfer of 1,250 TL.")
    page.get_by_label("Command").fill("ApproveTransaction")
    page.get_by_label("Data").fill('{"custNo": 2337368, "amount": "1250.00"}')
    expect(page.get_by_test_id("phone")).to_contain_text("ApproveTransaction")
    shoot(page, out_dir, "compose-trigger.png")


def test_certainly(page: Page, live_server: Any, scene: dict[str, Bot], out_dir: Path) -> None:
    open_for(page, live_server.url, scene["certainly"])
    pick_recipient(page, "Ay", "Ayla Kaya")
    page.get_by_label("Text", exact=True).fill(
        "Thanks for waiting. An agent will join this conversation in a moment."
    )
    expect(page.get_by_test_id("json")).to_contain_text('"user_id": "c-1001"')
    shoot(page, out_dir, "compose-certainly.png")


def test_sent(
    page: Page, live_server: Any, scene: dict[str, Bot], sandbox: SandboxHandle, out_dir: Path
) -> None:
    open_for(page, live_server.url, scene["dlg"])
    pick_recipient(page, "Ay", AYSE)
    page.get_by_label("Text", exact=True).fill("Merhaba {{ first_name }}, your card is ready.")
    expect(page.get_by_test_id("bubble")).to_have_text("Merhaba Ayşe, your card is ready.")
    send(page)
    expect(page.get_by_text("accepted the message")).to_be_visible()
    page.screenshot(path=out_dir / "sent.png", full_page=True)
