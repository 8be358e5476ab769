"""One configuration an agent presented that no reviewed version carries (drift), and its review.

Everyone who sees the agent sees the page (another team's agent, or a row of another agent, is
a 404 by GET and by POST); the review form is for whom ``may_review_configuration`` allows (a
POST by anyone else is a 403), and the review is the service the API and the admin call, with
its audit entry and its refusals put on the form.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_http_methods

from agents.drift.selectors import with_coverage
from agents.drift.services import configuration_review, may_review_configuration

from ..forms import ConfigurationReviewForm
from .common import agent_for, render_form, submit


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
