from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from apps.acceptances.models import Acceptance
from apps.acceptances.services import policy_reminder_queue
from apps.notifications.models import OutboxEmail
from apps.notifications.selectors import outbox_progress
from apps.notifications.services import outbox_emails_deliver
from apps.policies import services
from apps.policies.models import PolicyVersion
from apps.policies.services import (
    policy_announcement_fanout,
    policy_announcements_resume,
    policy_version_publish,
)
from tests.accounts.factories import UserFactory
from tests.policies.factories import PolicyVersionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def users():
    """Eight users who should be told, and four who should not: ended, erased, deactivated, blocked."""
    past = timezone.now() - timedelta(days=30)
    told = [
        UserFactory(language=lang, date_joined=past)
        for lang in ["kk", "ru", "en", "kk", "ru", "en", "kk", "de"]
    ]
    UserFactory(agreement_status="ended", agreement_ended_at=past, date_joined=past)
    UserFactory(erased_at=past, date_joined=past)
    UserFactory(is_active=False, date_joined=past)
    UserFactory(blocked_at=past, blocked_reference="BR-2026-000001", date_joined=past)
    return told


def publish(**kwargs):
    PolicyVersionFactory(published=True, number=1)
    draft = PolicyVersionFactory(number=2, **kwargs)
    return policy_version_publish(version=draft, actor=None)


def announcement_rows(version):
    return OutboxEmail.objects.filter(topic="policy.announcement", object_id=version.pk)


def test_fanout_writes_one_email_per_active_user_in_their_language(users, django_capture_on_commit_callbacks):
    version = publish()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        written = policy_announcement_fanout(version=version, chunk_ids=3, batch_size=2)
    rows = {row.user_id: row for row in announcement_rows(version)}
    assert written == len(users) == len(rows)
    assert set(rows) == {user.pk for user in users}
    for user in users:
        row = rows[user.pk]
        expected = user.language if user.language in ("kk", "ru", "en") else "kk"
        assert row.language == expected
        assert row.to == user.email
        assert row.template == "policy_announcement"
        assert row.status == "pending"
        assert row.dedup_key == f"policy-announce:2:{user.pk}"
        assert row.context["full_name"] == user.full_name
        assert row.context["summary"] == f"Summary 2 ({expected})"
        assert row.context["accept_url"] == "http://testserver/privacy/accept/2/"
        assert row.context["diff_url"] == "http://testserver/privacy_policy/diff/1/2/"
        assert row.context["deadline"]
    # Delivery is queued in batches of two after each chunk commits.
    assert len(callbacks) >= 4
    version.refresh_from_db()
    assert version.announced_at is not None
    assert version.announcement_written == len(users)


def test_running_the_fanout_twice_writes_nothing_new(users):
    version = publish()
    assert policy_announcement_fanout(version=version, chunk_ids=4) == len(users)
    assert policy_announcement_fanout(version=version, chunk_ids=4) == 0
    # Even with the cursor reset and the finish mark cleared, the unique key writes nothing twice.
    PolicyVersion.objects.filter(pk=version.pk).update(announcement_cursor=0, announced_at=None)
    assert policy_announcement_fanout(version=version, chunk_ids=4) == 0
    assert announcement_rows(version).count() == len(users)


def test_fanout_resumes_after_a_crash_without_duplicates_or_gaps(users, monkeypatch):
    version = publish()
    real_fanout = services.outbox_fanout
    calls = {"n": 0}

    def crash_on_third_chunk(**kwargs):
        calls["n"] += 1
        ids = real_fanout(**kwargs)
        if calls["n"] == 3:
            raise SystemExit("worker killed")  # after the chunk's rows were written, before its commit
        return ids

    monkeypatch.setattr(services, "outbox_fanout", crash_on_third_chunk)
    with pytest.raises(SystemExit):
        policy_announcement_fanout(version=version, chunk_ids=2)
    version.refresh_from_db()
    written_before = set(announcement_rows(version).values_list("id", flat=True))
    assert version.announced_at is None
    assert 0 < len(written_before) < len(users)
    assert version.announcement_written == len(written_before)
    cursor = version.announcement_cursor

    monkeypatch.setattr(services, "outbox_fanout", real_fanout)
    written = policy_announcement_fanout(version=version, chunk_ids=2)
    rows = announcement_rows(version)
    assert written + len(written_before) == len(users)
    assert sorted(rows.values_list("user_id", flat=True)) == sorted(u.pk for u in users)
    # The rows written before the crash were kept, not rewritten; the rerun started at the cursor.
    assert written_before <= set(rows.values_list("id", flat=True))
    assert not rows.filter(id__in=written_before, user_id__gt=cursor).exists()


def test_users_who_joined_after_publication_are_not_announced(users):
    version = publish()
    late = UserFactory()
    late.date_joined = timezone.now() + timedelta(seconds=1)
    late.save()
    policy_announcement_fanout(version=version)
    assert not announcement_rows(version).filter(user=late).exists()


def test_drafts_are_not_announced(users):
    draft = PolicyVersionFactory()
    assert policy_announcement_fanout(version=draft) == 0
    assert not OutboxEmail.objects.exists()


def test_resume_sweep_queues_unfinished_announcements_only(monkeypatch):
    queued = []
    monkeypatch.setattr("apps.policies.tasks.policy_announce.delay", lambda vid: queued.append(vid))
    old = timezone.now() - timedelta(hours=1)
    unfinished = PolicyVersionFactory(published=True, published_at=old)
    finished = PolicyVersionFactory(published=True, published_at=old)
    PolicyVersion.objects.filter(pk=finished.pk).update(announced_at=timezone.now())
    PolicyVersionFactory()
    assert policy_announcements_resume() == [unfinished.pk]
    assert queued == [unfinished.pk]


def test_progress_counts_by_status(users):
    version = publish()
    policy_announcement_fanout(version=version)
    first, second = announcement_rows(version).order_by("id")[:2]
    OutboxEmail.objects.filter(pk=first.pk).update(status="sent")
    OutboxEmail.objects.filter(pk=second.pk).update(status="failed")
    progress = outbox_progress(topic="policy.announcement", object_id=version.pk)
    assert (progress.total, progress.sent, progress.failed, progress.queued) == (
        len(users),
        1,
        1,
        len(users) - 2,
    )


@pytest.mark.parametrize("language,phrase", [("kk", "2"), ("ru", "2"), ("en", "version 2")])
def test_announcement_email_renders_in_the_users_language(users, language, phrase):
    version = publish()
    policy_announcement_fanout(version=version)
    row = announcement_rows(version).filter(language=language).first()
    mail.outbox.clear()
    outbox_emails_deliver(email_ids=[row.pk])
    message = mail.outbox[0]
    assert phrase in message.subject
    assert message.extra_headers["Content-Language"] == language
    html = message.alternatives[0][0]
    assert "http://testserver/privacy/accept/2/" in message.body
    assert "http://testserver/privacy_policy/diff/1/2/" in html
    assert f"Summary 2 ({language})" in message.body
    assert row.context["deadline"] in message.body


def test_summary_falls_back_to_kazakh_when_the_language_is_missing(users):
    version = publish(texts=["kk"])
    policy_announcement_fanout(version=version)
    row = announcement_rows(version).filter(language="en").first()
    assert row.context["summary"] == "Summary 2 (kk)"


def test_announcement_escapes_the_summary_in_html():
    user = UserFactory(date_joined=timezone.now() - timedelta(days=1), language="en")
    PolicyVersionFactory(published=True, number=1)
    draft = PolicyVersionFactory(number=2, texts=["kk"])
    draft.texts.update(summary="<b>bold</b> & more")
    version = policy_version_publish(version=draft, actor=None)
    policy_announcement_fanout(version=version)
    row = OutboxEmail.objects.get(user=user)
    outbox_emails_deliver(email_ids=[row.pk])
    message = mail.outbox[-1]
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in message.alternatives[0][0]
    assert "<b>bold</b> & more" in message.body


def test_reminder_goes_to_users_in_the_agreement_who_have_not_accepted_once(users):
    version = publish()
    accepted = users[3]
    Acceptance.objects.create(
        user=accepted,
        version=version,
        method="explicit",
        channel="web",
        accepted_at=timezone.now(),
        language="kk",
    )
    assert policy_reminder_queue(version=version, chunk_ids=2) == len(users) - 1
    assert policy_reminder_queue(version=version, chunk_ids=2) == 0
    rows = OutboxEmail.objects.filter(template="policy_reminder")
    expected = sorted(u.pk for u in users if u != accepted)
    assert sorted(rows.values_list("user_id", flat=True)) == expected
    assert set(rows.values_list("dedup_key", flat=True)) == {f"policy-reminder:2:{pk}" for pk in expected}
    assert set(rows.values_list("topic", "object_id")) == {("policy.reminder", version.pk)}
    outbox_emails_deliver(email_ids=[rows.first().pk])
    assert "http://testserver/privacy/accept/2/" in mail.outbox[-1].body
