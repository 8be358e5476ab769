"""The registry's API routes (one router), mounted at ``/api/v1/``."""

from rest_framework.routers import DefaultRouter

from ..drift.api import ObservedConfigurationViewSet
from ..notices.api import NoticeViewSet
from . import resource_views, views, workflow_views

router = DefaultRouter()
router.register("teams", views.TeamViewSet, basename="team")
router.register("agents", views.AgentViewSet, basename="agent")
router.register("agent-versions", views.AgentVersionViewSet, basename="agent-version")
router.register("scopes", views.ScopeViewSet, basename="scope")
router.register("grants", views.ScopeGrantViewSet, basename="grant")
router.register("resources", resource_views.ResourceViewSet, basename="resource")
router.register("connections", resource_views.ConnectionViewSet, basename="connection")
router.register("workflows", workflow_views.WorkflowViewSet, basename="workflow")
router.register("runs", workflow_views.WorkflowRunViewSet, basename="run")
router.register("tokens", workflow_views.ApiTokenViewSet, basename="api-token")
router.register("notices", NoticeViewSet, basename="notice")
router.register(
    "observed-configurations", ObservedConfigurationViewSet, basename="observed-configuration"
)

urlpatterns = router.urls
