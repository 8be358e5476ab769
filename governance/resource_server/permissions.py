"""DRF permission: ``permission_classes = [AgentDecisionPermission]`` on a resource server view.

The view may set ``agent_action`` (a string, or a dict by HTTP method) and define
``agent_cost(request)``; otherwise the method maps through ``ACTIONS``.
"""

from __future__ import annotations

from rest_framework import exceptions, permissions

from .conf import governance
from .guard import Refused, authorize


class _Answer(exceptions.APIException):
    def __init__(self, refused: Refused) -> None:
        import json

        self.status_code = refused.response.status_code
        super().__init__(detail=json.loads(refused.response.content))
        self.auth_header = refused.response.get("WWW-Authenticate")


class AgentDecisionPermission(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        configured = getattr(view, "agent_action", None)
        action = configured.get(request.method) if isinstance(configured, dict) else configured
        action = action or governance().actions.get(request.method, request.method.lower())
        cost_of = getattr(view, "agent_cost", None)
        try:
            request.agent_access = authorize(
                request, action=action, cost=cost_of(request) if cost_of else None
            )
        except Refused as refused:
            raise _Answer(refused) from None
        return True
