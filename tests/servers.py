"""A real gunicorn for the tests that need server processes of their own."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(
    port: int, env: dict[str, str], *, workers: int = 2, extra: Sequence[str] = ()
) -> Iterator[subprocess.Popen]:
    """``gunicorn governance.wsgi`` with the project's config (as ``bin/up`` runs it) and
    ``extra`` flags on 127.0.0.1:``port``; yields the process once it answers, stops it after."""
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "governance.wsgi",
            "-c",
            "python:governance.gunicorn_conf",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--log-level",
            "warning",
            *extra,
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base}/.well-known/jwks.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield server
    finally:
        server.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
