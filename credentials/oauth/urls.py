"""OAuth 2.0 endpoints and their discovery documents (mounted at the site root)."""

from django.urls import path

from . import views

app_name = "oauth"

urlpatterns = [
    path(".well-known/oauth-authorization-server", views.metadata, name="metadata"),
    path(".well-known/jwks.json", views.jwks, name="jwks"),
    path("oauth/token", views.token, name="token"),
    path("oauth/introspect", views.introspect, name="introspect"),
    path("oauth/revoke", views.revoke, name="revoke"),
    path("oauth/ping", views.ping, name="ping"),
]
