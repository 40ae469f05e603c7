"""Certainly's body and Basic credentials follow the vendor's worked example."""

from __future__ import annotations

import base64

from messaging.providers.certainly import CertainlyClient, authorization_header, build_body
from messaging.providers.specs import Address, CertainlyText


def test_body_is_text_message_and_user_id_only() -> None:
    body = build_body(Address("user_id", "c-42"), CertainlyText("Hello"))

    assert body == {"text_message": "Hello", "user_id": "c-42"}


def test_password_is_bearer_space_token_for_username_user() -> None:
    header = authorization_header("svd65ASg")

    scheme, encoded = header.split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == "user:bearer svd65ASg"


def test_prepared_request_posts_to_the_trigger_message_path_with_a_trailing_slash() -> None:
    client = CertainlyClient("https://app.certainly.io/", "tok")

    request = client.prepare(Address("user_id", "c-1"), CertainlyText("Hi"), "dlgc-1")

    assert request.url == "https://app.certainly.io/actionsvc/trigger-message/"
    assert request.headers["Authorization"] == authorization_header("tok")
    assert "tok" not in repr(request.recorded_body)
