"""``{% usage_for agent as usage %}``: the agent page's usage panel, included by one line."""

from __future__ import annotations

from django import template

from ..selectors import agent_evidence

register = template.Library()


@register.simple_tag
def usage_for(agent) -> dict:
    """The usage evidence of the agent's grants, connections and credentials (6 queries)."""
    evidence = agent_evidence(agent)
    evidence["rows"] = [evidence["grants"], evidence["connections"], evidence["credentials"]]
    return evidence
