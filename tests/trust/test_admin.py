"""The trust admin: policy versions added through the service, history and breakdown shown."""

from __future__ import annotations

import pytest

from tests import factories as f
from trust.models import TrustPolicy
from trust.policy import EDITABLE, current_policy, values_of
from trust.recompute import recompute_agents

from .conftest import sound_agent

pytestmark = pytest.mark.django_db


def _form(**changes) -> dict:
    data = {k: v for k, v in values_of(current_policy()).items() if v is not False}
    data.update(changes)
    return {k: v for k, v in data.items() if k in EDITABLE or k == "reason"}


def test_admin_adds_a_policy_version_and_shows_field_errors(client):
    url = "/admin/trust/trustpolicy/add/"
    client.force_login(f.security_reviewer())
    assert client.get(url).status_code == 403
    client.force_login(f.platform_admin(username="root"))
    bad = client.post(url, _form(weight_identity=90, reason="more identity"))
    assert bad.status_code == 200
    assert "must sum to 100" in bad.content.decode()
    assert not TrustPolicy.objects.exists()
    ok = client.post(url, _form(trusted_min=80, reason="stricter"))
    assert ok.status_code == 302, ok.content.decode()[:2000]
    policy = TrustPolicy.objects.get()
    assert (policy.version, policy.trusted_min, policy.created_by) == (1, 80, "user:root")
    change = client.get(f"/admin/trust/trustpolicy/{policy.pk}/change/")
    assert change.status_code == 200


def test_admin_trust_page_shows_breakdown_and_history(client):
    agent = sound_agent()
    recompute_agents([agent.pk])
    client.force_login(f.security_reviewer())
    page = client.get(f"/admin/trust/agenttrust/{agent.pk}/change/").content.decode()
    assert "register a key credential: +4" in page
    history = client.get("/admin/trust/trustcomputation/").content.decode()
    assert agent.slug in history
