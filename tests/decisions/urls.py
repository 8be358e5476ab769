"""Until the shared URL map mounts them: the project's URLs plus the decision point's."""

from django.urls import include, path

from governance.urls import urlpatterns as project

urlpatterns = [
    path("api/v1/", include("governance.decisions.urls")),
    path("api/v1/", include("governance.approvals.api.urls")),
    path("portal/approvals/", include("governance.approvals.urls")),
    *project,
]
