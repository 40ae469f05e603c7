"""Configuration fails loudly and by name, and production settings pass Django's deploy check."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from console.env import env_bool, env_int, env_list, env_str

ROOT = Path(__file__).resolve().parent.parent
KEY = "3q2-76_Ae2Z0nFf1E3lRvdm-YpJAqQn3uQvJbJzVhqM="


def manage(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run manage.py in a clean environment holding only what the test gives it."""
    environ = {
        "PATH": os.environ["PATH"],
        "CONSOLE_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "console.settings",
        **env,
    }
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def production(**overrides: str) -> dict[str, str]:
    return {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "CONSOLE_ENCRYPTION_KEYS": KEY,
        "ALLOWED_HOSTS": "console.bank.example",
        **overrides,
    }


def test_production_settings_pass_the_deploy_check_without_warnings(tmp_path: Path) -> None:
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", tmp_path=tmp_path, **production()
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    env = production()
    del env["SECRET_KEY"]

    result = manage("check", tmp_path=tmp_path, **env)

    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


def test_production_refuses_to_start_without_encryption_keys(tmp_path: Path) -> None:
    env = production()
    del env["CONSOLE_ENCRYPTION_KEYS"]

    result = manage("check", tmp_path=tmp_path, **env)

    assert "CONSOLE_ENCRYPTION_KEYS is required" in result.stderr


def test_a_bad_encryption_key_is_named_by_position_never_echoed(tmp_path: Path) -> None:
    result = manage(
        "check", tmp_path=tmp_path, **production(CONSOLE_ENCRYPTION_KEYS=f"{KEY},hunter2-oops")
    )

    assert "key number 2 is not a valid Fernet key" in result.stderr
    assert "hunter2-oops" not in result.stderr


def test_local_run_generates_its_secrets_once_into_var(tmp_path: Path) -> None:
    first = manage("check", tmp_path=tmp_path, DEBUG="true")
    key_file = (tmp_path / "secret_key").read_text()
    second = manage("check", tmp_path=tmp_path, DEBUG="true")

    assert first.returncode == second.returncode == 0, first.stderr
    assert (tmp_path / "secret_key").read_text() == key_file
    assert (tmp_path / "encryption_key").stat().st_mode & 0o077 == 0


def test_unreachable_database_fails_instead_of_being_skipped(tmp_path: Path) -> None:
    result = manage(
        "migrate",
        tmp_path=tmp_path,
        DEBUG="true",
        DATABASE_URL="postgres://postgres@127.0.0.1:1/nowhere",
    )

    assert result.returncode != 0
    assert "connection" in result.stderr.lower()


def test_env_bool_refuses_words_it_does_not_know() -> None:
    with pytest.raises(ImproperlyConfigured, match="DEBUG must be true or false"):
        env_bool("DEBUG", False, environ={"DEBUG": "maybe"})


def test_env_helpers_read_typed_values_and_defaults() -> None:
    environ = {"N": "42", "HOSTS": "a.example, b.example,,", "NAME": "x"}

    assert env_int("N", 0, environ=environ) == 42
    assert env_list("HOSTS", [], environ=environ) == ["a.example", "b.example"]
    assert env_str("NAME", environ=environ) == "x"
    assert env_str("MISSING", "fallback", environ=environ) == "fallback"
    with pytest.raises(ImproperlyConfigured, match="MISSING is required"):
        env_str("MISSING", environ=environ)
    with pytest.raises(ImproperlyConfigured, match="N must be a whole number"):
        env_int("N", 0, environ={"N": "4.2"})
