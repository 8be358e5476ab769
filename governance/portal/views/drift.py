"""Configurations agents presented that no reviewed version carries (drift): the queue of them,
and one with its review.

Everyone who sees the agent sees the page (another team's agent, or a row of another agent, is
a 404 by GET and by POST); the review form is for whom ``may_review_configuration`` allows (a
POST by anyone else is a 403), and the review is the service the API and the admin call, with
its audit entry and its refusals put on the form.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from agents.drift.selectors import configurations_for_queue, with_coverage
from agents.drift.services import configuration_review, may_review_configuration

from ..forms import ConfigurationReviewForm
from .common import agent_for, render_form, submit

# ?status= values of the queue; awaiting review is the default, "" shows every configuration.
QUEUE_STATUSES = [("pending", "Awaiting review"), ("reviewed", "Reviewed")]


@login_required
@require_GET
def configuration_queue(request: HttpRequest) -> HttpResponse:
    """Every observed configuration of the agents the user sees, 50 a page: those awaiting a
    review oldest first (the workbench shows only the first 50), the others last seen first."""
    wanted = request.GET.get("status", "pending")
    if wanted not in dict(QUEUE_STATUSES):
        wanted = ""
    reviewed = {"pending": False, "reviewed": True}.get(wanted)
    rows = configurations_for_queue(request.user, reviewed=reviewed)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/drift/queue.html",
        {
            "page": page,
            "status": wanted,
            "status_label": dict(QUEUE_STATUSES).get(wanted, ""),
            "statuses": QUEUE_STATUSES,
            "section": "reviews",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def configuration_detail(request: HttpRequest, slug: str, configuration_id: int) -> HttpResponse:
    """The digest in full, when and how it was seen, its review; the form while it awaits one."""
    agent = agent_for(request, slug)
    observed = get_object_or_404(
        with_coverage(agent.observed_configurations.select_related("reviewed_by")),
        pk=configuration_id,
    )
    may_review = may_review_configuration(request.user, agent)
    if request.method == "POST" and not may_review:
        raise PermissionDenied("You may not review this agent's configurations.")
    # An empty POST is still a submission: the form says what is missing.
    form = ConfigurationReviewForm(request.POST if request.method == "POST" else None)
    done, _ = submit(
        request,
        form,
        lambda data: configuration_review(
            observed=observed, by=request.user, reason=data["reason"]
        ),
    )
    if done:
        messages.success(
            request,
            "Configuration reviewed: it no longer holds the agent's trust level at PENDING.",
        )
        return redirect("portal:configuration", slug=agent.slug, configuration_id=observed.pk)
    return render_form(
        request,
        "portal/drift/configuration.html",
        {"agent": agent, "observed": observed, "may_review": may_review},
        form=form,
    )
