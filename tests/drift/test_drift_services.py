"""Drift recorded once, told once, reviewed by the right people only; the trust engine's read."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from agents.drift import selectors, services
from agents.drift.models import ObservedConfiguration
from agents.errors import InvalidTransition, RegistryError, ReviewForbidden
from agents.models import OrganisationPolicy
from agents.notices.models import Notice, NoticeKind
from audit.models import AuditEntry
from tests import factories as f

from .conftest import OTHER, REVIEWED, UNKNOWN

pytestmark = pytest.mark.django_db


def test_known_digests(org):
    bot = org["bot"]
    assert selectors.configuration_known(bot.pk, REVIEWED)
    assert not selectors.configuration_known(bot.pk, UNKNOWN)
    assert not selectors.configuration_known(bot.pk, OTHER)  # a version, but not reviewed
    assert not selectors.configuration_known(org["theirs"].pk, REVIEWED)  # another agent's


def test_first_sighting_is_audited_notified_and_queues_a_recompute(
    org, django_capture_on_commit_callbacks
):
    bot = org["bot"]
    with django_capture_on_commit_callbacks() as callbacks:
        row = services.configuration_observed(agent=bot, digest=UNKNOWN, via="form")
    # The notice's email and the trust recomputation, both on commit.
    assert len(callbacks) == 2
    entry = AuditEntry.objects.get(action="agent.config_drift")
    assert entry.actor == "agent:red-bot" and entry.target_id == str(row.pk)
    assert entry.changes == {"digest": UNKNOWN, "via": "form"}
    notice = Notice.objects.get(kind=NoticeKind.CONFIG_DRIFT)
    assert notice.team == org["red"] and notice.link == "/portal/agents/red-bot/"
    assert UNKNOWN in notice.body


def test_later_sightings_only_move_last_seen_once_a_minute(org):
    bot = org["bot"]
    first = services.configuration_observed(agent=bot, digest=UNKNOWN, via="form")
    services.configuration_observed(agent=bot, digest=UNKNOWN, via="assertion")
    first.refresh_from_db()
    assert first.last_seen_at == first.first_seen_at  # within the minute: no write
    ObservedConfiguration.objects.filter(pk=first.pk).update(
        last_seen_at=timezone.now() - dt.timedelta(minutes=5)
    )
    services.configuration_observed(agent=bot, digest=UNKNOWN, via="form")
    first.refresh_from_db()
    assert first.last_seen_at > timezone.now() - dt.timedelta(seconds=5)
    assert AuditEntry.objects.filter(action="agent.config_drift").count() == 1
    assert Notice.objects.filter(kind=NoticeKind.CONFIG_DRIFT).count() == 1
    assert ObservedConfiguration.objects.count() == 1


def test_the_trust_engines_read_is_bulk_and_drops_reviewed_and_caught_up(
    org, django_assert_num_queries
):
    bot, theirs = org["bot"], org["theirs"]
    services.configuration_observed(agent=bot, digest=UNKNOWN, via="form")
    services.configuration_observed(agent=bot, digest=OTHER, via="form")
    services.configuration_observed(agent=theirs, digest=UNKNOWN, via="form")
    quiet = [f.AgentFactory().pk for _ in range(20)]
    with django_assert_num_queries(1):
        found = selectors.unreviewed_configurations([bot.pk, theirs.pk, *quiet])
    assert {k: [r.digest for r in v] for k, v in found.items()} == {
        bot.pk: [UNKNOWN, OTHER],
        theirs.pk: [UNKNOWN],
    }
    # Version 1.1 (OTHER) reviewed: that observation is caught up, nobody has to review it.
    bot.versions.filter(config_digest=OTHER).update(reviewed=True)
    services.configuration_review(
        observed=ObservedConfiguration.objects.get(agent=theirs),
        by=org["rita"],
        reason="checked the container image",
    )
    found = selectors.unreviewed_configurations([bot.pk, theirs.pk])
    assert {k: [r.digest for r in v] for k, v in found.items()} == {bot.pk: [UNKNOWN]}


@pytest.mark.parametrize(
    ("who", "allowed"),
    [("rita", True), ("root", True), ("alice", False), ("bob", False), ("rex", False)],
)
def test_who_may_review_under_the_default_policy(org, who, allowed):
    row = services.configuration_observed(agent=org["bot"], digest=UNKNOWN, via="form")
    if allowed:
        services.configuration_review(observed=row, by=org[who], reason="image rebuilt by CI")
        row.refresh_from_db()
        assert row.reviewed_by == org[who] and row.review_reason == "image rebuilt by CI"
        entry = AuditEntry.objects.get(action="agent.config_review")
        assert entry.actor == f"user:{who}" and entry.reason == "image rebuilt by CI"
    else:
        with pytest.raises(ReviewForbidden):
            services.configuration_review(observed=row, by=org[who], reason="looks fine")
        row.refresh_from_db()
        assert row.reviewed_at is None
        assert not AuditEntry.objects.filter(action="agent.config_review").exists()


def test_policy_may_let_the_owning_team_review(org):
    policy = OrganisationPolicy.current()
    policy.config_review_requires_reviewer = False
    policy.save()
    row = services.configuration_observed(agent=org["bot"], digest=UNKNOWN, via="form")
    with pytest.raises(ReviewForbidden):
        services.configuration_review(observed=row, by=org["bob"], reason="not mine")
    services.configuration_review(observed=row, by=org["alice"], reason="our new build")
    assert selectors.unreviewed_configurations([org["bot"].pk]) == {}


def test_a_review_needs_a_reason_and_happens_once(org):
    row = services.configuration_observed(agent=org["bot"], digest=UNKNOWN, via="form")
    with pytest.raises(RegistryError):
        services.configuration_review(observed=row, by=org["rita"], reason="  ")
    services.configuration_review(observed=row, by=org["rita"], reason="ok")
    with pytest.raises(InvalidTransition):
        services.configuration_review(observed=row, by=org["root"], reason="again")
    # Reviewed: the digest is known now.
    assert selectors.configuration_known(org["bot"].pk, UNKNOWN)
