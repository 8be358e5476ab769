"""An agent's credentials from the portal: issue, rotate, rotate in an emergency, revoke.

A new client secret is shown once, in the response to the POST that made it, marked
``Cache-Control: no-store``; it is kept nowhere (not in the session, not in a message), so a
lost secret means a rotation. Issuing and rotating hand out a credential, so they need the
right to manage the agent; revoking contains, so reviewers may do it too.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from agents.permissions import can_contain_agent, can_manage_agent
from credentials import services
from credentials.models import Credential
from credentials.services import IssuedCredential

from ..forms import CredentialIssueForm, CredentialRevokeForm, CredentialRotateForm
from .common import agent_for, confirm, no_store, render_form, submit


def _issued(request: HttpRequest, issued: IssuedCredential, *, rotated: Credential | None):
    """The one page that shows a secret: its only copy, never cached."""
    if issued.secret is None:
        what = "rotated" if rotated else "registered"
        messages.success(request, f"Public key {issued.credential.pk} {what}.")
        return redirect("portal:agent-detail", slug=issued.credential.agent.slug)
    response = render(
        request,
        "portal/credentials/issued.html",
        {
            "agent": issued.credential.agent,
            "credential": issued.credential,
            "secret": issued.secret,
            "rotated": rotated,
            "section": "agents",
        },
    )
    return no_store(response)


@sensitive_post_parameters("public_jwk")
@login_required
@require_http_methods(["GET", "POST"])
def credential_issue(request: HttpRequest, slug: str) -> HttpResponse:
    """A new client secret or public key for the agent."""
    agent = agent_for(request, slug, allowed=can_manage_agent)
    form = CredentialIssueForm(request.POST or None)
    done, issued = submit(
        request,
        form,
        lambda data: services.credential_issue(
            agent=agent,
            kind=data["kind"],
            public_jwk=data["public_jwk"],
            label=data["label"],
            expires_at=data["expires_at"],
            by=request.user,
        ),
    )
    if done:
        return _issued(request, issued, rotated=None)
    return render_form(request, "portal/credentials/issue.html", {"agent": agent}, form=form)


def _credential(agent, credential_id: str) -> Credential:
    return get_object_or_404(Credential.objects.filter(agent=agent), pk=credential_id)


@sensitive_post_parameters("public_jwk")
@login_required
@require_http_methods(["GET", "POST"])
def credential_rotate(
    request: HttpRequest, slug: str, credential_id: str, emergency: bool = False
) -> HttpResponse:
    """A successor; the predecessor works for the policy's overlap, or stops now if emergency."""
    agent = agent_for(request, slug, allowed=can_manage_agent)
    credential = _credential(agent, credential_id)
    form = CredentialRotateForm(request.POST or None, credential=credential, emergency=emergency)
    done, issued = submit(
        request,
        form,
        lambda data: services.credential_rotate(
            credential=credential,
            by=request.user,
            emergency=emergency,
            public_jwk=data.get("public_jwk"),
            reason=data["reason"],
        ),
    )
    if done:
        return _issued(request, issued, rotated=credential)
    return render_form(
        request,
        "portal/credentials/rotate.html",
        {"agent": agent, "credential": credential, "emergency": emergency},
        form=form,
    )


@login_required
@require_http_methods(["GET", "POST"])
def credential_revoke(request: HttpRequest, slug: str, credential_id: str) -> HttpResponse:
    """Revoke a credential now: it stops authenticating and its tokens stop working."""
    agent = agent_for(request, slug, allowed=can_contain_agent)
    credential = _credential(agent, credential_id)
    return confirm(
        request,
        agent=agent,
        form=CredentialRevokeForm(request.POST or None),
        change=lambda data: services.credential_revoke(
            credential=credential, by=request.user, reason=data["reason"]
        ),
        done=f"Credential {credential.pk} revoked.",
        title=f"Revoke credential {credential.pk} of {agent.display_name}?",
        consequence="It stops authenticating now, and every token issued with it stops "
        "working at the next check. Issue or rotate to another credential first if the "
        "agent must keep running.",
        button="Revoke",
    )
