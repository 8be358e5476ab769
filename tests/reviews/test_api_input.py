"""Bad input to the review API: field errors (400), never a 500, nothing changed."""

from __future__ import annotations

import pytest

from governance.reviews.models import Campaign, ReviewItem

from .conftest import client_for

pytestmark = pytest.mark.django_db
JSON = "application/json"


def test_bad_input_answers_field_errors(org):
    rita = client_for(org["rita"])
    for body, field in (
        ({"coverage": "everything"}, "coverage"),
        ({"coverage": "team", "team": "nope"}, "team"),
        ({"coverage": "team"}, "team"),
        ({"coverage": "sensitivity", "min_sensitivity": "extreme"}, "min_sensitivity"),
        ({"reviewers": ["alice"]}, "reviewers"),
        ({"due_at": "yesterday"}, "due_at"),
        ({"due_at": "2001-01-01T00:00:00Z"}, "due_at"),
    ):
        response = rita.post("/api/v1/reviews/campaigns", body, content_type=JSON)
        assert response.status_code == 400, (body, response.content)
        assert field in response.json(), (body, response.json())
    assert not Campaign.objects.exists()

    campaign = rita.post("/api/v1/reviews/campaigns", {}, content_type=JSON).json()["id"]
    item = ReviewItem.objects.get(campaign_id=campaign)
    line = item.lines.filter(kind="grant").first()
    url = f"/api/v1/reviews/items/{item.pk}/decide"
    for body, field in (
        ({}, "non_field_errors"),
        ({"lines": [{"line": line.pk, "decision": "maybe"}]}, "lines"),
        ({"lines": [{"line": 999999, "decision": "keep"}]}, "line"),
        ({"lines": [{"line": line.pk, "decision": "reduce"}]}, "decision"),
        ({"lines": [{"line": "x", "decision": "keep"}]}, "lines"),
        ({"lines": "keep"}, "lines"),
    ):
        response = rita.post(url, body, content_type=JSON)
        assert response.status_code == 400, (body, response.content)
        assert field in response.json(), (body, response.json())
    assert not item.lines.exclude(decision="").exists()
    assert (
        rita.post(f"/api/v1/reviews/items/{item.pk}/answer", {}, content_type=JSON).status_code
        == 403
    )
    for query in ("state=bogus", "campaign=abc"):
        assert rita.get(f"/api/v1/reviews/items?{query}").status_code == 400
    assert rita.get("/api/v1/reviews/campaigns?state=bogus").status_code == 400
    assert rita.get("/api/v1/reviews/items/999999").status_code == 404
    assert (
        client_for(org["bob"]).post("/api/v1/reviews/campaigns", {}, content_type=JSON).status_code
        == 403
    )
