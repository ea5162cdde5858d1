from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from apps.accounts import selectors, services
from apps.audit.models import AuditEvent
from apps.notifications.models import OutboxEmail
from apps.notifications.services import outbox_email_queue
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=ZoneInfo("Asia/Almaty"))


def ended(days_ago: float, **kwargs):
    return UserFactory(agreement_status="ended", agreement_ended_at=NOW - timedelta(days=days_ago), **kwargs)


def test_cutoff_is_three_calendar_years_back_and_handles_29_february():
    assert selectors.retention_cutoff(now=NOW) == datetime(
        2023, 11, 26, 12, 0, tzinfo=ZoneInfo("Asia/Almaty")
    )
    leap = datetime(2028, 2, 29, 9, 0, tzinfo=ZoneInfo("Asia/Almaty"))
    assert selectors.retention_cutoff(now=leap) == datetime(2025, 2, 28, 9, 0, tzinfo=ZoneInfo("Asia/Almaty"))


def test_erases_one_day_after_three_years_and_keeps_one_day_before():
    cutoff = selectors.retention_cutoff(now=NOW)
    after = UserFactory(
        agreement_status="ended", agreement_ended_at=cutoff - timedelta(days=1), phone="+77011234567"
    )
    before = UserFactory(agreement_status="ended", agreement_ended_at=cutoff + timedelta(days=1))
    active = UserFactory()

    assert services.retention_erase_expired(now=NOW) == 1

    after.refresh_from_db()
    assert after.email == f"erased-{after.pk}@erased.invalid"
    assert (after.full_name, str(after.phone), after.is_active) == ("", "", False)
    assert after.erased_at is not None and not after.has_usable_password()
    assert after.agreement_ended_at == cutoff - timedelta(days=1)
    before.refresh_from_db()
    active.refresh_from_db()
    assert before.erased_at is None and "@example.kz" in before.email
    assert active.erased_at is None


def test_erased_user_cannot_log_in():
    user = ended(4 * 365, email="gone@example.kz")
    services.retention_erase_expired(now=NOW)
    assert authenticate(username="gone@example.kz", password="correct-horse-battery") is None
    user.refresh_from_db()
    assert authenticate(username=user.email, password="correct-horse-battery") is None


def test_erasure_is_idempotent_audited_once_per_user_and_chunked():
    users = [ended(4 * 365) for _ in range(5)]
    assert services.retention_erase_expired(now=NOW, batch_size=2) == 5
    assert services.retention_erase_expired(now=NOW, batch_size=2) == 0
    events = AuditEvent.objects.filter(action="retention.erase")
    assert sorted(int(e.target_id) for e in events) == sorted(u.pk for u in users)
    assert all(e.actor is None for e in events)


def test_outbox_addresses_of_erased_users_are_anonymised():
    user = ended(4 * 365, email="gone@example.kz")
    outbox_email_queue(
        to=user.email,
        template="password_reset",
        context={"full_name": "X"},
        language="kk",
        dedup_key="a",
        user=user,
    )
    outbox_email_queue(
        to="gone@example.kz",
        template="password_reset",
        context={"full_name": "X"},
        language="kk",
        dedup_key="b",
    )
    keep = outbox_email_queue(
        to="other@example.kz", template="password_reset", context={}, language="kk", dedup_key="c"
    )
    services.retention_erase_expired(now=NOW)
    assert set(OutboxEmail.objects.exclude(pk=keep.pk).values_list("to", flat=True)) == {
        "erased@erased.invalid"
    }
    assert OutboxEmail.objects.get(pk=keep.pk).to == "other@example.kz"


def test_dry_run_lists_who_would_be_erased_and_changes_nothing():
    user = ended(4 * 365, email="due@example.kz")
    ended(10, email="recent@example.kz")
    out = StringIO()
    call_command("erase_expired", "--dry-run", stdout=out)
    assert "due@example.kz" in out.getvalue() and "recent@example.kz" not in out.getvalue()
    user.refresh_from_db()
    assert user.erased_at is None
    call_command("erase_expired", stdout=StringIO())
    user.refresh_from_db()
    assert user.erased_at is not None
