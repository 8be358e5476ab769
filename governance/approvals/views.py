"""Portal pages for approvals: ``/portal/approvals/`` (list) and one request with its decision."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from governance.portal.views.common import status_page

from .errors import ApprovalError
from .models import ApprovalRequest
from .permissions import approvals_visible_to, can_decide_approval
from .services import approval_decide

# Whole sentences: a past tense built by suffixing the verb gave "Request denyd.".
DONE = {"approve": "Request approved.", "deny": "Request denied."}


class DecideForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("deny", "Deny")])
    reason = forms.CharField(
        max_length=2000,
        required=False,
        label="Reason (recorded in the audit log)",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@login_required
def approval_list(request: HttpRequest) -> HttpResponse:
    page, wanted = status_page(
        request, approvals_visible_to(request.user), ApprovalRequest.Status.choices
    )
    return render(
        request,
        "portal/approvals/list.html",
        {
            "page": page,
            "status": wanted,
            "status_label": dict(ApprovalRequest.Status.choices).get(wanted, ""),
            "statuses": ApprovalRequest.Status.choices,
            "section": "approvals",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def approval_detail(request: HttpRequest, pk) -> HttpResponse:
    approval = approvals_visible_to(request.user).filter(pk=pk).first()
    if approval is None:
        raise Http404
    may_decide = can_decide_approval(request.user, approval)
    form = DecideForm(request.POST or None)
    if request.method == "POST":
        if not may_decide:
            raise PermissionDenied("You may not decide this request.")
        if form.is_valid():
            try:
                approval_decide(
                    approval=approval,
                    approve=form.cleaned_data["decision"] == "approve",
                    by=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except ApprovalError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, DONE[form.cleaned_data["decision"]])
            return redirect("approvals:detail", pk=approval.pk)
    return render(
        request,
        "portal/approvals/detail.html",
        {"approval": approval, "form": form, "may_decide": may_decide, "section": "approvals"},
    )
