"""Building compose-form posts the way the page's browser would."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from messaging.models import new_message_id


def post_data(bot: Any, **fields: Any) -> dict[str, Any]:
    """A complete compose POST: text to customer 70023 unless told otherwise."""
    buttons = fields.pop("buttons", [])
    data: dict[str, Any] = {
        "message_id": new_message_id(),
        "bot": bot.pk,
        "message_type": "text",
        "recipient_kind": "appCustomerId",
        "recipient_value": "70023",
        "text": "Hello",
        "buttons-TOTAL_FORMS": str(len(buttons)),
        "buttons-INITIAL_FORMS": "0",
        **fields,
    }
    for index, button in enumerate(buttons):
        for key, value in button.items():
            data[f"buttons-{index}-{key}"] = value
    return data


def jpeg(width: int = 640, height: int = 480, orientation: int | None = None) -> bytes:
    image = Image.new("RGB", (width, height), "teal")
    buffer = io.BytesIO()
    if orientation is None:
        image.save(buffer, "JPEG")
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def bomb_png() -> bytes:
    """A small PNG declaring far more pixels than any photo: a decompression bomb."""
    image = Image.new("1", (20_000, 20_000))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()
