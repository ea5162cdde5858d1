import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, InternalError, transaction
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.policies.models import PolicyText, PolicyVersion
from apps.policies.selectors import policy_current_cached
from apps.policies.services import (
    policy_draft_delete,
    policy_draft_save,
    policy_text_save,
    policy_version_publish,
)
from tests.accounts.factories import StaffFactory
from tests.policies.factories import PolicyVersionFactory

pytestmark = pytest.mark.django_db


def test_publish_stamps_dates_audits_and_refreshes_cache_after_commit(
    django_capture_on_commit_callbacks, settings
):
    settings.IMPLICIT_ACCEPTANCE_DAYS = 7
    staff = StaffFactory()
    old = PolicyVersionFactory(published=True)
    assert policy_current_cached().number == old.number
    draft = PolicyVersionFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        version = policy_version_publish(version=draft, actor=staff)
    assert version.is_published
    assert version.published_by == staff
    assert version.published_at is not None
    local = version.implicit_acceptance_at.astimezone(timezone.get_default_timezone())
    published_local = version.published_at.astimezone(timezone.get_default_timezone())
    assert (local.date() - published_local.date()).days == 8
    assert (local.hour, local.minute) == (0, 0)
    assert AuditEvent.objects.filter(action="policy.publish", target_id=str(version.pk), actor=staff).exists()
    assert len(callbacks) == 2
    # The cache still serves the old version until the commit callbacks run.
    assert policy_current_cached().number == old.number
    callbacks[0]()
    assert policy_current_cached().number == version.number


def test_publish_queues_the_announcement_task(django_capture_on_commit_callbacks, monkeypatch):
    queued = []
    monkeypatch.setattr("apps.policies.tasks.policy_announce.delay", lambda vid: queued.append(vid))
    draft = PolicyVersionFactory()
    with django_capture_on_commit_callbacks(execute=True):
        policy_version_publish(version=draft, actor=None)
    assert queued == [draft.pk]


def test_zero_days_turns_implicit_acceptance_off(settings):
    settings.IMPLICIT_ACCEPTANCE_DAYS = 0
    version = policy_version_publish(version=PolicyVersionFactory(), actor=None)
    assert version.implicit_acceptance_at is None


def test_publishing_twice_is_refused():
    version = policy_version_publish(version=PolicyVersionFactory(), actor=None)
    published_at = version.published_at
    with pytest.raises(ValidationError) as error:
        policy_version_publish(version=version, actor=None)
    assert error.value.code == "published"
    version.refresh_from_db()
    assert version.published_at == published_at


def test_publishing_a_lower_number_after_a_higher_one_is_refused():
    older_draft = PolicyVersionFactory(number=5)
    policy_version_publish(version=PolicyVersionFactory(number=6), actor=None)
    with pytest.raises(ValidationError) as error:
        policy_version_publish(version=older_draft, actor=None)
    assert error.value.code == "order"
    older_draft.refresh_from_db()
    assert not older_draft.is_published


def test_publishing_without_a_kazakh_text_is_refused():
    draft = PolicyVersionFactory(texts=["ru", "en"])
    with pytest.raises(ValidationError) as error:
        policy_version_publish(version=draft, actor=None)
    assert error.value.code == "kk"
    assert PolicyVersion.objects.get(pk=draft.pk).status == "draft"


def test_services_refuse_to_edit_or_delete_a_published_version():
    version = policy_version_publish(version=PolicyVersionFactory(), actor=None)
    with pytest.raises(ValidationError):
        policy_text_save(version=version, language="kk", body="changed")
    with pytest.raises(ValidationError):
        policy_draft_save(version=version)
    with pytest.raises(ValidationError):
        policy_draft_delete(version=version)
    assert version.texts.get(language="kk").body.startswith("1. KK")


def test_text_save_on_a_draft_stores_the_hash_and_normalises_line_ends():
    draft = PolicyVersionFactory(texts=[])
    text = policy_text_save(version=draft, language="ru", title="T", body="1. A\r\n\r\n1.1. B\r\n")
    assert text.body == "1. A\n\n1.1. B"
    import hashlib

    assert text.body_sha256 == hashlib.sha256(text.body.encode()).hexdigest()
    with pytest.raises(ValidationError):
        policy_text_save(version=draft, language="ru", body="   ")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE policies_policytext SET body = 'x' WHERE version_id = %s",
        "DELETE FROM policies_policytext WHERE version_id = %s",
        "UPDATE policies_policyversion SET number = 99 WHERE id = %s",
        "UPDATE policies_policyversion SET published_at = now() - interval '1 day' WHERE id = %s",
        "UPDATE policies_policyversion SET status = 'draft', published_at = NULL WHERE id = %s",
        "DELETE FROM policies_policyversion WHERE id = %s",
        "INSERT INTO policies_policytext (version_id, language, title, summary, body, body_sha256)"
        " VALUES (%s, 'xx', 't', '', 'b', 'h')",
    ],
)
def test_database_refuses_any_change_to_a_published_version(statement):
    from django.db import connection

    version = PolicyVersionFactory(published=True)
    with pytest.raises((InternalError, IntegrityError)), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [version.pk])
    assert PolicyText.objects.filter(version=version).count() == 3


def test_database_allows_drafts_to_change_and_progress_fields_of_published_ones():
    draft = PolicyVersionFactory()
    PolicyText.objects.filter(version=draft, language="kk").update(body="new")
    draft.delete()
    published = PolicyVersionFactory(published=True)
    PolicyVersion.objects.filter(pk=published.pk).update(announcement_cursor=10, announced_at=timezone.now())
    published.refresh_from_db()
    assert published.announcement_cursor == 10


def test_each_process_reuses_the_version_in_force_for_a_few_seconds(settings, monkeypatch):
    from django.core.cache import cache

    from apps.policies import selectors

    settings.POLICY_CURRENT_LOCAL_SECONDS = 5
    clock = {"now": 1000.0}
    monkeypatch.setattr(selectors, "monotonic", lambda: clock["now"])
    monkeypatch.setitem(selectors._current_local, "until", 0.0)
    PolicyVersionFactory(number=1, published=True)
    assert policy_current_cached().number == 1
    # Another process publishes and refreshes the shared cache: this process keeps its copy for 5 s.
    PolicyVersionFactory(number=2, published=True)
    cache.delete(selectors.CURRENT_CACHE_KEY)
    clock["now"] += 4.9
    assert policy_current_cached().number == 1
    clock["now"] += 0.2
    assert policy_current_cached().number == 2
    # A publication refreshed in this process is seen at once.
    PolicyVersionFactory(number=3, published=True)
    selectors.policy_current_cache_refresh()
    assert policy_current_cached().number == 3
