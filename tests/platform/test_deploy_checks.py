"""Production settings pass ``check --deploy`` with no warnings, and refuse weak secrets.

Each case runs ``manage.py`` as a subprocess with a production environment: settings are read
once per process, so this is the only honest way to test them.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def production_env(tmp_path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CACHE_URL", "CELERY_BROKER_URL"}
        and k != "GOVERNANCE_EMBEDDED"  # the suite's own mode: these cases are production
        and not k.startswith("PYTEST_")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="governance.settings",
        GOVERNANCE_VAR_DIR=str(tmp_path / "var"),
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="portal.example.com",
        CSRF_TRUSTED_ORIGINS="https://portal.example.com",
        OAUTH_ISSUER="https://portal.example.com",
        CREDENTIAL_SECRET_PEPPER=secrets.token_urlsafe(48),
        SIGNING_KEY_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        AUDIT_WITNESS_URL="https://witness.example.com/audit",
    )
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_no_warnings(production_env):
    result = manage(production_env, "check", "--deploy", "--fail-level", "WARNING")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output
    assert "WARNINGS" not in output


def test_check_deploy_would_catch_a_weakened_setting(production_env):
    # The same check fails when a protection is switched off: the test above can fail.
    production_env["SECURE_HSTS_SECONDS"] = "0"
    result = manage(production_env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr


def test_check_deploy_warns_without_an_audit_witness(production_env):
    production_env.pop("AUDIT_WITNESS_URL")
    result = manage(production_env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "audit.W001" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SECRET_KEY", "short"),
        ("SECRET_KEY", None),
        ("CREDENTIAL_SECRET_PEPPER", None),
        ("SIGNING_KEY_ENCRYPTION_KEYS", None),
    ],
)
def test_production_refuses_to_start_without_strong_secrets(production_env, name, value):
    if value is None:
        production_env.pop(name)
    else:
        production_env[name] = value
    result = manage(production_env, "check")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr
