"""``{% connection_usage_for agent as usage %}``: the agent page's connection usage card.

The page's grant and credential tables show their own usage (``governance.portal.selectors``,
from the same ``trust.usage`` selector); this card adds the connections'."""

from __future__ import annotations

from django import template

from ..selectors import agent_evidence

register = template.Library()


@register.simple_tag
def connection_usage_for(agent) -> dict:
    """The usage evidence of the agent's connections (4 queries)."""
    return agent_evidence(agent, parts=("connections",))
