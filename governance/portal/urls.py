"""The portal shell: sign-in, the dashboard and the agents pages."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="portal/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.dashboard, name="dashboard"),
    path("agents/", views.agent_list, name="agent-list"),
    path("agents/<slug:slug>/", views.agent_detail, name="agent-detail"),
    path("agents/<slug:slug>/<str:action>/", views.agent_lifecycle, name="agent-lifecycle"),
]
