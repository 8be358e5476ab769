"""Which audit principals a person may see: everything for reviewers and admins, else their
teams' agents and their own actions."""

from __future__ import annotations

from agents.models import Agent
from agents.permissions import can_see_everything
from audit.principals import agent_principal, user_principal


def principals_for(user) -> list[str] | None:
    """``None`` means every entry; otherwise the list of principals (one query)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    if can_see_everything(user):
        return None
    slugs = Agent.objects.visible_to(user).values_list("slug", flat=True)
    return [user_principal(user), *(agent_principal(slug) for slug in slugs)]


def may_see_agent(user, slug: str) -> bool:
    principals = principals_for(user)
    return principals is None or agent_principal(slug) in principals
