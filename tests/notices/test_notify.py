"""notify(): one notice and one outbox row in the caller's transaction; delivered once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from agents.notices import delivery, selectors, services, tasks
from agents.notices.models import Notice, NoticeKind, OutboxMessage
from tests import factories as f
from tests.servers import free_port

pytestmark = pytest.mark.django_db

DEAD_SMTP = {
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "EMAIL_HOST": "127.0.0.1",
    "EMAIL_USE_TLS": False,
    "EMAIL_TIMEOUT": 2,
}


def _notify(people, **extra):
    fields = {
        "kind": NoticeKind.CONFIG_DRIFT,
        "subject": "red-bot runs an unreviewed configuration",
        "body": "Digest sha256:abc matches no reviewed version.",
        "team": people["red"],
        "link": "/portal/agents/red-bot/",
    }
    return services.notify(**{**fields, **extra})


def test_notice_and_outbox_commit_with_the_change_and_queue_on_commit(
    people, django_capture_on_commit_callbacks, eager_celery
):
    capture = django_capture_on_commit_callbacks(execute=True)
    with capture as callbacks, transaction.atomic():
        notice = _notify(people)
        assert mail.outbox == []  # nothing leaves before the commit
    assert len(callbacks) == 1
    message = notice.outbox.get()
    assert message.delivered_at is not None and message.attempts == 1
    (email,) = mail.outbox
    assert sorted(email.to) == ["alice@example.test", "carol@example.test"]
    assert email.subject == "[Agent governance] red-bot runs an unreviewed configuration"
    assert "/portal/agents/red-bot/" in email.body and "/portal/notices/" in email.body
    assert email.extra_headers["Message-ID"] == f"<notice-{message.pk}@localhost>"


def test_a_rolled_back_change_leaves_no_notice_and_sends_nothing(
    people, django_capture_on_commit_callbacks, eager_celery
):
    capture = django_capture_on_commit_callbacks(execute=True)
    with capture as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        _notify(people)
        raise RuntimeError("the change failed")
    assert callbacks == [] and mail.outbox == []
    assert not Notice.objects.exists() and not OutboxMessage.objects.exists()


def test_dedupe_key_raises_an_event_once(people):
    first = _notify(people, dedupe_key="red-bot:sha256:abc")
    again = _notify(people, dedupe_key="red-bot:sha256:abc", subject="changed")
    other_kind = _notify(people, dedupe_key="red-bot:sha256:abc", kind="agent.quarantined")
    assert again.pk == first.pk and again.subject == first.subject
    assert other_kind.pk != first.pk
    assert OutboxMessage.objects.count() == 2


@pytest.mark.parametrize(
    "bad",
    [
        {"user": "both"},
        {"team": None},
        {"kind": "Not A Kind"},
        {"link": "javascript:alert(1)"},
        {"link": "//evil.example/"},
    ],
)
def test_bad_calls_are_refused(people, bad):
    if bad.get("user") == "both":
        bad = {"user": people["alice"]}
    with pytest.raises((ValueError, Exception)) as caught:
        _notify(people, **bad)
    assert type(caught.value).__name__ in {"ValueError", "ValidationError"}
    assert not Notice.objects.exists()


def test_a_long_subject_is_shortened_not_refused(people):
    notice = _notify(people, subject="x" * 500)
    assert len(notice.subject) == 200 and notice.subject.endswith("…")


def test_a_person_notice_goes_to_that_person_only(people):
    notice = _notify(people, team=None, user=people["bob"])
    assert delivery.outbox_deliver(outbox_id=notice.outbox.get().pk).state == "delivered"
    assert [m.to for m in mail.outbox] == [["bob@example.test"]]


def test_never_twice_the_task_its_retry_and_the_sweep_send_once(people):
    message = _notify(people).outbox.get()
    later = timezone.now() + dt.timedelta(minutes=5)
    assert tasks.deliver.apply(args=[message.pk]).get() == "delivered"
    assert tasks.deliver.apply(args=[message.pk]).get() == "skipped"
    assert delivery.outbox_sweep(now=later) == {"found": 0}
    assert len(mail.outbox) == 1


def test_a_claimed_row_is_left_to_its_holder_until_the_lease_ends(people):
    message = _notify(people).outbox.get()
    now = timezone.now()
    OutboxMessage.objects.filter(pk=message.pk).update(
        lease_until=now + delivery.LEASE, claim="someone-else"
    )
    assert delivery.outbox_deliver(outbox_id=message.pk, now=now).state == "skipped"
    # The holder died mid-send: after the lease the sweep sends it (never lost).
    after = now + delivery.LEASE + dt.timedelta(seconds=1)
    assert delivery.outbox_sweep(now=after) == {"found": 1, "delivered": 1}
    assert len(mail.outbox) == 1


def test_a_failing_mail_server_is_retried_with_backoff_then_given_up(people, settings):
    for name, value in {**DEAD_SMTP, "EMAIL_PORT": free_port()}.items():
        setattr(settings, name, value)
    message = _notify(people).outbox.get()
    now = timezone.now()
    outcome = delivery.outbox_deliver(outbox_id=message.pk, now=now)
    assert outcome.state == "retry" and outcome.retry_in == 60
    message.refresh_from_db()
    assert message.attempts == 1 and message.lease_until is None
    assert message.available_at == now + dt.timedelta(seconds=60)
    assert message.last_error.startswith("ConnectionRefusedError")
    # Not due before its time, neither for the task nor for the sweep.
    assert delivery.outbox_deliver(outbox_id=message.pk, now=now).state == "skipped"
    for attempt in range(2, delivery.MAX_ATTEMPTS + 1):
        now += dt.timedelta(hours=7)
        state = delivery.outbox_sweep(now=now)
        assert state == {"found": 1, "failed" if attempt == delivery.MAX_ATTEMPTS else "retry": 1}
    message.refresh_from_db()
    assert message.state == "failed" and message.attempts == delivery.MAX_ATTEMPTS
    assert delivery.outbox_sweep(now=now + dt.timedelta(days=1)) == {"found": 0}


def test_the_mail_server_back_the_sweep_delivers_what_failed(people, settings):
    for name, value in {**DEAD_SMTP, "EMAIL_PORT": free_port()}.items():
        setattr(settings, name, value)
    message = _notify(people).outbox.get()
    assert delivery.outbox_deliver(outbox_id=message.pk).state == "retry"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    later = timezone.now() + dt.timedelta(minutes=2)
    assert delivery.outbox_sweep(now=later) == {"found": 1, "delivered": 1}
    assert len(mail.outbox) == 1


def test_a_team_without_addresses_is_delivered_as_nothing_to_send(people):
    team = f.TeamFactory(slug="quiet")
    f.team_member(team, username="noemail", email="")
    message = _notify(people, team=team).outbox.get()
    assert delivery.outbox_deliver(outbox_id=message.pk).state == "delivered"
    message.refresh_from_db()
    assert message.last_error == "no recipient has an email address" and mail.outbox == []


def test_read_state_is_per_person(people):
    notice = _notify(people)
    alice, carol, bob = people["alice"], people["carol"], people["bob"]
    assert [selectors.unread_count(u) for u in (alice, carol, bob)] == [1, 1, 0]
    services.notice_mark_read(notice_id=notice.pk, user=alice)
    services.notice_mark_read(notice_id=notice.pk, user=alice)  # idempotent
    assert [selectors.unread_count(u) for u in (alice, carol)] == [0, 1]
    with pytest.raises(Notice.DoesNotExist):
        services.notice_mark_read(notice_id=notice.pk, user=bob)
    _notify(people, team=None, user=carol)
    assert services.notices_mark_all_read(user=carol) == 2
    assert services.notices_mark_all_read(user=carol) == 0
    assert selectors.unread_count(carol) == 0


def test_unread_count_is_one_query(people, django_assert_num_queries):
    for i in range(5):
        _notify(people, subject=f"n{i}")
    with django_assert_num_queries(1):
        assert selectors.unread_count(people["alice"]) == 5
