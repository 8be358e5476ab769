"""Portal pages for grant requests: the queue (``/portal/grant-requests/``) and one request.

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
from governance.portal.views.common import status_page

from .models import GrantRequest
from .permissions import grant_requests_visible_to, why_not_decide
from .services import grant_request_decide

DONE = {"approve": "Request approved: the scope is granted.", "deny": "Request denied."}


class GrantDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("deny", "Deny")])
    comment = forms.CharField(
        max_length=2000,
        label="Comment (the team reads it; recorded in the audit log)",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


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
        decision = form.cleaned_data["decision"]
        try:
            grant_request_decide(
                request=grant_request,
                approve=decision == "approve",
                by=request.user,
                comment=form.cleaned_data["comment"],
            )
        except RegistryError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, DONE[decision])
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
