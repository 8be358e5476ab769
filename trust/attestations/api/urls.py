"""The attestations API's routes (one router), mounted at ``/api/v1/``."""

from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("attestors", views.AttestorViewSet, basename="attestor")
router.register("attestations", views.AttestationViewSet, basename="attestation")

urlpatterns = router.urls
