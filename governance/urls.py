"""The URL map: OAuth endpoints, the management API, the schema, the admin and the portal."""

from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

# The admin is branded as the product, and its "view site" link leads to the portal. The sidebar
# repeats the index and cost a third of the width of every list at 1280 px.
admin.site.site_header = "Agent governance"
admin.site.site_title = "Agent governance admin"
admin.site.index_title = "Registry, credentials, approvals and policy"
admin.site.site_url = "/portal/"
admin.site.enable_nav_sidebar = False

api_v1 = [
    # First: the decision point is the hot machine-to-machine endpoint, and Django tries the
    # patterns in order (matching the router patterns below first was a measurable share of a
    # decision: docs/decisions.md).
    path("", include("governance.decisions.urls")),
    path("", include("agents.api.urls")),
    path("", include("credentials.api.urls")),
    path("", include("trust.api.urls")),
    path("", include("governance.approvals.api.urls")),
    path("", include("governance.grants.api.urls")),
    path("", include("trust.attestations.api.urls")),
    path("", include("governance.reviews.api.urls")),
    path("audit/", include("governance.auditlog.api_urls")),
]

urlpatterns = [
    # First: the machine API (the decision point above all); Django tries these in order, and
    # every prefix tried before it is work on each decision (docs/decisions.md). The prefixes do
    # not overlap, so the order changes nothing else.
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
    path("admin/", admin.site.urls),
    path("", include("credentials.oauth.urls", namespace="oauth")),
    path("portal/approvals/", include("governance.approvals.urls")),
    path("portal/reviews/", include("governance.reviews.urls")),
    path("portal/grant-requests/", include("governance.grants.urls")),
    path("portal/scope-reviews/", include("governance.grants.review_urls")),
    path("portal/audit/", include("governance.auditlog.urls", namespace="audit")),
    path("portal/", include("governance.portal.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/schema/ui/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="schema-ui"
    ),
    # Redoc's bundle injects its styles as <style> elements (styled-components): this page alone
    # allows inline styles. Scripts stay 'self' only (settings.CONTENT_SECURITY_POLICY).
    path(
        "api/schema/redoc/",
        csp_update({"style-src": ["'unsafe-inline'"]})(
            SpectacularRedocView.as_view(url_name="schema")
        ),
        name="schema-redoc",
    ),
]

handler404 = "governance.errors.page_not_found"
