"""Credentials of agents and resource servers, platform signing keys, and token bookkeeping."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .querysets import CredentialQuerySet


class Credential(models.Model):
    """A client secret (stored as an HMAC) or a public key of one agent or one resource server."""

    class Kind(models.TextChoices):
        CLIENT_SECRET = "client_secret", "Client secret"
        PUBLIC_KEY = "public_key", "Public key (private_key_jwt)"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ROTATING = "rotating", "Rotating (predecessor in its overlap window)"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"
        # A reversible hold (an access review's quarantine): refused like a revoked one until
        # restored. Every usability check lists the usable statuses, so it fails closed.
        SUSPENDED = "suspended", "Suspended"

    USABLE = (Status.ACTIVE, Status.ROTATING)

    # The public credential id, embedded in the client secret so the row is found in O(1).
    id = models.CharField(primary_key=True, max_length=32, editable=False)
    agent = models.ForeignKey(
        "agents.Agent", null=True, blank=True, on_delete=models.CASCADE, related_name="credentials"
    )
    resource = models.ForeignKey(
        "agents.Resource",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="credentials",
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    label = models.CharField(max_length=200, blank=True)
    # HMAC-SHA-256(pepper, id + secret), hex. Never the secret itself.
    secret_hmac = models.CharField(max_length=64, blank=True, editable=False)
    public_jwk = models.JSONField(default=dict, blank=True)
    jwk_thumbprint = models.CharField(max_length=64, blank=True, db_index=True)
    algorithm = models.CharField(max_length=8, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.TextField(blank=True)
    not_before = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    predecessor = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="successors"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_principal = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = CredentialQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(agent__isnull=False) & Q(resource__isnull=True))
                | (Q(agent__isnull=True) & Q(resource__isnull=False)),
                name="credential_one_principal",
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.id} ({self.get_kind_display()} of {self.principal})"

    @property
    def principal(self) -> str:
        if self.agent_id:
            return f"agent:{self.agent.slug}"
        return f"resource:{self.resource.slug}"

    @property
    def client_id(self) -> str:
        return self.agent.slug if self.agent_id else self.resource.slug

    def is_usable(self, at=None) -> bool:
        at = at or timezone.now()
        return (
            self.status in self.USABLE
            and self.not_before <= at
            and (self.expires_at is None or self.expires_at > at)
        )


class SigningKey(models.Model):
    """A platform key that signs access tokens; the algorithm is pinned to the key."""

    class Algorithm(models.TextChoices):
        ES256 = "ES256", "ES256 (P-256)"
        EDDSA = "EdDSA", "EdDSA (Ed25519)"

    class Status(models.TextChoices):
        NEXT = "next", "Next (published, not yet signing)"
        CURRENT = "current", "Current (signing)"
        RETIRED = "retired", "Retired (published until its last token expires)"
        EXPIRED = "expired", "Expired (no longer published)"

    kid = models.CharField(primary_key=True, max_length=64)
    algorithm = models.CharField(max_length=8, choices=Algorithm.choices)
    # The PKCS#8 private key, wrapped with MultiFernet (SIGNING_KEY_ENCRYPTION_KEYS).
    private_key_encrypted = models.TextField(editable=False)
    public_jwk = models.JSONField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.NEXT)
    created_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    # A retired key stays in the JWKS until this moment (its last token's expiry).
    publish_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="current"), name="signingkey_one_current"
            ),
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="next"), name="signingkey_one_next"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kid} ({self.algorithm}, {self.status})"


class RevokedToken(models.Model):
    """An access token revoked before its expiry; its exchanged descendants die with it."""

    jti = models.CharField(primary_key=True, max_length=100)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(default=timezone.now)
    revoked_by = models.CharField(max_length=200)
    reason = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return self.jti


class AssertionJti(models.Model):
    """A ``private_key_jwt`` assertion already used (RFC 7523 replay protection)."""

    client_id = models.CharField(max_length=64)
    jti = models.CharField(max_length=200)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client_id", "jti"], name="assertionjti_unique")
        ]

    def __str__(self) -> str:
        return f"{self.client_id}/{self.jti}"
