"""The isolation matrix's table: one line per route — who may read it and who may change
through it, for team A's objects (``test_isolation_matrix.py`` asks every role).

Roles: ``admin`` (platform admin), ``reviewer`` (security reviewer), ``manager`` (a member of
team A, who manages its agents), ``other`` (a member of team B), ``agent`` (team A's agent,
with its access token as a Bearer header), ``anon``.

    "api/v1/things/<pk>/": R("admin reviewer manager", change="admin manager"),

``R(read, change=...)``: the roles (space-separated, or ``ALL``) whose GET is answered and whose
unsafe requests (POST, PATCH, PUT, DELETE) are not refused; everyone else must be refused (401,
403, 404, or a redirect to sign in) and change nothing. ``public=True`` marks a route open to
anyone by design (public documents; endpoints that authenticate their callers themselves).
Path parameters are filled with team A's objects by ``params_for`` (add a line to ``OBJECTS``,
or to ``ADMIN_OBJECTS`` for an admin model, for a new kind of object; the object itself to
``isolation_world.py`` or ``isolation_newer.py``, made by its service):
``test_every_route_that_names_an_object_names_a_real_one`` fails while one is missing. A GET
answered by a redirect elsewhere than a sign-in page (the admin's ``<object_id>/``) says nothing
either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.routes import Route

ALL = "admin reviewer manager other agent anon"
PEOPLE = "admin reviewer manager other"


@dataclass(frozen=True)
class Rule:
    readers: frozenset[str]
    changers: frozenset[str]
    public: bool = False


def R(read: str = "", change: str = "", public: bool = False) -> Rule:
    return Rule(frozenset(read.split()), frozenset(change.split()), public)


# Which world object a route's path parameters name, by the route's prefix (first match).
OBJECTS = [
    ("api/v1/teams/", "team"),
    ("api/v1/agents/", "agent"),
    ("api/v1/agent-versions/", "version"),
    ("api/v1/scopes/", "scope"),
    ("api/v1/grants/", "grant"),
    ("api/v1/resources/", "resource"),
    # Consent is asked about a connection waiting for it: team B's agent to team A's resource.
    ("api/v1/connections/<pk>/consent/", "pending_connection"),
    ("api/v1/connections/", "connection"),
    ("api/v1/workflows/", "workflow"),
    ("api/v1/runs/", "run"),
    ("api/v1/tokens/", "api_token"),
    ("api/v1/notices/", "notice"),
    ("portal/notices/", "notice"),
    ("api/v1/credentials/", "credential"),
    ("api/v1/approvals/", "approval"),
    ("portal/approvals/", "approval"),
    ("api/v1/audit/agents/", "agent"),
    ("portal/agents/", "agent"),
    ("portal/reviews/campaigns/", "campaign"),
    ("api/v1/reviews/campaigns/", "campaign"),
    ("portal/reviews/items/", "review_item"),
    ("api/v1/reviews/items/", "review_item"),
    ("portal/grant-requests/", "grant_request"),
    ("api/v1/grant-requests/", "grant_request"),
    ("portal/scope-reviews/", "scope_review"),
    ("api/v1/scope-reviews/", "scope_review"),
    ("api/v1/observed-configurations/", "observed"),
    ("api/v1/attestors/", "attestor"),
    ("api/v1/attestations/", "attestation"),
    ("api/v1/trust/agents/", "agent"),
]
# Parameters that name a second object, whatever the route.
SECOND = {
    "grant_id": "grant",
    "connection_id": "connection",
    "credential_id": "credential",
    "configuration_id": "observed",
    "notice_id": "notice",
    "resource": "resource",
}
FIXED = {"action": "suspend", "fmt": "jsonl", "name": "none", "pk": 0, "slug": "none"}
# Admin pages: the world object of each admin model (others use the model's first row).
ADMIN_OBJECTS = {
    "agents/team": "team",
    "agents/agent": "agent",
    "agents/agentversion": "version",
    "agents/scope": "scope",
    "agents/scopegrant": "grant",
    "agents/resource": "resource",
    "agents/connection": "connection",
    "agents/workflow": "workflow",
    "agents/workflowrun": "run",
    "credentials/credential": "credential",
    "approvals/approvalrequest": "approval",
    "agents/observedconfiguration": "observed",
    "reviews/campaign": "campaign",
    "reviews/reviewitem": "review_item",
    "reviews/agentusage": "agent",
    "grants/grantrequest": "grant_request",
    "grants/scopereview": "scope_review",
    "trust/attestor": "attestor",
    "trust/attestation": "attestation",
    "trust/agenttrust": "agent",
    "trust/trustpin": "trust_pin",
    "trust/trustcomputation": "trust_history",
    "agents/notice": "notice",  # not the newest row: opening the approval raised notices too
}


def _value(obj: Any, name: str) -> Any:
    if name in ("slug", "name", "run_id"):
        return getattr(obj, name)
    return obj.pk


def params_for(route: Route, world: dict[str, Any]) -> dict[str, Any]:
    if route.template.startswith("admin/"):
        return _admin_params(route, world)
    obj = next((world[k] for prefix, k in OBJECTS if route.template.startswith(prefix)), None)
    out = {}
    for name in route.params:
        if name in SECOND:
            out[name] = _value(world[SECOND[name]], "slug" if name == "resource" else "pk")
        elif obj is not None and name in ("slug", "name", "run_id", "pk"):
            out[name] = _value(obj, name)
        else:
            out[name] = FIXED.get(name, "none")
    return out


def _admin_params(route: Route, world: dict[str, Any]) -> dict[str, Any]:
    parts = route.template.split("/")
    model_key = "/".join(parts[1:3])
    out: dict[str, Any] = {}
    for name in route.params:
        if name == "object_id":
            key = ADMIN_OBJECTS.get(model_key)
            if key:
                out[name] = world[key].pk
            else:
                out[name] = _first_pk(parts[1], parts[2])
        else:
            out[name] = {"app_label": parts[1]}.get(name, "none")
    return out


def _first_pk(app_label: str, model_name: str) -> Any:
    from django.apps import apps

    try:
        model = apps.get_model(app_label, model_name)
    except LookupError:
        return 0
    return model._default_manager.values_list("pk", flat=True).first() or 0


# Bootstrapped from what each role got on 2026-12-03 and reviewed: every object route of team A
# refuses team B's member, the agent's token and anonymous, except those marked public (public
# documents, endpoints that authenticate their callers themselves, and the shared catalogue of
# resources and scopes, which every team reads). Collections (no object in the path) answer
# everyone with their own part; "change" there includes an answer of 400 to an empty body.
RULES: dict[str, Rule] = {
    "admin/": R("admin reviewer manager other", change="admin reviewer manager other"),
    "admin/login/": R("agent anon", change=ALL, public=True),
    "admin/logout/": R("", public=True),
    "admin/password_change/": R(
        "admin reviewer manager other", change="admin reviewer manager other"
    ),
    "admin/password_change/done/": R("admin reviewer manager other"),
    "admin/autocomplete/": R(""),
    "admin/jsi18n/": R("admin reviewer manager other"),
    "admin/r/<path:content_type_id>/<path:object_id>/": R(""),
    "admin/auth/group/": R(""),
    "admin/auth/group/add/": R(""),
    "admin/auth/group/<path:object_id>/history/": R(""),
    "admin/auth/group/<path:object_id>/delete/": R(""),
    "admin/auth/group/<path:object_id>/change/": R(""),
    "admin/auth/group/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/auth/user/<id>/password/": R(""),
    "admin/auth/user/": R(""),
    "admin/auth/user/add/": R(""),
    "admin/auth/user/<path:object_id>/history/": R(""),
    "admin/auth/user/<path:object_id>/delete/": R(""),
    "admin/auth/user/<path:object_id>/change/": R(""),
    "admin/auth/user/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/agents/notice/": R(
        "admin reviewer manager other", change="admin reviewer manager other"
    ),
    "admin/agents/notice/add/": R(""),
    "admin/agents/notice/<path:object_id>/history/": R("admin manager", change="admin manager"),
    "admin/agents/notice/<path:object_id>/delete/": R(""),
    "admin/agents/notice/<path:object_id>/change/": R("admin manager"),
    "admin/agents/notice/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/agents/outboxmessage/": R("admin", change="admin"),
    "admin/agents/outboxmessage/add/": R(""),
    "admin/agents/outboxmessage/<path:object_id>/history/": R("admin", change="admin"),
    "admin/agents/outboxmessage/<path:object_id>/delete/": R(""),
    "admin/agents/outboxmessage/<path:object_id>/change/": R("admin"),
    "admin/agents/outboxmessage/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/agents/organisationpolicy/": R("", change="admin"),
    "admin/agents/organisationpolicy/add/": R(""),
    "admin/agents/organisationpolicy/<path:object_id>/history/": R("admin", change="admin"),
    "admin/agents/organisationpolicy/<path:object_id>/delete/": R(""),
    "admin/agents/organisationpolicy/<path:object_id>/change/": R("admin", change="admin"),
    "admin/agents/organisationpolicy/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/agents/apitoken/": R(
        "admin reviewer manager other", change="admin reviewer manager other"
    ),
    "admin/agents/apitoken/add/": R(
        "admin reviewer manager other", change="admin reviewer manager other"
    ),
    "admin/agents/apitoken/<path:object_id>/history/": R("admin manager", change="admin manager"),
    "admin/agents/apitoken/<path:object_id>/delete/": R(""),
    "admin/agents/apitoken/<path:object_id>/change/": R("admin manager"),
    "admin/agents/apitoken/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/agents/teamgroupobjectpermission/": R("admin", change="admin"),
    "admin/agents/teamgroupobjectpermission/add/": R(""),
    "admin/agents/teamgroupobjectpermission/<path:object_id>/history/": R("admin", change="admin"),
    "admin/agents/teamgroupobjectpermission/<path:object_id>/delete/": R(""),
    "admin/agents/teamgroupobjectpermission/<path:object_id>/change/": R("admin"),
    "admin/agents/teamgroupobjectpermission/<path:object_id>/": R(
        ""
    ),  # a redirect to the change page
    "admin/agents/teamuserobjectpermission/": R("admin", change="admin"),
    "admin/agents/teamuserobjectpermission/add/": R(""),
    "admin/agents/teamuserobjectpermission/<path:object_id>/history/": R("admin", change="admin"),
    "admin/agents/teamuserobjectpermission/<path:object_id>/delete/": R(""),
    "admin/agents/teamuserobjectpermission/<path:object_id>/change/": R("admin"),
    "admin/agents/teamuserobjectpermission/<path:object_id>/": R(
        ""
    ),  # a redirect to the change page
    "admin/agents/team/": R("admin reviewer manager other", change="admin reviewer manager other"),
    "admin/agents/team/add/": R("admin", change="admin"),
    "admin/agents/team/<path:object_id>/history/": R(
        "admin reviewer manager", change="admin reviewer manager"
    ),
    "admin/agents/team/<path:object_id>/delete/": R(""),
    "admin/agents/team/<path:object_id>/change/": R("admin reviewer manager", change="admin"),
    "admin/agents/team/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/agents/agent/": R("admin reviewer manager other", change="admin reviewer manager other"),
    "admin/agents/agent/add/": R("admin manager other", change="admin manager other"),
    "admin/agents/agent/<path:object_id>/history/": R(
        "admin reviewer manager", change="admin reviewer manager"
    ),
    "admin/agents/agent/<path:object_id>/delete/": R(""),
    "admin/agents/agent/<path:object_id>/change/": R(
        "admin reviewer manager", change="admin manager"
    ),
    "admin/agents/agent/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/agents/agentversion/": R(
        "admin reviewer manager other", change="admin reviewer manager other"
    ),
    "admin/agents/agentversion/add/": R("admin manager other", change="admin manager other"),
    "admin/agents/agentversion/<path:object_id>/history/": R(
        "admin reviewer manager", change="admin reviewer manager"
    ),
    "admin/agents/agentversion/<path:object_id>/delete/": R(""),
    "admin/agents/agentversion/<path:object_id>/change/": R("admin reviewer manager"),
    "admin/agents/agentversion/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/agents/scope/": R("admin reviewer manager other", change="admin reviewer manager other"),
    "admin/agents/scope/add/": R("admin", change="admin"),
    "admin/agents/scope/<path:object_id>/history/": R(
        "admin reviewer manager other", change="admin reviewer manager other", public=True
    ),
    "admin/agents/scope/<path:object_id>/delete/": R(""),
    "admin/agents/scope/<path:object_id>/change/": R(
        "admin reviewer manager other", change="admin", public=True
    ),
    "admin/agents/scope/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/agents/scopegrant/": R(
        "admin reviewer manager other", change="admin reviewer manager other"
    ),
    "admin/agents/scopegrant/add/": R("admin manager other", change="admin manager other"),
    "admin/agents/scopegrant/<path:object_id>/history/": R(
        "admin reviewer manager", change="admin reviewer manager"
    ),
    "admin/agents/scopegrant/<path:object_id>/delete/": R(""),
    "admin/agents/scopegrant/<path:object_id>/change/": R("admin reviewer manager"),
    "admin/agents/scopegrant/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/agents/resource/": R(
        "admin reviewer manager other", change="admin reviewer manager other"
    ),
    "admin/agents/resource/add/": R("admin manager other", change="admin manager other"),
    "admin/agents/resource/<path:object_id>/history/": R(
        "admin reviewer manager other", change="admin reviewer manager other", public=True
    ),
    "admin/agents/resource/<path:object_id>/delete/": R(""),
    "admin/agents/resource/<path:object_id>/change/": R(
        "admin reviewer manager other", change="admin manager", public=True
    ),
    "admin/agents/resource/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/agents/connection/": R(
        "admin reviewer manager other", change="admin reviewer manager other"
    ),
    "admin/agents/connection/add/": R("admin manager other", change="admin manager other"),
    "admin/agents/connection/<path:object_id>/history/": R(
        "admin reviewer manager", change="admin reviewer manager"
    ),
    "admin/agents/connection/<path:object_id>/delete/": R("admin manager", change="admin manager"),
    "admin/agents/connection/<path:object_id>/change/": R(
        "admin reviewer manager", change="admin manager"
    ),
    "admin/agents/connection/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/agents/workflow/": R(
        "admin reviewer manager other", change="admin reviewer manager other"
    ),
    "admin/agents/workflow/add/": R("admin manager other", change="admin manager other"),
    "admin/agents/workflow/<path:object_id>/history/": R(
        "admin reviewer manager", change="admin reviewer manager"
    ),
    "admin/agents/workflow/<path:object_id>/delete/": R(""),
    "admin/agents/workflow/<path:object_id>/change/": R(
        "admin reviewer manager", change="admin manager"
    ),
    "admin/agents/workflow/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/agents/workflowrun/": R(
        "admin reviewer manager other", change="admin reviewer manager other"
    ),
    "admin/agents/workflowrun/add/": R("admin manager other", change="admin manager other"),
    "admin/agents/workflowrun/<path:object_id>/history/": R(
        "admin reviewer manager", change="admin reviewer manager"
    ),
    "admin/agents/workflowrun/<path:object_id>/delete/": R(""),
    "admin/agents/workflowrun/<path:object_id>/change/": R("admin reviewer manager"),
    "admin/agents/workflowrun/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/credentials/credential/add/": R("admin manager other", change="admin manager other"),
    "admin/credentials/credential/": R(
        "admin reviewer manager other", change="admin reviewer manager other"
    ),
    "admin/credentials/credential/<path:object_id>/history/": R(
        "admin reviewer manager", change="admin reviewer manager"
    ),
    "admin/credentials/credential/<path:object_id>/delete/": R(""),
    "admin/credentials/credential/<path:object_id>/change/": R("admin reviewer manager"),
    "admin/credentials/credential/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/credentials/signingkey/": R("admin", change="admin"),
    "admin/credentials/signingkey/add/": R(""),
    "admin/credentials/signingkey/<path:object_id>/history/": R("admin", change="admin"),
    "admin/credentials/signingkey/<path:object_id>/delete/": R(""),
    "admin/credentials/signingkey/<path:object_id>/change/": R("admin"),
    "admin/credentials/signingkey/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/trust/attestor/": R("admin reviewer", change="admin reviewer"),
    "admin/trust/attestor/add/": R("admin", change="admin"),
    "admin/trust/attestor/<path:object_id>/history/": R("admin reviewer", change="admin reviewer"),
    "admin/trust/attestor/<path:object_id>/delete/": R(""),
    "admin/trust/attestor/<path:object_id>/change/": R("admin reviewer", change="admin"),
    "admin/trust/attestor/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/trust/attestation/": R("admin reviewer", change="admin reviewer"),
    "admin/trust/attestation/add/": R(""),
    "admin/trust/attestation/<path:object_id>/history/": R(
        "admin reviewer", change="admin reviewer"
    ),
    "admin/trust/attestation/<path:object_id>/delete/": R(""),
    "admin/trust/attestation/<path:object_id>/change/": R("admin reviewer"),
    "admin/trust/attestation/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/trust/agenttrust/": R("admin reviewer", change="admin reviewer"),
    "admin/trust/agenttrust/add/": R(""),
    "admin/trust/agenttrust/<path:object_id>/history/": R(
        "admin reviewer", change="admin reviewer"
    ),
    "admin/trust/agenttrust/<path:object_id>/delete/": R(""),
    # Reviewers pin levels in the admin.
    "admin/trust/agenttrust/<path:object_id>/change/": R("admin reviewer", change="admin reviewer"),
    "admin/trust/agenttrust/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/django_celery_beat/periodictask/": R("admin", change="admin"),
    "admin/django_celery_beat/periodictask/add/": R("admin", change="admin"),
    "admin/django_celery_beat/periodictask/<path:object_id>/history/": R("admin", change="admin"),
    "admin/django_celery_beat/periodictask/<path:object_id>/delete/": R("admin", change="admin"),
    "admin/django_celery_beat/periodictask/<path:object_id>/change/": R("admin", change="admin"),
    "admin/django_celery_beat/periodictask/<path:object_id>/": R(
        ""
    ),  # a redirect to the change page
    "admin/django_celery_beat/intervalschedule/": R("admin", change="admin"),
    "admin/django_celery_beat/intervalschedule/add/": R("admin", change="admin"),
    "admin/django_celery_beat/intervalschedule/<path:object_id>/history/": R(
        "admin", change="admin"
    ),
    "admin/django_celery_beat/intervalschedule/<path:object_id>/delete/": R(
        "admin", change="admin"
    ),
    "admin/django_celery_beat/intervalschedule/<path:object_id>/change/": R(
        "admin", change="admin"
    ),
    "admin/django_celery_beat/intervalschedule/<path:object_id>/": R(
        ""
    ),  # a redirect to the change page
    "admin/django_celery_beat/crontabschedule/": R("admin", change="admin"),
    "admin/django_celery_beat/crontabschedule/add/": R("admin", change="admin"),
    "admin/django_celery_beat/crontabschedule/<path:object_id>/history/": R(
        "admin", change="admin"
    ),
    "admin/django_celery_beat/crontabschedule/<path:object_id>/delete/": R("admin", change="admin"),
    "admin/django_celery_beat/crontabschedule/<path:object_id>/change/": R("admin", change="admin"),
    "admin/django_celery_beat/crontabschedule/<path:object_id>/": R(
        ""
    ),  # a redirect to the change page
    "admin/django_celery_beat/solarschedule/": R("admin", change="admin"),
    "admin/django_celery_beat/solarschedule/add/": R("admin", change="admin"),
    "admin/django_celery_beat/solarschedule/<path:object_id>/history/": R("admin", change="admin"),
    "admin/django_celery_beat/solarschedule/<path:object_id>/delete/": R("admin", change="admin"),
    "admin/django_celery_beat/solarschedule/<path:object_id>/change/": R("admin", change="admin"),
    "admin/django_celery_beat/solarschedule/<path:object_id>/": R(
        ""
    ),  # a redirect to the change page
    "admin/django_celery_beat/clockedschedule/": R("admin", change="admin"),
    "admin/django_celery_beat/clockedschedule/add/": R("admin", change="admin"),
    "admin/django_celery_beat/clockedschedule/<path:object_id>/history/": R(
        "admin", change="admin"
    ),
    "admin/django_celery_beat/clockedschedule/<path:object_id>/delete/": R("admin", change="admin"),
    "admin/django_celery_beat/clockedschedule/<path:object_id>/change/": R("admin", change="admin"),
    "admin/django_celery_beat/clockedschedule/<path:object_id>/": R(
        ""
    ),  # a redirect to the change page
    "admin/approvals/approvalrequest/": R(
        "admin reviewer manager other", change="admin reviewer manager other"
    ),
    "admin/approvals/approvalrequest/add/": R(""),
    "admin/approvals/approvalrequest/<path:object_id>/history/": R(
        "admin reviewer manager", change="admin reviewer manager"
    ),
    "admin/approvals/approvalrequest/<path:object_id>/delete/": R(""),
    "admin/approvals/approvalrequest/<path:object_id>/change/": R("admin reviewer manager"),
    "admin/approvals/approvalrequest/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/axes/accessattempt/": R(""),
    "admin/axes/accessattempt/add/": R(""),
    "admin/axes/accessattempt/<path:object_id>/history/": R(""),
    "admin/axes/accessattempt/<path:object_id>/delete/": R(""),
    "admin/axes/accessattempt/<path:object_id>/change/": R(""),
    "admin/axes/accessattempt/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/axes/accesslog/": R(""),
    "admin/axes/accesslog/add/": R(""),
    "admin/axes/accesslog/<path:object_id>/history/": R(""),
    "admin/axes/accesslog/<path:object_id>/delete/": R(""),
    "admin/axes/accesslog/<path:object_id>/change/": R(""),
    "admin/axes/accesslog/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/axes/accessfailurelog/": R(""),
    "admin/axes/accessfailurelog/add/": R(""),
    "admin/axes/accessfailurelog/<path:object_id>/history/": R(""),
    "admin/axes/accessfailurelog/<path:object_id>/delete/": R(""),
    "admin/axes/accessfailurelog/<path:object_id>/change/": R(""),
    "admin/axes/accessfailurelog/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/<app_label>/": R(""),
    "admin/<url>": R(""),
    ".well-known/oauth-authorization-server": R(ALL, public=True),
    ".well-known/jwks.json": R(ALL, public=True),
    "oauth/token": R("", change=ALL, public=True),
    "oauth/introspect": R("", change=ALL, public=True),
    "oauth/revoke": R("", change=ALL, public=True),
    "oauth/ping": R(ALL, change=ALL, public=True),
    "portal/approvals/": R("admin reviewer manager other", change="admin reviewer manager other"),
    "portal/approvals/<uuid:pk>/": R("admin reviewer manager", change="admin reviewer manager"),
    "portal/audit/": R("admin reviewer manager other", change="admin reviewer manager other"),
    "portal/login/": R("agent anon", change=ALL, public=True),
    "portal/logout/": R(""),
    "portal/": R("admin reviewer manager other", change="admin reviewer manager other"),
    "portal/agents/": R("admin reviewer manager other", change="admin reviewer manager other"),
    # Each sees the configurations of the agents they see; nothing to change (GET only).
    "portal/configurations/": R(PEOPLE),
    "portal/notices/": R("admin reviewer manager other", change="admin reviewer manager other"),
    "portal/notices/read-all/": R("", change="admin reviewer manager other"),
    "portal/notices/<int:notice_id>/read/": R("", change="manager"),
    "portal/new-agent/": R("admin manager other", change="admin manager other"),
    "portal/agents/<slug:slug>/": R("admin reviewer manager", change="admin reviewer manager"),
    "portal/agents/<slug:slug>/versions/new/": R("admin manager", change="admin manager"),
    "portal/agents/<slug:slug>/grants/new/": R("admin manager", change="admin manager"),
    "portal/agents/<slug:slug>/grants/<int:grant_id>/revoke/": R(
        "admin reviewer manager", change="admin reviewer manager"
    ),
    "portal/agents/<slug:slug>/connections/new/": R("admin manager", change="admin manager"),
    "portal/agents/<slug:slug>/connections/<int:connection_id>/": R(
        "admin manager", change="admin manager"
    ),
    "portal/agents/<slug:slug>/connections/<int:connection_id>/remove/": R(
        "admin manager", change="admin manager"
    ),
    "portal/agents/<slug:slug>/credentials/new/": R("admin manager", change="admin manager"),
    "portal/agents/<slug:slug>/credentials/<str:credential_id>/rotate/": R(
        "admin manager", change="admin manager"
    ),
    "portal/agents/<slug:slug>/credentials/<str:credential_id>/emergency/": R(
        "admin manager", change="admin manager"
    ),
    "portal/agents/<slug:slug>/credentials/<str:credential_id>/revoke/": R(
        "admin reviewer manager", change="admin reviewer manager"
    ),
    "portal/agents/<slug:slug>/<str:action>/": R(
        "admin reviewer manager", change="admin reviewer manager"
    ),
    "api/v1/decisions": R(""),
    "api/v1/teams/": R("admin reviewer manager other", change="admin"),
    "api/v1/teams/<slug>/": R("admin reviewer manager", change="admin"),
    "api/v1/agents/": R("admin reviewer manager other", change="admin manager other"),
    "api/v1/agents/<slug>/": R("admin reviewer manager", change="admin manager"),
    "api/v1/agents/<slug>/decommission/": R("", change="admin manager"),
    "api/v1/agents/<slug>/reactivate/": R("", change="admin manager"),
    "api/v1/agents/<slug>/suspend/": R("", change="admin reviewer manager"),
    "api/v1/agent-versions/": R("admin reviewer manager other", change="admin manager other"),
    "api/v1/agent-versions/<pk>/": R("admin reviewer manager"),
    "api/v1/agent-versions/<pk>/review/": R("", change="admin reviewer"),
    "api/v1/scopes/": R("admin reviewer manager other", change="admin"),
    "api/v1/scopes/<name>/": R("admin reviewer manager other", change="admin", public=True),
    "api/v1/grants/": R("admin reviewer manager other", change="admin manager other"),
    "api/v1/grants/<pk>/": R("admin reviewer manager"),
    "api/v1/grants/<pk>/revoke/": R("", change="admin reviewer manager"),
    "api/v1/resources/": R("admin reviewer manager other", change="admin manager other"),
    "api/v1/resources/<slug>/": R(
        "admin reviewer manager other", change="admin manager", public=True
    ),
    "api/v1/connections/": R("admin reviewer manager other", change="admin manager other"),
    "api/v1/connections/<pk>/": R("admin reviewer manager", change="admin manager"),
    "api/v1/workflows/": R("admin reviewer manager other", change="admin manager other"),
    "api/v1/workflows/<slug>/": R("admin reviewer manager", change="admin manager"),
    "api/v1/runs/": R("admin reviewer manager other", change="admin manager other"),
    "api/v1/runs/<run_id>/": R("admin reviewer manager"),
    "api/v1/runs/<run_id>/cancel/": R("", change="admin manager"),
    "api/v1/runs/<run_id>/complete/": R("", change="admin manager"),
    "api/v1/tokens/": R("admin reviewer manager other", change="admin reviewer manager other"),
    "api/v1/tokens/<pk>/": R("manager"),
    "api/v1/tokens/<pk>/revoke/": R("", change="manager"),
    "api/v1/notices/": R("admin reviewer manager other"),
    "api/v1/notices/read-all/": R("", change="admin reviewer manager other"),
    "api/v1/notices/unread-count/": R("admin reviewer manager other"),
    "api/v1/notices/<pk>/": R("manager"),
    "api/v1/notices/<pk>/read/": R("", change="manager"),
    "api/v1/": R("admin reviewer manager other"),
    "api/v1/credentials/rotate": R(""),
    "api/v1/credentials/": R("admin reviewer manager other", change="admin reviewer manager other"),
    "api/v1/credentials/revoke-all/": R("", change="admin reviewer manager other"),
    "api/v1/credentials/<pk>/": R("admin reviewer manager"),
    "api/v1/credentials/<pk>/revoke/": R("", change="admin reviewer manager"),
    "api/v1/credentials/<pk>/rotate/": R("", change="admin manager"),
    "api/v1/approvals": R("admin reviewer manager other"),
    # The agent itself polls its own request with its access token (marked public: the agent
    # is team A's own, not an outsider here; another agent gets a 404).
    "api/v1/approvals/<uuid:pk>": R("admin reviewer manager agent", public=True),
    "api/v1/approvals/<uuid:pk>/approve": R("", change="admin reviewer manager"),
    "api/v1/approvals/<uuid:pk>/deny": R("", change="admin reviewer manager"),
    "api/v1/attestors/": R("admin reviewer", change="admin"),
    "api/v1/attestors/<name>/": R("admin reviewer", change="admin"),
    "api/v1/attestors/<name>/revoke/": R("", change="admin"),
    "api/v1/attestations/": R("admin reviewer manager other", change=ALL, public=True),
    "api/v1/attestations/<pk>/": R("admin reviewer manager"),
    "api/v1/audit/entries/": R("admin reviewer manager other"),
    "api/v1/audit/entries/export.<fmt>": R("admin reviewer manager other"),
    "api/v1/audit/summaries/": R("admin reviewer manager other"),
    "api/v1/audit/agents/<slug:slug>/timeline/": R("admin reviewer manager"),
    "api/v1/audit/checkpoints/": R(ALL, public=True),
    "api/v1/audit/checkpoints/latest": R(""),
    "api/schema/": R(ALL, public=True),
    "api/schema/ui/": R(ALL, public=True),
    "api/schema/redoc/": R(ALL, public=True),
    # Landed after the table was bootstrapped (reviews, observed configurations); their object
    # lines were reviewed on 2026-12-03 against real objects (isolation_newer.py): whoever sees
    # the agent sees its observed configurations, review items and the campaigns holding them
    # (docs/reviews.md, governance/reviews/permissions.py); reviewers and admins decide.
    "admin/agents/observedconfiguration/": R(
        "admin reviewer manager other", change="admin reviewer manager other"
    ),
    "admin/agents/observedconfiguration/add/": R(""),
    "admin/agents/observedconfiguration/<path:object_id>/history/": R(
        "admin reviewer manager", change="admin reviewer manager"
    ),
    "admin/agents/observedconfiguration/<path:object_id>/delete/": R(""),
    "admin/agents/observedconfiguration/<path:object_id>/change/": R("admin reviewer manager"),
    "admin/agents/observedconfiguration/<path:object_id>/": R(""),  # a redirect to the change page
    # The review form: reviewers and admins outside the team (the owners see it: 403 on POST).
    "portal/agents/<slug:slug>/configurations/<int:configuration_id>/": R(
        "admin reviewer manager", change="admin reviewer"
    ),
    "admin/reviews/reviewpolicy/": R("admin", change="admin"),
    # One row, made the first time anything reads the policy (here: opening the campaign).
    "admin/reviews/reviewpolicy/add/": R(""),
    "admin/reviews/reviewpolicy/<path:object_id>/history/": R("admin", change="admin"),
    "admin/reviews/reviewpolicy/<path:object_id>/delete/": R(""),
    "admin/reviews/reviewpolicy/<path:object_id>/change/": R("admin", change="admin"),
    "admin/reviews/reviewpolicy/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/reviews/campaign/": R("admin reviewer", change="admin reviewer"),
    "admin/reviews/campaign/add/": R(""),
    "admin/reviews/campaign/<path:object_id>/history/": R(
        "admin reviewer", change="admin reviewer"
    ),
    "admin/reviews/campaign/<path:object_id>/delete/": R(""),
    "admin/reviews/campaign/<path:object_id>/change/": R("admin reviewer"),
    "admin/reviews/campaign/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/reviews/reviewitem/": R(
        "admin reviewer manager other", change="admin reviewer manager other"
    ),
    "admin/reviews/reviewitem/add/": R(""),
    "admin/reviews/reviewitem/<path:object_id>/history/": R(
        "admin reviewer manager", change="admin reviewer manager"
    ),
    "admin/reviews/reviewitem/<path:object_id>/delete/": R(""),
    "admin/reviews/reviewitem/<path:object_id>/change/": R("admin reviewer manager"),
    "admin/reviews/reviewitem/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/reviews/agentusage/": R(
        "admin reviewer manager other", change="admin reviewer manager other"
    ),
    "admin/reviews/agentusage/add/": R(""),
    "admin/reviews/agentusage/<path:object_id>/history/": R(
        "admin reviewer manager", change="admin reviewer manager"
    ),
    "admin/reviews/agentusage/<path:object_id>/delete/": R(""),
    "admin/reviews/agentusage/<path:object_id>/change/": R(
        "admin reviewer manager", change="admin reviewer manager"
    ),
    "admin/reviews/agentusage/<path:object_id>/": R(""),  # a redirect to the change page
    "portal/reviews/": R("admin reviewer manager other", change="admin reviewer manager other"),
    "portal/reviews/new/": R("admin reviewer", change="admin reviewer"),
    "portal/reviews/campaigns/<int:pk>/": R("admin reviewer manager"),
    "portal/reviews/campaigns/<int:pk>/report/": R("admin reviewer manager"),
    "portal/reviews/campaigns/<int:pk>/report.csv": R("admin reviewer manager"),
    # An empty POST is a decision (reviewers, admins: 400) and refused to the owners (403);
    # they answer with intent=answer (tests/reviews/test_http.py).
    "portal/reviews/items/<int:pk>/": R("admin reviewer manager", change="admin reviewer"),
    "api/v1/observed-configurations/": R("admin reviewer manager other"),
    "api/v1/observed-configurations/<pk>/": R("admin reviewer manager"),
    "api/v1/observed-configurations/<pk>/review/": R("", change="admin reviewer"),
    "api/v1/reviews/campaigns": R("admin reviewer manager other", change="admin reviewer"),
    "api/v1/reviews/campaigns/<int:pk>": R("admin reviewer manager"),
    "api/v1/reviews/campaigns/<int:pk>/close": R("", change="admin reviewer"),
    "api/v1/reviews/campaigns/<int:pk>/report": R("admin reviewer manager"),
    "api/v1/reviews/items": R("admin reviewer manager other"),
    "api/v1/reviews/items/<int:pk>": R("admin reviewer manager"),
    "api/v1/reviews/items/<int:pk>/decide": R("", change="admin reviewer"),
    # The owning team answers its item (an admin manages every team).
    "api/v1/reviews/items/<int:pk>/answer": R("", change="admin manager"),
    "api/v1/reviews/items/<int:pk>/sign-off": R("", change="admin reviewer"),
    "api/v1/agents/<slug:slug>/evidence": R("admin reviewer manager"),
    # Landed later still (trust engine, grant requests, …): bootstrapped the same way, object
    # lines reviewed against real objects like those above. The trust admin is the reviewers'
    # tool (team members read their agents' trust in the API and the portal).
    "admin/trust/trustcomputation/": R("admin reviewer", change="admin reviewer"),
    "admin/trust/trustcomputation/add/": R(""),
    "admin/trust/trustcomputation/<path:object_id>/history/": R(
        "admin reviewer", change="admin reviewer"
    ),
    "admin/trust/trustcomputation/<path:object_id>/delete/": R(""),
    "admin/trust/trustcomputation/<path:object_id>/change/": R("admin reviewer"),
    "admin/trust/trustcomputation/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/trust/trustpin/": R("admin reviewer", change="admin reviewer"),
    "admin/trust/trustpin/add/": R(""),
    "admin/trust/trustpin/<path:object_id>/history/": R("admin reviewer", change="admin reviewer"),
    "admin/trust/trustpin/<path:object_id>/delete/": R(""),
    "admin/trust/trustpin/<path:object_id>/change/": R("admin reviewer"),
    "admin/trust/trustpin/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/trust/trustpolicy/": R("admin reviewer", change="admin reviewer"),
    "admin/trust/trustpolicy/add/": R("admin", change="admin"),
    "admin/trust/trustpolicy/<path:object_id>/history/": R(
        "admin reviewer", change="admin reviewer"
    ),
    "admin/trust/trustpolicy/<path:object_id>/delete/": R(""),
    "admin/trust/trustpolicy/<path:object_id>/change/": R("admin reviewer"),
    "admin/trust/trustpolicy/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/grants/grantrequest/": R(
        "admin reviewer manager other", change="admin reviewer manager other"
    ),
    "admin/grants/grantrequest/add/": R(""),
    "admin/grants/grantrequest/<path:object_id>/history/": R(
        "admin reviewer manager", change="admin reviewer manager"
    ),
    "admin/grants/grantrequest/<path:object_id>/delete/": R(""),
    "admin/grants/grantrequest/<path:object_id>/change/": R("admin reviewer manager"),
    "admin/grants/grantrequest/<path:object_id>/": R(""),  # a redirect to the change page
    "admin/grants/scopereview/": R(
        "admin reviewer manager other", change="admin reviewer manager other"
    ),
    "admin/grants/scopereview/add/": R(""),
    "admin/grants/scopereview/<path:object_id>/history/": R(
        "admin reviewer manager", change="admin reviewer manager"
    ),
    "admin/grants/scopereview/<path:object_id>/delete/": R(""),
    "admin/grants/scopereview/<path:object_id>/change/": R(
        "admin reviewer manager", change="admin reviewer"
    ),
    "admin/grants/scopereview/<path:object_id>/": R(""),  # a redirect to the change page
    "portal/grant-requests/": R(
        "admin reviewer manager other", change="admin reviewer manager other"
    ),
    # An empty form is shown again (200) to whoever sees the request; a decision posted by
    # someone who may not decide is refused by the service (tests/grants/test_governed_grants.py).
    "portal/grant-requests/<int:pk>/": R("admin reviewer manager", change="admin reviewer manager"),
    "portal/scope-reviews/": R(
        "admin reviewer manager other", change="admin reviewer manager other"
    ),
    "portal/scope-reviews/<int:pk>/": R("admin reviewer manager", change="admin reviewer manager"),
    "api/v1/trust/policy/": R("admin reviewer manager other"),
    "api/v1/trust/policy/versions/": R("admin reviewer manager other"),
    "api/v1/trust/agents/<slug:slug>/": R("admin reviewer manager"),
    "api/v1/trust/agents/<slug:slug>/history/": R("admin reviewer manager"),
    "api/v1/trust/agents/<slug:slug>/pin/": R("", change="admin reviewer"),
    "api/v1/grant-requests/": R("admin reviewer manager other", change="admin manager other"),
    "api/v1/grant-requests/<pk>/": R("admin reviewer manager"),
    "api/v1/grant-requests/<pk>/approve/": R("", change="admin reviewer"),
    "api/v1/grant-requests/<pk>/deny/": R("", change="admin reviewer"),
    "api/v1/scope-reviews/": R("admin reviewer manager other"),
    "api/v1/scope-reviews/<pk>/": R("admin reviewer manager"),
    "api/v1/scope-reviews/<pk>/approve/": R("", change="admin reviewer"),
    "api/v1/scope-reviews/<pk>/deny/": R("", change="admin reviewer"),
    # Resource owners' pages and connection consent (registry).
    "portal/resources/": R("admin reviewer manager other", change="admin reviewer manager other"),
    "portal/resources/<slug:resource>/": R("admin reviewer manager"),
    # Asked about team B's agent's connection to team A's resource, waiting for team A's
    # consent: its owners (and admins) consent; the agent's own team, which sees it, gets a 403.
    "api/v1/connections/<pk>/consent/": R("", change="admin manager"),
}
