"""The real wiring: checkpoints signed by the platform signing key, verified with its JWKS."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from audit import chain
from audit.models import AuditCheckpoint
from audit.services import record
from audit.verification import verify_database
from audit.verifier import verify_export
from governance.auditlog.keys import public_jwks
from governance.auditlog.tasks import checkpoint

pytestmark = pytest.mark.django_db


def test_checkpoint_task_signs_with_the_platform_key_and_both_verifiers_accept(tmp_path):
    for i in range(4):
        record(actor="agent:bot", action="decision.allow", resource="ledger", changes={"i": i})
    chain.sequence_pending()

    seq = checkpoint.apply().get()
    assert seq is not None
    assert checkpoint.apply().get() is None  # head unchanged: nothing new to sign
    cp = AuditCheckpoint.objects.get()
    assert cp.key_id in {k["kid"] for k in public_jwks()["keys"]}

    out = io.StringIO()
    call_command("audit", "verify", stdout=out)  # default JWKS: the platform's own keys
    assert f"OK: {seq} entries" in out.getvalue()

    export, jwks = tmp_path / "export.jsonl", tmp_path / "jwks.json"
    call_command("audit", "export", "-o", str(export))
    jwks_out = io.StringIO()
    call_command("credentials", "jwks", "--all", stdout=jwks_out)
    jwks.write_text(jwks_out.getvalue())
    report = verify_export(str(export), json.loads(jwks.read_text()))
    assert report.ok and report.checkpoints == 1, report.lines()
    assert verify_database(jwks=public_jwks()).ok
