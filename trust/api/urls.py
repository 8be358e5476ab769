"""The trust API's routes, mounted at ``/api/v1/``."""

from django.urls import path

from . import views

urlpatterns = [
    path("trust/policy/", views.TrustPolicyView.as_view(), name="trust-policy"),
    path(
        "trust/policy/versions/", views.TrustPolicyVersions.as_view(), name="trust-policy-versions"
    ),
    path("trust/agents/<slug:slug>/", views.AgentTrustView.as_view(), name="agent-trust"),
    path(
        "trust/agents/<slug:slug>/history/",
        views.AgentTrustHistory.as_view(),
        name="agent-trust-history",
    ),
    path("trust/agents/<slug:slug>/pin/", views.AgentTrustPin.as_view(), name="agent-trust-pin"),
]
