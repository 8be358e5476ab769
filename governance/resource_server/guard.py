"""The check both adapters share: bearer token → offline verification → decision point."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, JsonResponse

from .client import GovernanceError
from .conf import governance
from .jwks import JWKSError
from .verify import TokenRejected, verify_access_token


@dataclass(frozen=True)
class AgentAccess:
    """What an allowed request carries: the token's claims and the decision point's answer."""

    claims: dict[str, Any]
    decision: dict[str, Any]

    @property
    def agent(self) -> str:
        return self.claims["sub"]


class Refused(Exception):
    """The request may not go on; ``response`` says why (401, 403 or 503)."""

    def __init__(self, response: JsonResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


def _bearer(request: HttpRequest) -> str:
    auth = request.headers.get("Authorization", "")
    scheme, _, value = auth.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def _refuse(status: int, body: dict[str, Any], challenge: str = "") -> Refused:
    response = JsonResponse(body, status=status)
    if challenge:
        response["WWW-Authenticate"] = challenge
    response["Cache-Control"] = "no-store"
    return Refused(response)


def authorize(request: HttpRequest, *, action: str, cost: Any = None) -> AgentAccess:
    """Allow the request or raise ``Refused``. The token is verified offline first, so garbage
    never reaches the decision point; the decision point then sees revocation and limits."""
    gov = governance()
    token = _bearer(request)
    if not token:
        raise _refuse(
            401,
            {"error": "invalid_token", "message": "a bearer token is required"},
            'Bearer realm="agents"',
        )
    try:
        claims = verify_access_token(token, jwks=gov.jwks, issuer=gov.issuer, audience=gov.audience)
    except JWKSError as exc:
        # Fail closed: without the issuer's keys nothing is verified, so nothing is allowed.
        raise _refuse(503, {"error": "temporarily_unavailable", "message": str(exc)}) from None
    except TokenRejected as exc:
        raise _refuse(
            401,
            {"error": "invalid_token", "message": f"the access token is not valid ({exc.reason})"},
            f'Bearer realm="agents", error="invalid_token", error_description="{exc.reason}"',
        ) from None
    try:
        answer = gov.client.decide(token=token, action=action, resource=gov.resource, cost=cost)
    except GovernanceError as exc:
        # Fail closed: without an answer nothing is allowed.
        raise _refuse(503, {"error": "temporarily_unavailable", "message": str(exc)}) from None
    if answer.get("decision") != "allow":
        raise _refuse(
            403,
            {
                "error": "access_denied",
                "decision": answer.get("decision"),
                "reasons": answer.get("reasons", []),
                "message": answer.get("message", ""),
                "approval": answer.get("approval"),
            },
        )
    return AgentAccess(claims=claims, decision=answer)
