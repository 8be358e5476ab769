"""Attestors (who may vouch, with which key, for what, up to how much) and their statements."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from agents.models import Agent, slug_validator


class ClaimType(models.TextChoices):
    """What an attestor may say about an agent."""

    SECURITY_AUDIT = "security_audit", "Security audit"
    CERTIFICATION = "certification", "Certification"
    CONFIG_SCAN = "config_scan", "Configuration scan"


class Result(models.TextChoices):
    PASS = "pass", "Pass"
    FAIL = "fail", "Fail"


# The JWS algorithm each accepted key type pins (never read from a submission's header).
KEY_ALGORITHMS = (("ES256", "ES256 (P-256)"), ("EdDSA", "EdDSA (Ed25519)"))

CAP_MAX = 100


class Attestor(models.Model):
    """A party whose signed statements about agents count towards their trust score.

    ``name`` is the ``iss`` of its statements and ``kid`` (the key's RFC 7638 thumbprint unless
    given) may name its key in their header. ``cap`` bounds what all of its statements about
    one agent may add to that agent's attestations component.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        REVOKED = "revoked", "Revoked"

    name = models.CharField(max_length=64, unique=True, validators=[slug_validator])
    display_name = models.CharField(max_length=200)
    public_jwk = models.JSONField(help_text="Public JWK: P-256 (ES256) or Ed25519 (EdDSA).")
    algorithm = models.CharField(max_length=8, choices=KEY_ALGORITHMS, editable=False)
    kid = models.CharField(max_length=128, unique=True)
    jwk_thumbprint = models.CharField(max_length=64, editable=False)
    claim_types = models.JSONField(default=list, help_text="The claim types it may make.")
    cap = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(CAP_MAX)],
        help_text="Most points its statements may add to one agent's attestations component.",
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def principal(self) -> str:
        return f"attestor:{self.name}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Attestation(models.Model):
    """An accepted statement, with its compact JWS kept verbatim so anyone can re-verify it."""

    attestor = models.ForeignKey(Attestor, on_delete=models.PROTECT, related_name="attestations")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="attestations")
    claim_type = models.CharField(max_length=32, choices=ClaimType.choices)
    result = models.CharField(max_length=4, choices=Result.choices)
    jti = models.CharField(max_length=200)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    config_digest = models.CharField(
        max_length=71,
        blank=True,
        validators=[RegexValidator(r"^sha256:[0-9a-f]{64}$", "Use sha256:<64 hex digits>.")],
    )
    jws = models.TextField(help_text="The compact JWS as submitted.")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            # The replay guard's backstop: the service looks first (two racing requests meet here).
            models.UniqueConstraint(fields=["attestor", "jti"], name="attestation_unique_jti"),
        ]
        indexes = [models.Index(fields=["agent", "expires_at"], name="attestation_agent_exp")]

    def __str__(self) -> str:
        return f"{self.attestor.name}: {self.claim_type} {self.result} for {self.agent.slug}"
