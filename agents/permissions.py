"""Who may see and change what. Deny by default.

Roles are groups: platform admins manage policy and everything else, security reviewers see
everything and decide reviews and approvals, team members see and manage their teams' agents.
"""

from __future__ import annotations

PLATFORM_ADMIN = "platform-admin"
SECURITY_REVIEWER = "security-reviewer"
TEAM_MEMBER = "team-member"
ROLES = (PLATFORM_ADMIN, SECURITY_REVIEWER, TEAM_MEMBER)


def has_role(user, role: str) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    cache = getattr(user, "_role_cache", None)
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))
        user._role_cache = cache
    return role in cache


def is_platform_admin(user) -> bool:
    return bool(getattr(user, "is_superuser", False) and user.is_active) or has_role(
        user, PLATFORM_ADMIN
    )


def can_see_everything(user) -> bool:
    return is_platform_admin(user) or has_role(user, SECURITY_REVIEWER)
