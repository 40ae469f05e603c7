"""The Certainly trigger-message emulation, as a client sees it over real HTTP."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.defaults import DEMO_CERTAINLY_BOT_NAME, DEMO_CERTAINLY_TOKEN, DEMO_DLG_TOKEN
from sandbox.testing import SandboxHandle, running_sandbox

BAD_CREDENTIALS = {
    "error": [{"msg": "Invalid Authentication credentials", "location": "Backend"}],
    "message": None,
}
BODY = {"text_message": "Merhaba Elif", "user_id": "c-1001"}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox() as handle:
        yield handle


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture(autouse=True)
def _quiet_sandbox(sandbox: SandboxHandle) -> None:
    sandbox.reset()


def basic(credentials: str, scheme: str = "Basic") -> str:
    return f"{scheme} {base64.b64encode(credentials.encode()).decode()}"


GOOD_AUTH = basic(f"user:bearer {DEMO_CERTAINLY_TOKEN}")


def post(
    sandbox: SandboxHandle,
    http: requests.Session,
    body: Any = BODY,
    authorization: str | None = GOOD_AUTH,
    url: str | None = None,
) -> requests.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    if isinstance(body, bytes):
        return http.post(url or sandbox.certainly_url, data=body, headers=headers, timeout=5)
    return http.post(url or sandbox.certainly_url, json=body, headers=headers, timeout=5)


def test_valid_trigger_gets_documented_success_shape(sandbox, http):
    response = post(sandbox, http)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"message": "1", "error": []}


def test_requests_auth_tuple_with_bearer_space_token_is_accepted(sandbox, http):
    auth = ("user", f"bearer {DEMO_CERTAINLY_TOKEN}")
    response = http.post(sandbox.certainly_url, json=BODY, auth=auth, timeout=5)
    assert response.status_code == 200


def test_path_without_trailing_slash_is_accepted(sandbox, http):
    response = post(sandbox, http, url=sandbox.certainly_url.rstrip("/"))
    assert response.status_code == 200


def test_accepted_trigger_is_recorded_with_bot_name(sandbox, http):
    post(sandbox, http)
    (message,) = sandbox.messages()
    assert message["platform"] == "certainly"
    assert message["bot"] == DEMO_CERTAINLY_BOT_NAME
    assert message["body"] == BODY
    assert message["response"] == {"message": "1", "error": []}
    assert DEMO_CERTAINLY_TOKEN not in str(sandbox.messages()) + str(sandbox.requests())


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="missing_header"),
        pytest.param("", id="empty_header"),
        pytest.param(f"Bearer {DEMO_CERTAINLY_TOKEN}", id="bearer_scheme"),
        pytest.param(basic(f"user:bearer {DEMO_CERTAINLY_TOKEN}", "Digest"), id="wrong_scheme"),
        pytest.param(basic(f"admin:bearer {DEMO_CERTAINLY_TOKEN}"), id="wrong_username"),
        pytest.param(basic(f"user:bearer{DEMO_CERTAINLY_TOKEN}"), id="missing_space_after_bearer"),
        pytest.param(basic(f"user:bearer  {DEMO_CERTAINLY_TOKEN}"), id="two_spaces"),
        pytest.param(basic(f"user:Bearer {DEMO_CERTAINLY_TOKEN}"), id="capital_bearer"),
        pytest.param(basic(f"user:{DEMO_CERTAINLY_TOKEN}"), id="token_without_bearer"),
        pytest.param(basic("user:bearer "), id="empty_token"),
        pytest.param(basic("user:bearer wrong-token"), id="unknown_token"),
        pytest.param(basic(f"user:bearer {DEMO_DLG_TOKEN}"), id="dlg_token"),
        pytest.param("Basic not-base64!", id="not_base64"),
        pytest.param(basic(f"user bearer {DEMO_CERTAINLY_TOKEN}"), id="no_colon"),
    ],
)
def test_bad_credentials_get_400_invalid_authentication(sandbox, http, authorization):
    response = post(sandbox, http, authorization=authorization)
    assert response.status_code == 400
    assert response.json() == BAD_CREDENTIALS
    assert sandbox.messages() == []


def test_credentials_are_checked_before_the_body(sandbox, http):
    response = post(sandbox, http, body=b"not json", authorization=basic("user:bearer x"))
    assert response.json() == BAD_CREDENTIALS


def test_unknown_user_gets_400_bot_user_does_not_exist(sandbox, http):
    response = post(sandbox, http, body={**BODY, "user_id": "c-9999"})
    assert response.status_code == 400
    assert response.json() == {"error": "Bot user with this id does not exist", "message": None}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{not json", id="not_json"),
        pytest.param(["text_message"], id="not_object"),
        pytest.param({"user_id": "c-1001"}, id="missing_text_message"),
        pytest.param({**BODY, "text_message": ""}, id="empty_text_message"),
        pytest.param({**BODY, "text_message": 5}, id="numeric_text_message"),
        pytest.param({"text_message": "hi"}, id="missing_user_id"),
        pytest.param({**BODY, "user_id": 1001}, id="numeric_user_id"),
    ],
)
def test_bad_body_gets_400_with_plain_reason(sandbox, http, body):
    response = post(sandbox, http, body=body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["message"] is None
    assert isinstance(payload["error"], str)
    assert payload["error"]


def test_body_is_checked_before_the_user(sandbox, http):
    response = post(sandbox, http, body={"user_id": "c-9999"})
    assert "text_message" in response.json()["error"]


def test_wrong_method_gets_405(sandbox, http):
    response = http.get(sandbox.certainly_url, timeout=5)
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "GET" not allowed.'}


def test_rejected_triggers_appear_only_in_the_request_log(sandbox, http):
    post(sandbox, http, authorization=None)
    post(sandbox, http, body={**BODY, "user_id": "c-9999"})
    assert sandbox.messages() == []
    log = sandbox.requests()
    assert [(r["platform"], r["status"]) for r in log] == [("certainly", 400)] * 2
    assert log[0]["path"] == "/actionsvc/trigger-message/"
