"""Grant request routes, mounted at ``/api/v1/``."""

from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("grant-requests", views.GrantRequestViewSet, basename="grant-request")
router.register("scope-reviews", views.ScopeReviewViewSet, basename="scope-review")

urlpatterns = router.urls
