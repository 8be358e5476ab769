"""django-oauth-toolkit beside us: its own virtualenv, its own small project (``bench/dot/``)
on the same database engine, served by gunicorn in the same shape as ours, so that
``bench/tokens.py --versus-dot`` times both token endpoints in the same run.

The virtualenv (``BENCH_DOT_VENV``, default ``var/bench-dot-venv``) is made on first use with
pinned versions from the package index; the portal never imports django-oauth-toolkit.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ROOT / "bench" / "dot"
PINS = [
    "Django==5.2.19",
    "django-oauth-toolkit==3.4.1",
    "gunicorn==27.0.1",
    "psycopg[binary]==3.3.9",
]


def venv() -> Path:
    """The virtualenv's directory, made and installed if missing (or on other pins)."""
    path = Path(os.environ.get("BENCH_DOT_VENV", ROOT / "var" / "bench-dot-venv"))
    stamp = path / ".pins"
    if stamp.exists() and stamp.read_text() == "\n".join(PINS):
        return path
    print(f"making django-oauth-toolkit's virtualenv in {path} …", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(path)], check=True)
    pip = [str(path / "bin" / "python"), "-m", "pip", "install", "-q", *PINS]
    subprocess.run(pip, check=True)
    stamp.write_text("\n".join(PINS))
    return path


def version(path: Path) -> str:
    out = subprocess.run(
        [
            str(path / "bin" / "python"),
            "-c",
            "import oauth2_provider; print(oauth2_provider.__version__)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


@contextlib.contextmanager
def server(
    port: int, database_url: str, *, workers: int, threads: int
) -> Iterator[tuple[subprocess.Popen, str, str]]:
    """django-oauth-toolkit's token endpoint (``/o/token/``) on 127.0.0.1:``port``; yields
    (gunicorn, client id, client secret) once it answers."""
    path = venv()
    env = {
        "PATH": f"{path / 'bin'}:{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(PROJECT),
        "DJANGO_SETTINGS_MODULE": "dotbench.settings",
        "DOT_DATABASE_URL": database_url,
    }
    setup = subprocess.run(
        [str(path / "bin" / "python"), "-m", "dotbench.setup_app"],
        env=env,
        cwd=PROJECT,
        capture_output=True,
        text=True,
    )
    if setup.returncode:
        raise RuntimeError(f"django-oauth-toolkit setup failed:\n{setup.stderr[-3000:]}")
    client = json.loads(setup.stdout.strip().splitlines()[-1])
    shape = ["-w", str(workers), "-k", "gthread", "--threads", str(threads), "--keep-alive", "30"]
    process = subprocess.Popen(
        [
            str(path / "bin" / "gunicorn"),
            "dotbench.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            *shape,
            "--log-level",
            "warning",
            "--no-control-socket",
        ],
        env=env,
        cwd=PROJECT,
    )
    try:
        for _ in range(150):
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"http://127.0.0.1:{port}/o/token/", timeout=1)
                break
            assert process.poll() is None, "django-oauth-toolkit's gunicorn exited"
            time.sleep(0.1)
        yield process, client["client_id"], client["client_secret"]
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
