"""Quarantine at the token endpoint: an UNTRUSTED agent gets no new token.

With ``OrganisationPolicy.quarantine_blocks_tokens`` (the default) the decision point's
quarantine reaches the token endpoint too: ``client_credentials`` and token exchange refuse
an agent whose level is UNTRUSTED, as the client or as the subject of the token asked for.
The level is read from the agent row already loaded with the credential or the subject token
(no query for any other agent); only a refusal reads the policy. Introspection and the
decision point keep answering for tokens already issued, with the level.
"""

from __future__ import annotations

from agents.models import Agent, OrganisationPolicy, TrustLevel
from agents.notices.models import NoticeKind
from agents.notices.services import notify

from .errors import OAuthError


class Quarantined(OAuthError):
    """RFC 6749 §5.2 ``unauthorized_client`` (the client) or ``invalid_grant`` (the subject of
    an exchange), recorded with the reason ``quarantined``."""

    reason = "quarantined"

    def __init__(self, agent: Agent, *, as_subject: bool = False) -> None:
        who = f"agent {agent.slug}" + (", the subject_token's agent," if as_subject else "")
        super().__init__(
            "invalid_grant" if as_subject else "unauthorized_client",
            f"{who} is quarantined (trust level untrusted): no new token until its level "
            "rises; its owners have been told",
        )
        self.agent = agent


def refuse_if_quarantined(agent: Agent, *, as_subject: bool = False) -> None:
    """Raise ``Quarantined`` for an UNTRUSTED agent while the policy blocks its tokens."""
    if agent.trust_level != TrustLevel.UNTRUSTED:
        return
    if OrganisationPolicy.current().quarantine_blocks_tokens:
        raise Quarantined(agent, as_subject=as_subject)


def quarantine_notice(agent: Agent) -> None:
    """Tell the owning team, once per quarantine (per level change), that a token was refused.

    Called in the refusal's own transaction; the notice is deduplicated on the time the level
    was last set, so a quarantined agent retrying does not flood its owners."""
    since = agent.trust_updated_at.isoformat() if agent.trust_updated_at else "registered"
    notify(
        kind=NoticeKind.QUARANTINED,
        subject=f"{agent.slug} is quarantined: its token requests are refused",
        body=(
            f"Agent {agent.slug} asked for a token and was refused: its trust level is "
            "UNTRUSTED and the organisation policy blocks the tokens of quarantined agents. "
            "Its trust breakdown says what would raise it."
        ),
        team=agent.owner_team,
        link=f"/portal/agents/{agent.slug}/",
        dedupe_key=f"{agent.pk}:{since}",
    )
