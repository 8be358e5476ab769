"""A small client of ``POST /api/v1/decisions`` authenticated with the resource server's secret."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from decimal import Decimal
from typing import Any


class GovernanceError(Exception):
    """The decision point could not be asked or refused the question (not a deny)."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"decision point answered {status}: {body}")
        self.status = status
        self.body = body


class DecisionPointClient:
    def __init__(
        self, issuer: str, *, client_id: str, client_secret: str, timeout: float = 5
    ) -> None:
        if not issuer.startswith(("https://", "http://")):
            raise ValueError("the issuer must be an http(s) URL")
        self.url = issuer.rstrip("/") + "/api/v1/decisions"
        raw = (
            f"{urllib.parse.quote(client_id, safe='')}:{urllib.parse.quote(client_secret, safe='')}"
        )
        self._auth = "Basic " + base64.b64encode(raw.encode()).decode()
        self.timeout = timeout

    def decide(
        self,
        *,
        token: str,
        action: str,
        resource: str,
        cost: Decimal | int | str | None = None,
        connection: int | None = None,
    ) -> dict[str, Any]:
        """The decision point's answer (``decision``, ``reasons``, ``message``, …)."""
        body: dict[str, Any] = {"token": token, "action": action, "resource": resource}
        if cost is not None:
            body["cost"] = str(cost)
        if connection is not None:
            body["connection"] = connection
        req = urllib.request.Request(  # noqa: S310 (scheme checked in __init__)
            self.url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": self._auth},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            try:
                payload = json.loads(exc.read() or b"{}")
            except ValueError:
                payload = {}
            raise GovernanceError(exc.code, payload) from None
        except (OSError, ValueError) as exc:
            raise GovernanceError(0, str(exc)) from exc
