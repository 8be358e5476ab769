"""What the browser tests share: Debian's chromium through Playwright, a context per person,
and the accessibility scan with axe-core (from its npm package, ``tests/portal/a11y``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery staple"  # tests/factories.py gives every user this one
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# Installed by bin/test (``npm ci`` in tests/portal/a11y) from the pinned package-lock.json.
AXE = Path(__file__).parent / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
# What fails a page: axe-core's two highest impacts. Moderate and minor ones are reported by
# the scan's caller when it wants them, not failed on.
BLOCKING = ("serious", "critical")


def sign_in(page: Any, base_url: str, username: str) -> None:
    """Sign in through the portal's own login form."""
    page.goto(f"{base_url}/portal/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/portal/login/" not in url)


def submit(page: Any, button: str, expect_url: str) -> None:
    """Click ``button`` and wait for ``expect_url``; a form that comes back instead fails the
    test with the messages it shows."""
    page.click(button)
    try:
        page.wait_for_url(expect_url, timeout=10_000)
    except Exception as exc:  # Playwright's TimeoutError
        shown = page.locator(".errorlist, .messages, .form-errors").all_inner_texts()
        raise AssertionError(f"{page.url} did not lead to {expect_url}: {shown}") from exc


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """The page as it is now, scanned by axe-core: its serious and critical violations.

    The script is the npm package's own file, added to the page from disk (no network), in a
    context with ``bypass_csp`` since the portal's policy allows no script it did not serve.
    """
    if not AXE.exists():
        raise AssertionError(f"{AXE} is missing: run `npm ci --prefix tests/portal/a11y`")
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ")),
            }));
        }"""
    )
    return [v for v in found if v["impact"] in BLOCKING]


def assert_accessible(page: Any) -> None:
    """No serious or critical axe-core violation on the page as it is now.

    ``AXE_REPORT_ONLY=1`` prints every page's violations and fails none: one run then lists
    everything to fix, instead of stopping at the first page.
    """
    violations = axe_violations(page)
    if os.environ.get("AXE_REPORT_ONLY"):
        for v in violations:
            print("axe:", page.url, v["impact"], v["id"], v["help"], v["nodes"], file=sys.stderr)
        return
    assert not violations, f"{page.url}: " + "; ".join(
        f"{v['impact']} {v['id']} ({v['help']}) at {', '.join(v['nodes'])}" for v in violations
    )
