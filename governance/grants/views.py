"""Portal pages for grant requests (``/portal/grant-requests/``) and version scope reviews
(``/portal/scope-reviews/``): each a queue and one page per item with its decision form.

A request outside one's view is a 404 (by URL and by form post alike); a visible one that the
user may not decide shows why, and a decision posted anyway is refused by the service.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from agents.errors import RegistryError
from agents.models import AgentVersion
from governance.portal.views.common import status_page

from .models import GrantRequest
from .permissions import (
    grant_requests_visible_to,
    scope_reviews_visible_to,
    why_not_decide,
    why_not_decide_for,
)
from .services import grant_request_decide
from .versions import scope_review_decide

DONE = {"approve": "Request approved: the scope is granted.", "deny": "Request denied."}
VERSION_DONE = {
    "approve": "Approved: the added scopes are granted and the version is current.",
    "deny": "Denied: the version does not become current.",
}


class GrantDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("deny", "Deny")])
    comment = forms.CharField(
        max_length=2000,
        label="Comment (the team reads it; recorded in the audit log)",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def _decide(request: HttpRequest, form: GrantDecisionForm, decide, done: dict[str, str]) -> None:
    """Run the decision service on a valid form; its refusal becomes the page's message."""
    decision = form.cleaned_data["decision"]
    try:
        decide(decision == "approve", form.cleaned_data["comment"])
    except RegistryError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done[decision])


@login_required
def grant_request_list(request: HttpRequest) -> HttpResponse:
    """The queue: pending requests first by default, every status on demand."""
    page, wanted = status_page(
        request, grant_requests_visible_to(request.user), GrantRequest.Status.choices
    )
    return render(
        request,
        "portal/grants/list.html",
        {
            "page": page,
            "status": wanted,
            "statuses": GrantRequest.Status.choices,
            "section": "grant-requests",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def grant_request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One request with its decision form for those who may decide it."""
    grant_request = grant_requests_visible_to(request.user).filter(pk=pk).first()
    if grant_request is None:
        raise Http404
    refusal = why_not_decide(request.user, grant_request)
    form = GrantDecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _decide(
            request,
            form,
            lambda approve, comment: grant_request_decide(
                request=grant_request, approve=approve, by=request.user, comment=comment
            ),
            DONE,
        )
        return redirect("grants:detail", pk=grant_request.pk)
    return render(
        request,
        "portal/grants/detail.html",
        {
            "req": grant_request,
            "form": form,
            "refusal": refusal,
            "section": "grant-requests",
        },
    )


@login_required
def scope_review_list(request: HttpRequest) -> HttpResponse:
    """Versions asking for different access, pending first by default."""
    statuses = [c for c in AgentVersion.ScopeReview.choices if c[0] != "none"]
    page, wanted = status_page(
        request, scope_reviews_visible_to(request.user), statuses, field="scope_review"
    )
    return render(
        request,
        "portal/grants/scope_reviews.html",
        {"page": page, "status": wanted, "statuses": statuses, "section": "scope-reviews"},
    )


@login_required
@require_http_methods(["GET", "POST"])
def scope_review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One version's difference of access, with the decision form for who may decide it."""
    version = scope_reviews_visible_to(request.user).filter(pk=pk).first()
    if version is None:
        raise Http404
    refusal = why_not_decide_for(request.user, team_ids=[version.agent.owner_team_id])
    form = GrantDecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _decide(
            request,
            form,
            lambda approve, comment: scope_review_decide(
                version=version, approve=approve, by=request.user, comment=comment
            ),
            VERSION_DONE,
        )
        return redirect("scope_reviews:detail", pk=version.pk)
    return render(
        request,
        "portal/grants/scope_review.html",
        {"version": version, "form": form, "refusal": refusal, "section": "scope-reviews"},
    )
