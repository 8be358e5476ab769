"""Django middleware: every request under ``PATH_PREFIXES`` must be allowed by the decision point.

The action is the HTTP method mapped through ``ACTIONS`` (GET→read, POST→write, DELETE→delete
by default). An allowed request gets ``request.agent_access`` (claims and the answer).
"""

from __future__ import annotations

from .conf import governance
from .guard import Refused, authorize


class AgentGovernanceMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        gov = governance()
        if not request.path.startswith(gov.path_prefixes):
            return self.get_response(request)
        action = gov.actions.get(request.method, request.method.lower())
        try:
            request.agent_access = authorize(request, action=action)
        except Refused as refused:
            return refused.response
        return self.get_response(request)
