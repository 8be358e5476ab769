"""The portal's audit search page: filters, summaries in words, timeline, export links."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from audit import selectors
from audit.principals import agent_principal

from .filters import PortalAuditFilter
from .visibility import principals_for

PAGE_SIZE = 50


@login_required
def audit_search(request: HttpRequest) -> HttpResponse:
    """Search what the user may see; with an agent named, its timeline oldest first."""
    visible = selectors.entries_visible(principals_for(request.user))
    filterset = PortalAuditFilter(request.GET, queryset=visible)
    valid = filterset.is_valid()
    entries = filterset.qs if valid else visible.none()
    agent = (request.GET.get("agent") or "").strip() if valid else ""
    if agent and not request.GET.get("ordering"):
        entries = selectors.agent_timeline(
            entries, principal=agent_principal(agent.removeprefix("agent:"))
        )
    elif not request.GET.get("ordering"):
        entries = entries.order_by("-created_at", "-id")
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "portal/audit/search.html",
        {
            "filter": filterset,
            "page": page,
            "summaries": selectors.summaries(entries, limit=10) if valid else [],
            "timeline_of": agent,
            "query": query.urlencode(),
            "section": "audit",
        },
        status=200 if valid else 400,
    )
