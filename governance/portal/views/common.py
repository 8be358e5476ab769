"""What every portal page shares: finding the agent, checking the right, showing errors.

An agent outside the user's view is a 404 on every page and form, by GET and by POST, so a
page never confirms that another team's agent exists. An agent the user sees but may not
change (a reviewer looking at a team's agent) is a 403 on the forms that would change it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from agents.errors import RegistryError
from agents.models import Agent
from agents.selectors import agents_visible
from credentials.errors import CredentialError

# What a service raises when it refuses a change; the portal shows it on the form.
REFUSALS = (RegistryError, CredentialError, ValidationError)

AgentCheck = Callable[[object, Agent], bool]


def agent_for(request: HttpRequest, slug: str, *, allowed: AgentCheck | None = None) -> Agent:
    """The agent named by ``slug`` if the user sees it (else 404) and ``allowed`` (else 403)."""
    agent = get_object_or_404(agents_visible(request.user), slug=slug)
    if allowed is not None and not allowed(request.user, agent):
        raise PermissionDenied("You may not change this agent.")
    return agent


def add_service_error(form: forms.Form, exc: Exception) -> None:
    """Put a service's refusal on the form: on the field it names, else above the fields."""
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    elif isinstance(exc, ValidationError):
        form.add_error(None, exc.messages)
    else:
        message = str(exc)
        ending = "" if message.endswith(".") else "."
        form.add_error(None, message[:1].upper() + message[1:] + ending)


def submit(
    request: HttpRequest, form: forms.Form, change: Callable[[dict], Any]
) -> tuple[bool, Any]:
    """On a valid POST run ``change(cleaned_data)`` (one service call): ``(True, its result)``.

    Otherwise ``(False, None)``, with the service's refusal, if any, put on the form.
    """
    if request.method != "POST" or not form.is_valid():
        return False, None
    try:
        return True, change(form.cleaned_data)
    except REFUSALS as exc:
        add_service_error(form, exc)
        return False, None


def confirm(
    request: HttpRequest,
    *,
    agent: Agent,
    form: forms.Form,
    change: Callable[[dict], Any],
    done: str,
    title: str,
    consequence: str,
    button: str,
    button_class: str = "danger",
) -> HttpResponse:
    """A change confirmed on its own page: what will happen, a reason, the button."""
    changed, _ = submit(request, form, change)
    if changed:
        messages.success(request, done)
        return redirect("portal:agent-detail", slug=agent.slug)
    page = {"title": title, "consequence": consequence, "button": button}
    return render_form(
        request,
        "portal/confirm.html",
        {"agent": agent, **page, "button_class": button_class},
        form=form,
    )


def render_form(
    request: HttpRequest, template: str, context: dict, *, form: forms.Form
) -> HttpResponse:
    """A form page; 400 when a posted form came back with errors, so nothing was changed."""
    status = 400 if form.is_bound and form.errors else 200
    return render(request, template, {"form": form, "section": "agents", **context}, status=status)


def no_store(response: HttpResponse) -> HttpResponse:
    """Keep a page that shows a secret out of every cache (RFC 9111 ``no-store``)."""
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def status_page(
    request: HttpRequest, queryset, statuses: list[tuple[str, str]], field: str = "status"
):
    """A queue page: ``?status=`` (pending by default, empty for every status) and ``?page=``,
    filtering the model's ``field``.

    Returns ``(page, the status shown or "")``; an unknown status shows every status.
    """
    from django.core.paginator import Paginator

    wanted = request.GET.get("status", "pending")
    if wanted in dict(statuses):
        queryset = queryset.filter(**{field: wanted})
    else:
        wanted = ""
    return Paginator(queryset, 50).get_page(request.GET.get("page")), wanted
