"""``manage.py trust attestors``, the admin pages, and the recompute queued on commit."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from joserfc.jwk import ECKey

from agents.events import RECOMPUTE_TASK
from audit.models import AuditEntry
from trust.attestations.models import Attestor
from trust.attestations.services import attestation_submit

pytestmark = pytest.mark.django_db


def _trust(*args) -> str:
    out = StringIO()
    call_command("trust", *args, stdout=out)
    return out.getvalue()


def test_cli_add_list_revoke(org, tmp_path):
    jwk = tmp_path / "key.json"
    jwk.write_text(json.dumps(ECKey.generate_key("P-256").as_dict(private=False)))
    added = json.loads(
        _trust(
            "attestors",
            "add",
            "scan-co",
            "--jwk",
            str(jwk),
            "--claim-types",
            "config_scan",
            "--cap",
            "12",
            "--by",
            "root",
            "--json",
        )
    )
    assert (added["algorithm"], added["cap"], added["claim_types"]) == (
        "ES256",
        12,
        ["config_scan"],
    )
    assert "scan-co\tactive\tES256\tcap 12" in _trust("attestors", "list")
    _trust("attestors", "revoke", "scan-co", "--reason", "contract ended")
    assert Attestor.objects.get(name="scan-co").status == "revoked"
    assert AuditEntry.objects.filter(action="attestor.revoke", actor="system").exists()


def test_cli_refusals_change_nothing(org, tmp_path):
    private = tmp_path / "private.json"
    private.write_text(json.dumps(ECKey.generate_key("P-256").as_dict(private=True)))
    with pytest.raises(CommandError, match="public_jwk"):
        _trust(
            "attestors",
            "add",
            "x",
            "--jwk",
            str(private),
            "--claim-types",
            "config_scan",
            "--cap",
            "5",
        )
    with pytest.raises(CommandError, match="platform admins"):
        public = tmp_path / "public.json"
        public.write_text(json.dumps(ECKey.generate_key("P-256").as_dict(private=False)))
        _trust(
            "attestors",
            "add",
            "x",
            "--jwk",
            str(public),
            "--claim-types",
            "config_scan",
            "--cap",
            "5",
            "--by",
            "alice",
        )
    with pytest.raises(CommandError, match="no attestor"):
        _trust("attestors", "revoke", "nobody", "--reason", "r")
    assert not Attestor.objects.filter(name="x").exists()


def test_accepting_queues_a_recompute_by_task_name(org, ed, django_capture_on_commit_callbacks):
    from celery import current_app

    sent = []
    original = current_app.send_task
    current_app.send_task = lambda name, args=None, **kw: sent.append((name, args))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            attestation_submit(jws=ed.sign(org["agent"]))
    finally:
        current_app.send_task = original
    assert sent == [(RECOMPUTE_TASK, [org["agent"].pk])]


@pytest.mark.parametrize(("user", "status"), [("root", 200), ("rita", 200), ("alice", 403)])
def test_admin_pages(org, ed, user, status):
    client = Client()
    client.force_login(org[user])
    attestation_submit(jws=ed.sign(org["agent"]))
    assert client.get("/admin/trust/attestor/").status_code == status
    assert client.get("/admin/trust/attestation/").status_code == status
    pk = Attestor.objects.get(name=ed.name).pk
    assert client.get(f"/admin/trust/attestor/{pk}/change/").status_code == status
    add = client.get("/admin/trust/attestor/add/").status_code
    assert add == (200 if user == "root" else 403)


def test_admin_change_needs_a_reason_and_revokes(org, ed):
    client = Client()
    client.force_login(org["root"])
    attestor = Attestor.objects.get(name=ed.name)
    url = f"/admin/trust/attestor/{attestor.pk}/change/"
    form = {"display_name": "Acme", "claim_types": ["security_audit"], "cap": "7", "reason": ""}
    assert client.post(url, form).status_code == 200  # the form again, with the error
    assert Attestor.objects.get(pk=attestor.pk).cap == 20
    response = client.post(url, {**form, "reason": "retired", "revoke": "on"})
    assert response.status_code == 302
    attestor.refresh_from_db()
    assert (attestor.cap, attestor.status) == (7, "revoked")


def test_admin_registers_an_attestor_and_refuses_a_private_key(org):
    client = Client()
    client.force_login(org["root"])
    key = ECKey.generate_key("P-256")
    form = {
        "name": "scan-co",
        "display_name": "Scan Co",
        "claim_types": ["config_scan"],
        "cap": "9",
    }
    private = client.post(
        "/admin/trust/attestor/add/", {**form, "public_jwk": json.dumps(key.as_dict(private=True))}
    )
    assert private.status_code == 200 and not Attestor.objects.filter(name="scan-co").exists()
    assert "private key" in private.content.decode()
    response = client.post(
        "/admin/trust/attestor/add/", {**form, "public_jwk": json.dumps(key.as_dict(private=False))}
    )
    assert response.status_code == 302
    attestor = Attestor.objects.get(name="scan-co")
    assert (attestor.algorithm, attestor.cap, attestor.created_by) == ("ES256", 9, org["root"])
    assert AuditEntry.objects.filter(action="attestor.register", actor="user:root").exists()
    revoked = client.get(f"/admin/trust/attestor/{attestor.pk}/change/")
    assert revoked.status_code == 200
