"""The credentials part of the management API, mounted at ``/api/v1/``."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("credentials", views.CredentialViewSet, basename="credential")

urlpatterns = [
    path("credentials/rotate", views.self_rotate, name="credential-self-rotate"),
    *router.urls,
]
