"""Fault injection, the control API, configuration and the command line of the sandbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.config import ConfigError, FaultSettings, config_from_dict, load_config
from sandbox.defaults import DEMO_CERTAINLY_TOKEN, DEMO_DLG_TOKEN, default_config
from sandbox.testing import RemoteSandbox, SandboxHandle, running_sandbox

ROOT = Path(__file__).resolve().parents[1]
BODY: dict[str, Any] = {
    "recipient": {"appCustomerId": "70023"},
    "message": {"text": "Merhaba", "quickReplies": [], "quickRepliesV2": []},
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox() as handle:
        yield handle


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture(autouse=True)
def _quiet_sandbox(sandbox: SandboxHandle) -> Iterator[None]:
    sandbox.reset()
    yield
    sandbox.reset()


def send(sandbox: SandboxHandle, http: Any = requests, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("timeout", 5)
    return http.post(sandbox.dlg_url(DEMO_DLG_TOKEN), json=BODY, **kwargs)


# --- faults --------------------------------------------------------------------------------


def test_latency_delays_platform_answers_but_not_control_endpoints(sandbox, http):
    sandbox.set_faults(latency_ms=300)
    started = time.perf_counter()
    assert send(sandbox, http).status_code == 200
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    http.get(sandbox.url + "/_sandbox/health", timeout=5)
    assert time.perf_counter() - started < 0.25


def statuses(sandbox: SandboxHandle, http: requests.Session, count: int) -> list[int]:
    return [send(sandbox, http).status_code for _ in range(count)]


def test_error_rate_with_seed_gives_expected_share_reproducibly(sandbox, http):
    sandbox.set_faults(error_rate=0.25, seed=7)
    first = statuses(sandbox, http, 200)
    errors = first.count(503)
    assert 30 <= errors <= 70
    assert set(first) == {200, 503}
    assert len(sandbox.messages()) == 200 - errors
    sandbox.set_faults(error_rate=0.25, seed=7)
    assert statuses(sandbox, http, 200) == first


def test_injected_error_uses_configured_status_and_text(sandbox, http):
    sandbox.set_faults(error_rate=1, error_status=502, error_body="Bad Gateway")
    response = send(sandbox, http)
    assert (response.status_code, response.text) == (502, "Bad Gateway")
    assert response.headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert sandbox.messages() == []
    assert sandbox.requests()[0]["fault"] == "error"


def test_rate_429_answers_with_retry_after(sandbox, http):
    sandbox.set_faults(rate_429=1, retry_after=7)
    response = send(sandbox, http)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert sandbox.messages() == []


def test_timeout_records_the_message_but_the_client_reads_nothing(sandbox):
    sandbox.set_faults(timeout_rate=1, timeout_hold_s=1.0)
    with pytest.raises(requests.ReadTimeout):
        send(sandbox, timeout=(2, 0.3))
    (message,) = sandbox.messages()
    assert message["answered"] is False
    assert message["response_status"] == 200
    assert message["response"]["recipient_id"] == "2074022437"
    (logged,) = sandbox.requests()
    assert (logged["fault"], logged["answered"]) == ("timeout", False)


def test_timeout_closes_the_connection_after_the_hold(sandbox):
    sandbox.set_faults(timeout_rate=1, timeout_hold_s=0.3)
    started = time.perf_counter()
    with pytest.raises(requests.ConnectionError):
        send(sandbox, timeout=5)
    assert 0.3 <= time.perf_counter() - started < 3


def test_drop_closes_without_response_and_records_nothing(sandbox):
    sandbox.set_faults(drop_rate=1)
    with pytest.raises(requests.ConnectionError):
        send(sandbox)
    assert sandbox.messages() == []
    (logged,) = sandbox.requests()
    assert (logged["status"], logged["fault"]) == (None, "drop")


def test_faults_skip_control_endpoints_unknown_paths_and_wrong_methods(sandbox, http):
    sandbox.set_faults(error_rate=1)
    assert http.get(sandbox.url + "/_sandbox/health", timeout=5).json() == {"ok": True}
    assert http.post(sandbox.url + "/nowhere", timeout=5).status_code == 404
    assert http.get(sandbox.dlg_url(DEMO_DLG_TOKEN), timeout=5).status_code == 405


def test_faults_apply_to_certainly_too(sandbox, http):
    sandbox.set_faults(rate_429=1)
    auth = ("user", f"bearer {DEMO_CERTAINLY_TOKEN}")
    body = {"text_message": "hi", "user_id": "c-1001"}
    assert http.post(sandbox.certainly_url, json=body, auth=auth, timeout=5).status_code == 429


def test_stats_count_faults_and_rejections(sandbox, http):
    sandbox.set_faults(error_rate=1)
    send(sandbox, http)
    stats = http.get(sandbox.url + "/_sandbox/stats", timeout=5).json()
    assert stats == {
        "received": 1,
        "accepted": 0,
        "rejected": {"503": 1},
        "faults": {"error": 1},
        "duplicate_message_ids": 0,
    }


# --- control API ---------------------------------------------------------------------------


def test_faults_endpoint_sets_replaces_and_resets(sandbox, http):
    url = sandbox.url + "/_sandbox/faults"
    assert http.get(url, timeout=5).json()["faults"] == FaultSettings().to_dict()
    put = http.put(url, json={"error_rate": 0.5, "seed": 3}, timeout=5)
    assert put.status_code == 200
    assert put.json()["faults"]["error_rate"] == 0.5
    posted = http.post(url, json={"latency_ms": 5}, timeout=5).json()["faults"]
    assert (posted["latency_ms"], posted["error_rate"], posted["seed"]) == (5, 0.0, None)
    assert http.delete(url, timeout=5).json()["faults"] == FaultSettings().to_dict()
    assert sandbox.faults() == FaultSettings().to_dict()


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"error_rte": 0.5}, "unknown fault setting(s): error_rte"),
        ({"error_rate": 1.5}, "error_rate must be between 0 and 1"),
        ({"error_rate": "0.5"}, "error_rate must be a number"),
        ({"drop_rate": True}, "drop_rate must be a number"),
        ({"error_rate": 0.6, "drop_rate": 0.6}, "must add up to at most 1"),
        ({"error_status": 199}, "error_status must be between 200 and 599"),
        ({"seed": "x"}, "seed must be an integer"),
        ({"latency_ms": -1}, "latency_ms must be between"),
        ([], "faults must be a JSON object"),
    ],
)
def test_invalid_fault_settings_get_400_with_a_clear_message(sandbox, http, payload, fragment):
    response = http.put(sandbox.url + "/_sandbox/faults", json=payload, timeout=5)
    assert response.status_code == 400
    assert fragment in response.json()["error"]
    assert sandbox.faults() == FaultSettings().to_dict()


def test_fault_body_that_is_not_json_gets_400(sandbox, http):
    response = http.put(sandbox.url + "/_sandbox/faults", data=b"{", timeout=5)
    assert response.status_code == 400


def test_handle_set_faults_refuses_unknown_keys(sandbox):
    with pytest.raises(ConfigError, match="unknown fault setting"):
        sandbox.set_faults(latency=5)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/_sandbox/nothing", 404),
        ("POST", "/_sandbox/health", 405),
        ("PUT", "/_sandbox/stats", 405),
        ("GET", "/_sandbox/messages?since=abc", 400),
    ],
)
def test_control_endpoint_misuse_gets_json_errors(sandbox, http, method, path, status):
    response = http.request(method, sandbox.url + path, timeout=5)
    assert response.status_code == status
    assert "error" in response.json()


def test_config_endpoint_lists_bots_without_tokens(sandbox, http):
    response = http.get(sandbox.url + "/_sandbox/config", timeout=5)
    assert [bot["name"] for bot in response.json()["bots"]] == [b.name for b in sandbox.config.bots]
    assert DEMO_DLG_TOKEN not in response.text
    assert DEMO_CERTAINLY_TOKEN not in response.text


def test_remote_sandbox_drives_the_same_state_over_http(sandbox, http):
    remote = RemoteSandbox(sandbox.url)
    assert remote.healthy()
    send(sandbox, http)
    assert remote.messages() == sandbox.messages()
    assert remote.set_faults(rate_429=1)["rate_429"] == 1
    assert sandbox.faults()["rate_429"] == 1
    remote.reset()
    assert (remote.messages(), remote.faults()) == ([], FaultSettings().to_dict())


# --- configuration -------------------------------------------------------------------------


def test_example_config_file_describes_the_demo_world():
    assert load_config(ROOT / "sandbox/example-config.json").to_dict() == default_config().to_dict()


@pytest.mark.parametrize(
    "data",
    [
        {"bots": [], "recipeints": {}},
        {"bots": [{"name": "a", "provider": "whatsapp", "token": "t"}]},
        {"bots": [{"name": "a", "provider": "dlg", "token": ""}]},
        {"bots": [{"name": "a", "provider": "dlg", "token": "t"}] * 2},
        {"bots": [], "recipients": {"phone": ["1"]}},
        {"bots": [], "faults": {"error_rate": 2}},
    ],
)
def test_invalid_config_is_refused(data):
    with pytest.raises(ConfigError):
        config_from_dict(data)


def test_accept_any_recipient_accepts_everyone_with_stable_ids():
    config = replace(default_config(), accept_any_recipient=True)
    with running_sandbox(config) as handle, requests.Session() as http:
        body: dict[str, Any] = {**BODY, "recipient": {"appCustomerId": "C-0009999"}}
        first = http.post(handle.dlg_url(DEMO_DLG_TOKEN), json=body, timeout=5).json()
        second = http.post(handle.dlg_url(DEMO_DLG_TOKEN), json=body, timeout=5).json()
        assert first["recipient_id"] == second["recipient_id"]
        assert first["recipient_id"].isdigit()
        auth = ("user", f"bearer {DEMO_CERTAINLY_TOKEN}")
        trigger = {"text_message": "hi", "user_id": "anyone"}
        assert http.post(handle.certainly_url, json=trigger, auth=auth, timeout=5).ok


def test_faults_from_the_config_are_active_at_start():
    config = replace(default_config(), faults=FaultSettings(error_rate=1.0))
    with running_sandbox(config) as handle:
        assert send(handle).status_code == 503


# --- command line --------------------------------------------------------------------------


def test_command_line_server_never_prints_tokens_and_stops_on_sigterm():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "sandbox.server", "--port", "0", "--verbose", "--seed", "1"]
    process = subprocess.Popen(  # noqa: S603 (fixed command line)
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "demo-dlg" in line
        assert "demo-certainly" in line
        assert DEMO_DLG_TOKEN not in line
        assert DEMO_CERTAINLY_TOKEN not in line
        url = line.split("listening on ")[1].split()[0]
        assert RemoteSandbox(url).faults()["seed"] == 1
        requests.post(f"{url}/v1/bots/sendmessage/{DEMO_DLG_TOKEN}", json=BODY, timeout=5)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
        _, log = process.communicate(timeout=5)
    assert '"POST /v1/bots/sendmessage/<BOT-TOKEN> HTTP/1.1" 200' in log
    assert DEMO_DLG_TOKEN not in log


def test_command_line_rejects_a_bad_config_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"bots": "none"}))
    result = subprocess.run(  # noqa: S603 (fixed command line)
        [sys.executable, "-m", "sandbox.server", "--config", str(bad), "--port", "0"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert result.returncode == 2
    assert "bots must be a list" in result.stderr
