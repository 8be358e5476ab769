"""The portal: sign-in, the dashboard, and the agents pages with the owners' forms."""

from django.contrib.auth import views as auth_views
from django.urls import path

from .views import access, agents, credentials, drift, lifecycle, notices, resources

app_name = "portal"

AGENT = "agents/<slug:slug>/"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="portal/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("resources/", resources.resource_list, name="resource-list"),
    path("resources/<slug:resource>/", resources.resource_detail, name="resource-detail"),
    path("", agents.dashboard, name="dashboard"),
    path("agents/", agents.agent_list, name="agent-list"),
    path("configurations/", drift.configuration_queue, name="configurations"),
    path("notices/", notices.inbox, name="notices"),
    path("notices/read-all/", notices.mark_all_read, name="notices-read-all"),
    path("notices/<int:notice_id>/read/", notices.mark_read, name="notice-read"),
    # Outside agents/<slug>/, so that no slug (not even "new") is shadowed.
    path("new-agent/", agents.agent_register, name="agent-register"),
    path(AGENT, agents.agent_detail, name="agent-detail"),
    path(f"{AGENT}versions/new/", agents.version_add, name="version-add"),
    path(f"{AGENT}grants/new/", access.grant_request, name="grant-request"),
    path(f"{AGENT}grants/<int:grant_id>/revoke/", access.grant_revoke, name="grant-revoke"),
    path(f"{AGENT}connections/new/", access.connection_add, name="connection-add"),
    path(
        f"{AGENT}connections/<int:connection_id>/",
        access.connection_edit,
        name="connection-edit",
    ),
    path(
        f"{AGENT}connections/<int:connection_id>/remove/",
        access.connection_remove,
        name="connection-remove",
    ),
    path(f"{AGENT}credentials/new/", credentials.credential_issue, name="credential-issue"),
    path(
        f"{AGENT}credentials/<str:credential_id>/rotate/",
        credentials.credential_rotate,
        name="credential-rotate",
    ),
    path(
        f"{AGENT}credentials/<str:credential_id>/emergency/",
        credentials.credential_rotate,
        {"emergency": True},
        name="credential-emergency",
    ),
    path(
        f"{AGENT}credentials/<str:credential_id>/revoke/",
        credentials.credential_revoke,
        name="credential-revoke",
    ),
    path(
        f"{AGENT}configurations/<int:configuration_id>/",
        drift.configuration_detail,
        name="configuration",
    ),
    path(
        f"{AGENT}<str:action>/",
        lifecycle.agent_lifecycle,
        name="agent-lifecycle",
    ),
]
