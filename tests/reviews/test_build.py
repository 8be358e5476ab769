"""The lines' bulk insert: COPY on PostgreSQL writes exactly what the ORM's bulk_create does."""

from __future__ import annotations

import pytest
from django.db import connection

from governance.reviews.build import insert_lines
from governance.reviews.models import ReviewLine
from governance.reviews.services import review_campaign_open

pytestmark = pytest.mark.django_db


def _rows(item_id: int) -> list[tuple]:
    fields = [f.attname for f in ReviewLine._meta.concrete_fields if f.attname not in ("id",)]
    fields.remove("item_id")
    return list(
        ReviewLine.objects.filter(item_id=item_id).order_by("kind", "label").values_list(*fields)
    )


@pytest.mark.postgres
def test_copy_writes_the_rows_bulk_create_writes(org):
    assert connection.vendor == "postgresql"
    campaign = review_campaign_open(by="system")  # lines inserted by COPY
    item = campaign.items.get()
    copied = _rows(item.pk)
    assert len(copied) == 5
    originals = list(ReviewLine.objects.filter(item=item))
    ReviewLine.objects.filter(item=item).delete()
    for line in originals:
        line.pk = None
    ReviewLine.objects.bulk_create(originals)  # the ORM as the oracle
    assert _rows(item.pk) == copied
    ReviewLine.objects.filter(item=item).delete()
    for line in originals:
        line.pk = None
    insert_lines(originals)
    assert _rows(item.pk) == copied
    # JSON, dates and NULLs went through as values, not as text.
    conn = ReviewLine.objects.get(item=item, kind="connection")
    assert conn.actions == ["export", "read", "write"] and conn.recommended_actions == ["read"]
    assert ReviewLine.objects.get(item=item, label="ledger:write").last_used_at is None
