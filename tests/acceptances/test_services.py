from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.acceptances import services
from apps.acceptances.models import Acceptance, UseReport
from apps.acceptances.selectors import users_pending_acceptance
from apps.audit.models import AuditEvent
from tests.accounts.factories import UserFactory

from .conftest import publish

pytestmark = pytest.mark.django_db
ALMATY = ZoneInfo("Asia/Almaty")


def _accept(user, version, **kwargs):
    return services.acceptance_record_explicit(
        user=user,
        version=version,
        language=kwargs.pop("language", "ru"),
        ip=kwargs.pop("ip", "10.0.0.1"),
        user_agent=kwargs.pop("user_agent", "Firefox"),
        **kwargs,
    )


def test_explicit_accept_records_evidence_and_one_audit_event(user, version):
    acceptance, created = _accept(user, version)
    assert created
    ru = version.texts.get(language="ru")
    assert acceptance.method == "explicit" and acceptance.channel == "web"
    assert acceptance.ip == "10.0.0.1" and acceptance.user_agent == "Firefox"
    assert acceptance.language == "ru" and acceptance.text_sha256 == ru.body_sha256
    assert AuditEvent.objects.filter(action="acceptance.record", target_id=str(acceptance.pk)).count() == 1


@pytest.mark.parametrize("verified", [True, False])
def test_acceptance_records_whether_the_address_was_confirmed(version, verified):
    user = UserFactory(unverified=not verified)
    acceptance, _created = _accept(user, version)
    assert acceptance.email_verified is verified
    assert Acceptance.objects.get().email_verified is verified


def test_second_accept_of_same_version_records_nothing(user, version):
    first, _ = _accept(user, version)
    second, created = _accept(user, version, ip="10.9.9.9")
    assert not created and second.pk == first.pk and second.ip == "10.0.0.1"
    assert Acceptance.objects.count() == 1
    assert AuditEvent.objects.filter(action="acceptance.record").count() == 1


def test_accepting_a_superseded_version_is_refused(user, version):
    publish()
    with pytest.raises(services.VersionNotCurrent):
        _accept(user, version)
    assert not Acceptance.objects.exists()


def test_text_hash_of_another_version_is_refused(user, version):
    other = publish()
    with pytest.raises(services.AcceptanceError):
        _accept(user, other, text_sha256=version.texts.first().body_sha256)
    assert not Acceptance.objects.exists()


def test_shown_text_hash_sets_the_language_recorded(user, version):
    en = version.texts.get(language="en")
    acceptance, _ = _accept(user, version, language="ru", text_sha256=en.body_sha256)
    assert acceptance.language == "en" and acceptance.text_sha256 == en.body_sha256


def test_language_without_text_falls_back_to_kazakh(user):
    version = publish(texts=["kk"])
    acceptance, _ = _accept(user, version, language="en")
    assert acceptance.language == "kk"
    assert acceptance.text_sha256 == version.texts.get().body_sha256


def test_model_refuses_update_and_delete(user, version):
    acceptance, _ = _accept(user, version)
    with pytest.raises(ValueError):
        acceptance.save()
    with pytest.raises(ValueError):
        acceptance.delete()


def test_database_refuses_update_and_delete(user, version):
    acceptance, _ = _accept(user, version)
    for statement in (
        "UPDATE acceptances_acceptance SET method = 'implicit' WHERE id = %s",
        "UPDATE acceptances_acceptance SET ip = NULL, user_agent = '', language = 'kk' WHERE id = %s",
        "UPDATE acceptances_acceptance SET ip = '10.1.1.1' WHERE id = %s",
        "DELETE FROM acceptances_acceptance WHERE id = %s",
    ):
        with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as c:
            c.execute(statement, [acceptance.pk])
    assert Acceptance.objects.filter(pk=acceptance.pk, ip="10.0.0.1", language="ru").exists()


def test_database_allows_only_the_erasure_of_ip_and_user_agent(user, version):
    acceptance, _ = _accept(user, version)
    Acceptance.objects.filter(pk=acceptance.pk).update(ip=None, user_agent="")
    row = Acceptance.objects.get(pk=acceptance.pk)
    assert row.ip is None and row.user_agent == "" and row.text_sha256 == acceptance.text_sha256


def test_implicit_acceptance_needs_a_use_in_the_database(user, version):
    with pytest.raises(IntegrityError), transaction.atomic():
        Acceptance.objects.create(
            user=user,
            version=version,
            method="implicit",
            accepted_at=timezone.now(),
            language="kk",
            channel="web",
        )


def test_signup_with_an_unpublished_number_is_refused_and_leaves_no_account(version):
    with pytest.raises(services.VersionNotCurrent):
        services.acceptance_signup(
            email="new@example.kz",
            password="a long enough password",
            full_name="New Person",
            language="kk",
            policy_version=version.number + 5,
        )
    assert not get_user_model().objects.filter(email="new@example.kz").exists()


# --- Use tracking ------------------------------------------------------------------------------


def test_use_is_written_at_most_once_per_interval(user, settings, django_assert_num_queries):
    settings.USE_TRACKING_INTERVAL_SECONDS = 300
    with django_assert_num_queries(1):
        assert services.use_mark(user_id=user.pk)
    with django_assert_num_queries(0):
        assert not services.use_mark(user_id=user.pk)
    user.refresh_from_db()
    assert user.last_used_at is not None


# --- The sweep and the deadline ----------------------------------------------------------------


def _published_at(hour, minute):
    return datetime(2026, 3, 1, hour, minute, tzinfo=ALMATY)


@pytest.mark.parametrize(("hour", "minute"), [(0, 1), (23, 59)])
def test_deadline_is_midnight_almaty_after_seven_full_days_on_a_utc_server(settings, hour, minute):
    settings.TIME_ZONE = "UTC"
    version = publish(published_at=_published_at(hour, minute))
    expected = datetime(2026, 3, 9, 0, 0, tzinfo=ALMATY)
    assert version.implicit_acceptance_at == expected
    assert version.implicit_acceptance_at == datetime(2026, 3, 8, 19, 0, tzinfo=ZoneInfo("UTC"))

    before = UserFactory(last_used_at=expected - timedelta(seconds=1))
    after = UserFactory(last_used_at=expected + timedelta(seconds=1))
    result = services.implicit_acceptance_sweep(now=expected + timedelta(minutes=10))
    assert result["created"] == 1
    acceptance = Acceptance.objects.get()
    assert acceptance.user_id == after.pk and acceptance.method == "implicit"
    assert acceptance.used_at == expected + timedelta(seconds=1) == acceptance.accepted_at
    assert acceptance.channel == "web" and acceptance.use_source == "web"
    assert not Acceptance.objects.filter(user=before).exists()


def test_sweep_before_the_deadline_records_nothing():
    version = publish(published_at=_published_at(12, 0))
    UserFactory(last_used_at=version.implicit_acceptance_at + timedelta(seconds=1))
    result = services.implicit_acceptance_sweep(now=version.implicit_acceptance_at - timedelta(seconds=1))
    assert result["status"] == "before-deadline" and not Acceptance.objects.exists()


def test_sweep_skips_withdrawn_ended_erased_inactive_blocked_and_already_accepted_users():
    version = publish(published_at=_published_at(12, 0))
    used = version.implicit_acceptance_at + timedelta(hours=1)
    now = used + timedelta(hours=1)
    eligible = UserFactory(last_used_at=used, language="en")
    UserFactory(last_used_at=used, consent_withdrawn_at=used)
    UserFactory(last_used_at=used, agreement_status="ended", agreement_ended_at=used)
    UserFactory(last_used_at=used, erased_at=used)
    UserFactory(last_used_at=used, is_active=False)
    UserFactory(last_used_at=used, blocked_at=used, blocked_reference="BR-2026-000001")
    UserFactory(last_used_at=None)
    accepted = UserFactory(last_used_at=used)
    Acceptance.objects.create(
        user=accepted, version=version, method="signup", accepted_at=used, language="kk", channel="web"
    )
    assert services.implicit_acceptance_sweep(now=now, chunk_size=2)["created"] == 1
    implicit = Acceptance.objects.get(method="implicit")
    assert implicit.user_id == eligible.pk
    assert implicit.language == "en" and implicit.text_sha256 == version.texts.get(language="en").body_sha256
    # idempotent: a second run adds nothing
    assert services.implicit_acceptance_sweep(now=now)["created"] == 0
    assert Acceptance.objects.count() == 2
    assert AuditEvent.objects.filter(action="acceptance.implicit_sweep").count() == 1


def test_sweep_records_whether_each_address_was_confirmed():
    version = publish(published_at=_published_at(12, 0))
    used = version.implicit_acceptance_at + timedelta(hours=1)
    confirmed = UserFactory(last_used_at=used)
    unconfirmed = UserFactory(last_used_at=used, unverified=True)
    token, _raw = services.service_token_create(name="shop")
    reported = UserFactory(last_used_at=None, unverified=True)
    services.use_reports_record(
        token=token, uses=[services.UseInput(user_id=reported.pk, used_at=used, channel="app")]
    )
    assert services.implicit_acceptance_sweep(now=used + timedelta(hours=1))["created"] == 3
    recorded = dict(Acceptance.objects.values_list("user_id", "email_verified"))
    assert recorded == {confirmed.pk: True, unconfirmed.pk: False, reported.pk: False}


def test_sweep_uses_the_earliest_reported_use_after_the_deadline_as_evidence():
    version = publish(published_at=_published_at(12, 0))
    deadline = version.implicit_acceptance_at
    user = UserFactory(last_used_at=None)
    token, _raw = services.service_token_create(name="shop")
    services.use_reports_record(
        token=token,
        uses=[
            services.UseInput(user_id=user.pk, used_at=deadline - timedelta(seconds=1), channel="app"),
            services.UseInput(user_id=user.pk, used_at=deadline + timedelta(hours=2), channel="api"),
            services.UseInput(user_id=user.pk, used_at=deadline + timedelta(seconds=1), channel="app"),
        ],
    )
    services.implicit_acceptance_sweep(now=deadline + timedelta(days=1))
    acceptance = Acceptance.objects.get()
    report = UseReport.objects.get(used_at=deadline + timedelta(seconds=1))
    assert acceptance.used_at == deadline + timedelta(seconds=1)
    assert acceptance.channel == "app" and acceptance.use_report_id == report.pk
    assert acceptance.use_source == "api:shop"
    user.refresh_from_db()
    assert user.last_used_at == deadline + timedelta(hours=2)


def test_reported_use_raising_last_use_is_attributed_to_the_report():
    version = publish(published_at=_published_at(12, 0))
    used = version.implicit_acceptance_at + timedelta(minutes=3)
    user = UserFactory(last_used_at=version.implicit_acceptance_at - timedelta(days=1))
    token, _raw = services.service_token_create(name="shop")
    services.use_reports_record(
        token=token, uses=[services.UseInput(user_id=user.pk, used_at=used, channel="app")]
    )
    user.refresh_from_db()
    assert user.last_used_at == used
    services.implicit_acceptance_sweep(now=used + timedelta(hours=1))
    acceptance = Acceptance.objects.get()
    assert acceptance.channel == "app" and acceptance.use_report is not None and acceptance.used_at == used


def test_reported_use_never_lowers_last_use():
    user = UserFactory(last_used_at=timezone.now())
    token, _raw = services.service_token_create(name="shop")
    earlier = timezone.now() - timedelta(days=3)
    services.use_reports_record(
        token=token, uses=[services.UseInput(user_id=user.pk, used_at=earlier, channel="app")]
    )
    before = user.last_used_at
    user.refresh_from_db()
    assert user.last_used_at == before


def test_reported_use_before_the_deadline_is_no_acceptance():
    version = publish(published_at=_published_at(12, 0))
    user = UserFactory()
    token, _raw = services.service_token_create(name="shop")
    services.use_reports_record(
        token=token,
        uses=[
            services.UseInput(
                user_id=user.pk, used_at=version.implicit_acceptance_at - timedelta(1), channel="app"
            )
        ],
    )
    assert (
        services.implicit_acceptance_sweep(now=version.implicit_acceptance_at + timedelta(1))["created"] == 0
    )


def test_zero_days_turns_implicit_acceptance_off(settings):
    settings.IMPLICIT_ACCEPTANCE_DAYS = 0
    version = publish(published_at=_published_at(12, 0))
    assert version.implicit_acceptance_at is None
    UserFactory(last_used_at=timezone.now())
    assert services.implicit_acceptance_sweep()["status"] == "off"
    assert not Acceptance.objects.exists()


def test_sweep_only_concerns_the_version_in_force():
    old = publish(published_at=_published_at(12, 0))
    used = old.implicit_acceptance_at + timedelta(hours=1)
    UserFactory(last_used_at=used)
    new = publish(published_at=used + timedelta(minutes=1))
    services.implicit_acceptance_sweep(now=used + timedelta(hours=1))
    assert not Acceptance.objects.exists()
    services.implicit_acceptance_sweep(now=new.implicit_acceptance_at + timedelta(hours=1))
    assert not Acceptance.objects.exists()  # the use predates the new deadline


# --- Reminders ---------------------------------------------------------------------------------


def test_pending_selector_lists_only_eligible_users_without_acceptance(version):
    pending = UserFactory()
    accepted = UserFactory()
    _accept(accepted, version)
    UserFactory(consent_withdrawn_at=timezone.now())
    UserFactory(agreement_status="ended", agreement_ended_at=timezone.now())
    UserFactory(erased_at=timezone.now())
    assert list(users_pending_acceptance(version_id=version.pk)) == [pending]
    # it is a query to use as a subquery, never a list
    assert "NOT EXISTS" in str(users_pending_acceptance(version_id=version.pk).query).upper()


def test_reminders_are_not_due_outside_the_window(settings):
    settings.POLICY_REMINDER_DAYS_BEFORE = 2
    version = publish(published_at=_published_at(12, 0))
    deadline = version.implicit_acceptance_at
    assert services.policy_reminders_send(now=deadline - timedelta(days=2, seconds=1))["status"] == "not-due"
    assert services.policy_reminders_send(now=deadline)["status"] == "not-due"
    settings.POLICY_REMINDER_DAYS_BEFORE = 0
    assert services.policy_reminders_send(now=deadline - timedelta(days=1))["status"] == "off"


def test_reminders_go_to_pending_users_once(settings):
    from apps.notifications.models import OutboxEmail

    settings.POLICY_REMINDER_DAYS_BEFORE = 2
    version = publish(published_at=_published_at(12, 0))
    pending = UserFactory()
    UserFactory(blocked_at=timezone.now(), blocked_reference="BR-2026-000001")  # nothing goes to them
    accepted = UserFactory()
    Acceptance.objects.create(
        user=accepted,
        version=version,
        method="signup",
        accepted_at=timezone.now(),
        language="kk",
        channel="web",
    )
    now = version.implicit_acceptance_at - timedelta(days=1)
    assert services.policy_reminders_send(now=now)["status"] == "queued"
    services.policy_reminders_send(now=now)
    keys = list(
        OutboxEmail.objects.filter(topic="policy.reminder", object_id=version.pk).values_list(
            "dedup_key", flat=True
        )
    )
    assert keys == [f"policy-reminder:{version.number}:{pending.pk}"]


def test_sweep_is_one_insert_per_chunk_not_per_user():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    version = publish(published_at=_published_at(12, 0))
    used = version.implicit_acceptance_at + timedelta(minutes=1)
    users = [UserFactory(last_used_at=used) for _ in range(25)]
    span = users[-1].pk - users[0].pk + 1
    with CaptureQueriesContext(connection) as captured:
        result = services.implicit_acceptance_sweep(now=used + timedelta(minutes=1), chunk_size=10)
    inserts = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].lstrip().startswith('INSERT INTO "acceptances_acceptance"')
    ]
    assert result["created"] == 25
    assert len(inserts) == -(-span // 10)  # ceil: one statement per range of ten ids
