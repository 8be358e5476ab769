"""Resource owners' pages: every connection to their resources, consent, and the decisions.

A resource is shown to its owning team (and to reviewers and admins, who see everything); for
anyone else it is a 404, by URL and by form post alike. Consent calls the one service the API
calls (``connection_consent``), which checks the right again.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from agents import services
from agents.errors import RegistryError
from agents.models import Connection, Resource
from agents.permissions import can_manage_team, restrict
from audit.models import AuditEntry

RECENT_DECISIONS = 50


class ConsentForm(forms.Form):
    connection = forms.IntegerField(widget=forms.HiddenInput)
    accept = forms.TypedChoiceField(
        choices=[("1", "Accept"), ("0", "Decline")], coerce=lambda v: v == "1"
    )
    comment = forms.CharField(max_length=2000, required=False)


def _owned(user):
    return restrict(Resource.objects.select_related("owner_team"), user, team_field="owner_team")


@login_required
def resource_list(request: HttpRequest) -> HttpResponse:
    """The resources the user's teams own (all of them for reviewers and admins)."""
    return render(
        request,
        "portal/resources/list.html",
        {"resources": _owned(request.user).order_by("name"), "section": "resources"},
    )


@login_required
@require_http_methods(["GET", "POST"])
def resource_detail(request: HttpRequest, resource: str) -> HttpResponse:
    """Every connection to the resource, whatever the agent's team, and its latest decisions."""
    slug = resource
    resource = get_object_or_404(_owned(request.user), slug=slug)
    connections = resource.connections.select_related("agent", "agent__owner_team").order_by(
        "status", "agent__slug"
    )
    if request.method == "POST":
        form = ConsentForm(request.POST)
        if not form.is_valid():
            raise Http404
        connection = connections.filter(pk=form.cleaned_data["connection"]).first()
        if connection is None:
            raise Http404
        try:
            services.connection_consent(
                connection=connection,
                accept=form.cleaned_data["accept"],
                comment=form.cleaned_data["comment"],
                by=request.user,
            )
        except RegistryError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request, f"Connection of {connection.agent.slug}: {connection.status}."
            )
        return redirect("portal:resource-detail", resource=resource.slug)
    decisions = AuditEntry.objects.filter(action="decision", resource=resource.slug).order_by(
        "-id"
    )[:RECENT_DECISIONS]
    return render(
        request,
        "portal/resources/detail.html",
        {
            "resource": resource,
            "connections": connections,
            "decisions": decisions,
            "may_consent": can_manage_team(request.user, resource.owner_team_id),
            "pending": Connection.Status.PENDING,
            "section": "resources",
        },
    )
