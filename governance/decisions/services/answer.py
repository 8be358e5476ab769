"""What the decision point answers (``Decision.as_dict()`` is the HTTP body)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from governance.approvals.models import ApprovalRequest

from .. import policy as p


@dataclass
class Decision:
    """The answer of the decision point."""

    decision: str
    reasons: list[str]
    message: str
    trust: dict[str, Any] | None = None
    remaining: dict[str, Any] = field(default_factory=lambda: {"rate": None, "budget": None})
    approval: ApprovalRequest | None = None
    log_only: list[p.LogOnly] = field(default_factory=list)
    audit_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        approval = None
        if self.approval is not None:
            approval = {
                "id": str(self.approval.pk),
                "status": self.approval.status,
                "url": f"/api/v1/approvals/{self.approval.pk}",
                "portal_url": f"/portal/approvals/{self.approval.pk}/",
                "expires_at": self.approval.expires_at.isoformat(),
                "valid_until": self.approval.valid_until.isoformat()
                if self.approval.valid_until
                else None,
            }
        return {
            "decision": self.decision,
            "reasons": self.reasons,
            "message": self.message,
            "trust": self.trust,
            "remaining": self.remaining,
            "approval": approval,
            "log_only": [lo.as_dict() for lo in self.log_only],
            "audit_id": self.audit_id,
        }
