"""Hand-made audit histories in the shapes the token endpoint and the decision point write.

``tests/usage/test_fold.py::test_the_endpoints_audit_what_the_fold_reads`` drives the real
endpoints and checks the same counts, so a change of those shapes fails there first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from agents.models import Agent
from audit.chain import sequence_pending
from audit.models import AuditEntry

OUTCOME = {"allow": "success", "deny": "denied", "approval_required": "pending"}


@dataclass
class History:
    """Audit entries to write; ``write()`` inserts and chains them (as the sequencer would)."""

    entries: list[AuditEntry] = field(default_factory=list)

    def _add(self, times: int, **fields) -> History:
        self.entries.extend(AuditEntry(**fields) for _ in range(times))
        return self

    def decision(
        self,
        agent: Agent,
        at: dt.datetime,
        *,
        resource: str = "customer-records",
        action: str = "read",
        decision: str = "allow",
        credential: int | str = 7,
        times: int = 1,
    ) -> History:
        return self._add(
            times,
            created_at=at,
            actor=agent.principal,
            actor_id=str(agent.pk),
            action="decision",
            outcome=OUTCOME[decision],
            resource=resource,
            credential_id=str(credential),
            context={"decision": decision, "requested_action": action, "reasons": []},
        )

    def token(
        self, agent: Agent, at: dt.datetime, *, credential: int = 7, times: int = 1
    ) -> History:
        return self._add(
            times,
            created_at=at,
            actor=agent.principal,
            action="token.issue",
            resource="http://testserver https://customer-records.example.test",
            target_type="access_token",
            credential_id=str(credential),
            changes={"grant_type": "client_credentials"},
        )

    def refused(self, agent: Agent, at: dt.datetime, *, credential: int = 7) -> History:
        self.entries.append(
            AuditEntry(
                created_at=at,
                actor=agent.principal,
                action="token.refuse",
                outcome="denied",
                reason="invalid_scope",
                credential_id=str(credential),
            )
        )
        return self

    def failed_auth(
        self, client_id: str, at: dt.datetime, *, credential: int | str = "", times: int = 1
    ) -> History:
        return self._add(
            times,
            created_at=at,
            actor="anonymous",
            action="client.authenticate",
            outcome="failure",
            reason="invalid_secret",
            resource=f"client:{client_id}",
            credential_id=str(credential),
            context={"method": "client_secret_basic", "endpoint": "/oauth/token"},
        )

    def other(self, actor: str, action: str, at: dt.datetime, **fields) -> History:
        self.entries.append(AuditEntry(created_at=at, actor=actor, action=action, **fields))
        return self

    def write(self) -> int:
        """Insert the entries and chain them; returns how many."""
        AuditEntry.objects.bulk_create(self.entries, batch_size=1000)
        count = len(self.entries)
        self.entries = []
        sequence_pending()
        return count
