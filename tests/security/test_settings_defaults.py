"""Production is the default: DEBUG off and real secrets required unless the one-machine mode is
asked for (issue 13 item 12). Settings are read once per process: each case is a subprocess."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRINT = (
    "from django.conf import settings as s; "
    "print(s.DEBUG, s.EMBEDDED, len(s.SECRET_KEY), s.SESSION_COOKIE_AGE, s.SESSION_MAX_AGE)"
)


def _env(tmp_path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "GOVERNANCE_EMBEDDED", "DATABASE_URL"}
        and not k.startswith("PYTEST_")
    }
    env.update(DJANGO_SETTINGS_MODULE="governance.settings", GOVERNANCE_VAR_DIR=str(tmp_path))
    env.update(extra)
    return env


def _run(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {PRINT}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_nothing_set_is_production_and_refuses_to_start_without_secrets(tmp_path):
    result = _run(_env(tmp_path))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_production_secrets_give_debug_off(tmp_path):
    result = _run(
        _env(
            tmp_path,
            SECRET_KEY="p" * 64,
            CREDENTIAL_SECRET_PEPPER="q" * 64,
            SIGNING_KEY_ENCRYPTION_KEYS="cHJvZC13cmFwLWtleS1mb3ItdGhlLXRlc3QtMDAwMDA=",
        )
    )
    assert result.returncode == 0, result.stderr
    debug, embedded, *_ = result.stdout.split()
    assert (debug, embedded) == ("False", "False")


def test_embedded_mode_keeps_debug_off_and_generates_its_key_once(tmp_path):
    first = _run(_env(tmp_path, GOVERNANCE_EMBEDDED="true"))
    assert first.returncode == 0, first.stderr
    debug, embedded, key_length, *_ = first.stdout.split()
    assert (debug, embedded) == ("False", "True")
    assert int(key_length) >= 50
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text()
    second = _run(_env(tmp_path, GOVERNANCE_EMBEDDED="true"))
    assert second.returncode == 0, second.stderr
    assert key_file.read_text() == key  # kept: sessions survive a restart


def test_session_lifetime_is_policy_with_a_short_default(tmp_path):
    result = _run(_env(tmp_path, GOVERNANCE_EMBEDDED="true"))
    *_, cookie_age, max_age = result.stdout.split()
    assert int(max_age) <= 8 * 3600
    assert int(cookie_age) <= int(max_age)  # the idle expiry, renewed on every request
    custom = _run(
        _env(tmp_path, GOVERNANCE_EMBEDDED="true", SESSION_MAX_AGE="600", SESSION_IDLE_TIMEOUT="60")
    )
    *_, cookie_age, max_age = custom.stdout.split()
    assert (int(cookie_age), int(max_age)) == (60, 600)
