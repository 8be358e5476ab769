"""bin/screenshots' second half: start gunicorn on the prepared database, sign in as the demo
people, and save each main page at desktop and phone width in docs/screenshots/."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
WIDTHS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
# (file name, who, path): what an owner and a reviewer see first.
PAGES = [
    ("dashboard", "alice", "/portal/"),
    ("agents", "alice", "/portal/agents/"),
    ("agent", "alice", "/portal/agents/invoice-reconciler/"),
    ("register", "alice", "/portal/new-agent/"),
    ("credential-issue", "alice", "/portal/agents/invoice-reconciler/credentials/new/"),
    ("notices", "alice", "/portal/notices/"),
    ("approvals", "reviewer", "/portal/approvals/"),
    ("grant-requests", "reviewer", "/portal/grant-requests/"),
    ("reviews", "reviewer", "/portal/reviews/"),
    ("audit", "reviewer", "/portal/audit/"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, server: subprocess.Popen) -> None:
    for _ in range(150):
        if server.poll() is not None:
            sys.exit("bin/screenshots: gunicorn did not start")
        try:
            urllib.request.urlopen(url, timeout=1)  # noqa: S310 (our own http://127.0.0.1 URL)
            return
        except OSError:
            time.sleep(0.2)
    sys.exit("bin/screenshots: gunicorn did not answer")


def shoot(base: str) -> list[Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    saved = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"]
        )
        for who in sorted({who for _, who, _ in PAGES}):
            context = browser.new_context(viewport=WIDTHS["desktop"])
            page = context.new_page()
            page.goto(f"{base}/portal/login/")
            page.fill("#id_username", who)
            page.fill("#id_password", os.environ["DEMO_PASSWORD"])
            page.click("main button[type=submit]")
            page.wait_for_url(lambda url: "/portal/login/" not in url)
            for name, owner, path in PAGES:
                if owner != who:
                    continue
                for width, viewport in WIDTHS.items():
                    page.set_viewport_size(viewport)
                    page.goto(f"{base}{path}")
                    target = OUT / f"{name}-{width}.png"
                    page.screenshot(path=str(target), full_page=width == "desktop")
                    saved.append(target)
            context.close()
        browser.close()
    return saved


def main() -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "OAUTH_ISSUER": base}
    server = subprocess.Popen(  # noqa: S603 (our own argv)
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:governance.gunicorn_conf",
            "governance.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--no-control-socket",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        _wait(f"{base}/healthz", server)
        for path in shoot(base):
            print(path.relative_to(ROOT))
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
