"""The verifier's fast paths give exactly what the plain ones give (encoding, streamed rows)."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from audit import chain, verifier
from audit.services import record
from audit.verifier import CANONICAL_VERSION, GENESIS, entry_hash

SPEC_ENCODE = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
).encode

SAMPLES = [
    (CANONICAL_VERSION, 1, "2025-11-29T00:00:00.000001Z", "agent:x", "", [], "a", "success"),
    ("é", "\u2028\u2029", '"\\/\b\f\n\r\t', "\x00\x1f\x7f", "😀 𝄞", "日本語"),
    ({"b": 1, "a": 2, "B": 3, "é": 4, "aa": 5, "": 6}, [{"z": {"y": {"x": []}}}]),
    (0.1, -0.0, 1e300, 1.5e-7, 10**30, -(2**63), True, False, None),
    ({"nested": {"list": [1, "two", 3.0, None, {"k": "v"}]}, "changes": {"a": {"before": 1}}},),
]


@pytest.mark.parametrize("value", SAMPLES)
def test_canonical_encoder_is_byte_identical_to_the_spec(value):
    assert verifier._encode is not SPEC_ENCODE  # the fast encoder is in use on CPython
    assert verifier._encode(value) == SPEC_ENCODE(value)


def test_canonical_encoder_refuses_what_the_spec_refuses():
    for bad in [(float("nan"),), (float("inf"),), ({"a": float("-inf")},)]:
        with pytest.raises(ValueError):
            verifier._encode(bad)
    with pytest.raises(TypeError):
        verifier._encode((object(),))


@pytest.mark.django_db
def test_streamed_links_match_the_rows_across_chunk_boundaries():
    for i in range(11):
        record(actor="agent:bot", action="t.stream", reason=f"r{i}", changes={"i": i, "é": [i]})
    chain.sequence_pending()
    links = [link for link, _row in chain.iter_links(chunk=3)]  # 4 chunks, the last short
    assert [link.seq for link in links] == list(range(1, 12))
    prev = GENESIS
    for link in links:
        assert link.prev_hash == prev
        assert entry_hash(link.values, link.prev_hash) == link.hash
        prev = link.hash
    # Stopping early releases the prefetching reader and leaves the connection usable.
    stream = chain.iter_links(chunk=2)
    assert next(stream)[0].seq == 1
    stream.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM audit_auditentry")
        assert cursor.fetchone()[0] == 11


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_prefetch_reader_passes_database_errors_on():
    from django.db import DatabaseError

    def rows():
        with chain.read_transaction():
            cursor = connection.chunked_cursor()
            cursor.execute("SELECT 1 / (3 - g) FROM generate_series(1, 5) AS g")
            try:
                yield from chain._prefetched(cursor, 1)
            finally:
                cursor.close()

    with pytest.raises(DatabaseError):
        list(rows())
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


@pytest.mark.django_db
@pytest.mark.parametrize("source_ip", ["2001:DB8:0:0:0:0:0:1", "10.1.2.3", ""])
def test_record_returns_exactly_the_row_it_wrote(source_ip):
    from audit import context
    from audit.models import AuditEntry

    token = context.bind(context.RequestContext(request_id="req-fast", source_ip=source_ip))
    try:
        entry = record(
            actor="agent:bot",
            action="t.fast",
            resource="customer_records",
            target_id=42,
            actor_id=7,
            on_behalf_of=["user:alice"],
            credential_id=3,
            changes={"client_secret": "s3cret", "name": {"before": "a", "after": "é"}},
            context_data={"scope": "read"},
        )
    finally:
        context.reset(token)
    stored = AuditEntry.objects.get(pk=entry.pk)
    for f in AuditEntry._meta.concrete_fields:
        assert getattr(entry, f.attname) == getattr(stored, f.attname), f.name
    assert stored.source_ip == ({"": None, "10.1.2.3": "10.1.2.3"}.get(source_ip, "2001:db8::1"))
    assert stored.changes["client_secret"] == "[redacted]"
    assert stored.seq is None and stored.hash == ""
    with pytest.raises(Exception, match="append-only"):
        entry.save()


@pytest.mark.django_db
def test_record_many_writes_what_record_writes():
    from audit import context
    from audit.models import AuditEntry
    from audit.services import record_many

    entries = [
        ("system", "t.bulk", {"resource": f"agent:a{i}", "target_id": i, "reason": "r"})
        for i in range(3)
    ]
    entries.append(
        (
            "user:alice",
            "t.bulk",
            {
                "on_behalf_of": ["user:bob"],
                "credential_id": 3,
                "changes": {"client_secret": "s3cret", "level": ["untrusted", "pending"]},
                "context_data": {"breakdown": [{"code": "x", "points": 1.5, "sentence": "é"}]},
            },
        )
    )
    token = context.bind(context.RequestContext(request_id="req-bulk", source_ip="10.1.2.3"))
    try:
        assert record_many(iter(entries)) == len(entries)
        singles = [record(actor=a, action=b, **fields) for a, b, fields in entries]
    finally:
        context.reset(token)
    bulk = AuditEntry.objects.filter(action="t.bulk").order_by("id")[: len(entries)]
    skip = {"id", "created_at"}
    for many, one in zip(bulk, singles, strict=True):
        stored = AuditEntry.objects.get(pk=one.pk)
        for field in AuditEntry._meta.concrete_fields:
            if field.name not in skip:
                assert getattr(many, field.attname) == getattr(stored, field.attname), field.name
    assert bulk[3].changes["client_secret"] == "[redacted]"
    assert record_many([]) == 0
