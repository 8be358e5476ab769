"""The shell entry points refuse early and say why: bin/up and bin/prod on a taken port,
bin/prepare on what it cannot provide — before anything is installed or started."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

from tests.servers import ROOT


@pytest.fixture
def taken_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.mark.parametrize("script", ["bin/up", "bin/prod"])
def test_a_taken_port_is_refused_before_anything_starts(script, taken_port, tmp_path):
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(taken_port)}
    env["PYTHON"] = "python3"
    env["GOVERNANCE_VAR_DIR"] = str(tmp_path)
    done = subprocess.run(
        [str(ROOT / script)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert f"port {taken_port} on 127.0.0.1 is already in use" in done.stderr
    assert "==" not in done.stdout  # no step began
    assert not (tmp_path / "metrics").exists()


def test_prepare_names_everything_it_cannot_provide_and_starts_nothing():
    env = {
        **os.environ,
        "TEST_POSTGRES_URL": "postgres://postgres@db.invalid:5432/governance",
        "TEST_REDIS_URL": "redis://cache.invalid:6379/0",
    }
    done = subprocess.run(
        [str(ROOT / "bin" / "prepare"), "--dry-run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "nothing was started" in done.stderr
    assert "PostgreSQL at db.invalid:5432 (TEST_POSTGRES_URL) does not answer" in done.stderr
    assert "Redis at cache.invalid:6379 (TEST_REDIS_URL) does not answer" in done.stderr
