"""DRF and drf-spectacular settings: plain data, imported by ``governance/settings.py``.

Kept apart because they are long and read nothing from the environment.
"""

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "agents.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "governance.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "rest_framework.views.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Agent governance portal API",
    "DESCRIPTION": "Management API, decision point and OAuth 2.0 endpoints for AI agents.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The OAuth endpoints, the decision point and self-rotation are plain Django views: their
    # operations are added by governance/api_schema.py.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "governance.api_schema.add_plain_views",
    ],
    # One name per choice set, so the schema (and check --deploy) has no enum collisions.
    "ENUM_NAME_OVERRIDES": {
        "AgentStatusEnum": "agents.models.Agent.Status",
        "GrantStatusEnum": "agents.models.ScopeGrant.Status",
        "GrantRequestStatusEnum": "governance.grants.models.GrantRequest.Status",
        "RunStatusEnum": "agents.models.WorkflowRun.Status",
        "TrustLevelEnum": "agents.models.TrustLevel",
        "SensitivityEnum": "agents.models.Sensitivity",
        "CredentialStatusEnum": "credentials.models.Credential.Status",
        "CredentialKindEnum": "credentials.models.Credential.Kind",
        "ApprovalStatusEnum": "governance.approvals.models.ApprovalRequest.Status",
        "ClaimTypeEnum": "trust.attestations.models.ClaimType",
        "AttestationResultEnum": "trust.attestations.models.Result",
        "AttestorStatusEnum": "trust.attestations.models.Attestor.Status",
        "AttestorAlgorithmEnum": "trust.attestations.models.KEY_ALGORITHMS",
        "ReviewDecisionEnum": "governance.reviews.models.Decision",
        "CampaignStateEnum": "governance.reviews.models.Campaign.State",
        "ReviewItemStateEnum": "governance.reviews.models.ReviewItem.State",
    },
}
