"""Trust models. The current score and level live on ``agents.Agent``; this app writes them."""

from agents.models import Agent


class AgentTrust(Agent):
    """The agent seen through its trust fields: what the admin's trust page edits."""

    class Meta:
        proxy = True
        verbose_name = "agent trust level"
        verbose_name_plural = "agent trust levels"


# Usage facts (the audit log's aggregator) and attestations live in their own packages.
from .attestations.models import Attestation, Attestor  # noqa: E402, F401
from .usage.models import UsageBaseline, UsageHour, UsageTotal, UsageWatermark  # noqa: E402, F401
