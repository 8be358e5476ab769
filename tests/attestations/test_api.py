"""The attestations API: reads scoped by team, attestors for platform admins, the schema."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec as crypto_ec
from joserfc.jwk import ECKey, OKPKey
from rest_framework.test import APIClient

from audit.models import AuditEntry
from trust.attestations.models import Attestor
from trust.attestations.services import attestation_submit

from .signers import CLAIMS

pytestmark = pytest.mark.django_db

ROLES = ["anon", "norole", "other", "own", "reviewer", "admin"]
USERS = {"norole": "norole", "other": "bob", "own": "alice", "reviewer": "rita", "admin": "root"}


@pytest.fixture
def api(org):
    def make(role: str) -> APIClient:
        client = APIClient()
        if role != "anon":
            client.force_login(org[USERS[role]])
        return client

    return make


@pytest.fixture
def stored(org, ed):
    return attestation_submit(jws=ed.sign(org["agent"]))


READ = {"anon": 401, "norole": 403, "other": 404, "own": 200, "reviewer": 200, "admin": 200}


@pytest.mark.parametrize("role", ROLES)
def test_detail_matrix(api, stored, role):
    response = api(role).get(f"/api/v1/attestations/{stored.pk}/")
    assert response.status_code == READ[role]
    if READ[role] == 200:
        assert response.json()["jws"] == stored.jws
        assert response.json()["in_force"] is True


@pytest.mark.parametrize("role", ROLES)
def test_list_matrix(api, stored, role):
    response = api(role).get("/api/v1/attestations/")
    if role in ("anon", "norole"):
        assert response.status_code == {"anon": 401, "norole": 403}[role]
        return
    ids = [row["id"] for row in response.json()["results"]]
    assert (stored.pk in ids) == (role != "other")


def test_list_filters(api, stored):
    assert api("own").get("/api/v1/attestations/?agent=red-bot").json()["count"] == 1
    assert api("own").get("/api/v1/attestations/?result=fail").json()["count"] == 0
    assert api("own").get("/api/v1/attestations/not-a-number/").status_code == 404


ATTESTOR_READ = {
    "anon": 401,
    "norole": 403,
    "other": 403,
    "own": 403,
    "reviewer": 200,
    "admin": 200,
}


@pytest.mark.parametrize("role", ROLES)
def test_attestors_read_matrix(api, ed, role):
    assert api(role).get("/api/v1/attestors/").status_code == ATTESTOR_READ[role]
    assert api(role).get(f"/api/v1/attestors/{ed.name}/").status_code == ATTESTOR_READ[role]


def _new_attestor(**overrides):
    return {
        "name": "new-auditor",
        "public_jwk": OKPKey.generate_key("Ed25519").as_dict(private=False),
        "claim_types": CLAIMS,
        "cap": 10,
        **overrides,
    }


@pytest.mark.parametrize("role", ["other", "own", "reviewer"])
def test_only_platform_admins_change_attestors(api, ed, role):
    client = api(role)
    assert client.post("/api/v1/attestors/", _new_attestor(), format="json").status_code == 403
    assert client.post(f"/api/v1/attestors/{ed.name}/revoke/", {"reason": "x"}).status_code == 403
    assert (
        client.patch(f"/api/v1/attestors/{ed.name}/", {"cap": 1, "reason": "x"}).status_code == 403
    )
    assert Attestor.objects.get(name=ed.name).cap == 20


def test_admin_registers_changes_and_revokes(
    api, org, stored, ed, django_capture_on_commit_callbacks
):
    client = api("admin")
    response = client.post("/api/v1/attestors/", _new_attestor(), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["algorithm"] == "EdDSA"
    assert response.json()["kid"] == response.json()["jwk_thumbprint"]
    with django_capture_on_commit_callbacks() as queued:
        response = client.patch(
            f"/api/v1/attestors/{ed.name}/", {"cap": 5, "reason": "less weight"}, format="json"
        )
    assert response.json()["cap"] == 5
    assert len(queued) == 1  # the attested agent is recomputed
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(
            f"/api/v1/attestors/{ed.name}/revoke/", {"reason": "compromised"}, format="json"
        )
    assert response.json()["status"] == "revoked"
    assert len(queued) == 1
    second = client.post(f"/api/v1/attestors/{ed.name}/revoke/", {"reason": "again"}, format="json")
    assert second.status_code == 400
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"attestor.register", "attestor.change", "attestor.revoke"} <= actions
    assert client.delete(f"/api/v1/attestors/{ed.name}/").status_code == 405


def _p384() -> dict:
    return ECKey.import_key(crypto_ec.generate_private_key(crypto_ec.SECP384R1())).as_dict(
        private=False
    )


@pytest.mark.parametrize(
    ("jwk", "field"),
    [
        (OKPKey.generate_key("Ed25519").as_dict(private=True), "public_jwk"),  # private part
        (ECKey.generate_key("P-256").as_dict(private=True), "public_jwk"),
        (_p384(), "public_jwk"),  # wrong curve
        ({"kty": "oct", "k": "c2VjcmV0"}, "public_jwk"),
        ({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}, "public_jwk"),  # not on the curve
        ("not a jwk", "public_jwk"),
    ],
)
def test_bad_keys_are_field_errors(api, jwk, field):
    response = api("admin").post("/api/v1/attestors/", _new_attestor(public_jwk=jwk), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Attestor.objects.filter(name="new-auditor").exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"cap": 0}, "cap"),
        ({"cap": 101}, "cap"),
        ({"claim_types": []}, "claim_types"),
        ({"claim_types": ["vibes"]}, "claim_types"),
        ({"name": "Not A Slug"}, "name"),
        ({"name": "has:colon"}, "name"),
    ],
)
def test_bad_attestor_fields(api, change, field):
    response = api("admin").post("/api/v1/attestors/", _new_attestor(**change), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_same_key_twice_is_refused(api, ed):
    response = api("admin").post(
        "/api/v1/attestors/", _new_attestor(public_jwk=ed.public_jwk), format="json"
    )
    assert response.status_code == 400
    assert "public_jwk" in response.json() or "kid" in response.json()


def test_schema_documents_the_unauthenticated_submission():
    schema = APIClient().get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    post = schema.json()["paths"]["/api/v1/attestations/"]["post"]
    assert post.get("security", []) in ([], [{}])  # no session, no token: the signature
    assert "application/jose" in post["requestBody"]["content"]
    assert {"201", "400", "429"} <= set(post["responses"])
    assert "/api/v1/attestors/{name}/revoke/" in schema.json()["paths"]
