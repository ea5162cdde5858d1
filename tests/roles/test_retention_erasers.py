"""Retention erasure reaches the evidence of acceptances and the withdrawal requests (policy clause 2.4)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.acceptances import services as acceptance_services
from apps.acceptances.models import Acceptance
from apps.accounts.services import retention_erase_expired
from apps.audit.models import AuditEvent
from apps.notifications.models import OutboxEmail
from apps.withdrawals import services as withdrawal_services
from apps.withdrawals.models import TimelineEntry, WithdrawalRequest
from tests.acceptances.conftest import publish
from tests.accounts.factories import StaffFactory, UserFactory
from tests.withdrawals.factories import submit, verified

pytestmark = pytest.mark.django_db


def expire(user):
    """End the user's agreement four years ago."""
    type(user).objects.filter(pk=user.pk).update(
        agreement_status="ended", agreement_ended_at=timezone.now() - timedelta(days=4 * 365)
    )


def test_acceptance_ip_and_user_agent_are_cleared_and_the_rest_of_the_evidence_stays():
    version = publish()
    gone, kept = UserFactory(), UserFactory()
    for user in (gone, kept):
        acceptance_services.acceptance_record_explicit(
            user=user, version=version, language="kk", ip="198.51.100.7", user_agent="Firefox/140"
        )
    before = Acceptance.objects.get(user=gone)
    expire(gone)

    assert retention_erase_expired() == 1

    after = Acceptance.objects.get(user=gone)
    assert (after.ip, after.user_agent) == (None, "")
    assert (after.method, after.version_id, after.accepted_at, after.text_sha256, after.channel) == (
        before.method,
        before.version_id,
        before.accepted_at,
        before.text_sha256,
        before.channel,
    )
    untouched = Acceptance.objects.get(user=kept)
    assert (untouched.ip, untouched.user_agent) == ("198.51.100.7", "Firefox/140")
    assert Acceptance.objects.count() == 2


def test_acceptance_eraser_is_idempotent_and_the_trigger_still_refuses_other_changes():
    version = publish()
    user = UserFactory()
    acceptance_services.acceptance_record_explicit(
        user=user, version=version, language="kk", ip="198.51.100.7", user_agent="UA"
    )
    assert acceptance_services.acceptance_personal_data_erase(user_ids=[user.pk], emails=[]) == 1
    assert acceptance_services.acceptance_personal_data_erase(user_ids=[user.pk], emails=[]) == 0
    with pytest.raises(Exception, match="append-only"), connection.cursor() as cursor:
        cursor.execute("UPDATE acceptances_acceptance SET method = 'implicit' WHERE user_id = %s", [user.pk])


def test_withdrawal_requests_of_the_user_are_anonymised_by_account_and_by_address():
    staff = StaffFactory()
    user = UserFactory(email="gone@example.kz", phone="+77011234567")
    by_account = verified(requester=user, reason="Stop the newsletters, I live at 5 Abai Ave.")
    withdrawal_services.withdrawal_request_review_start(withdrawal=by_account, actor=staff)
    withdrawal_services.withdrawal_request_information_ask(
        withdrawal=by_account, actor=staff, message="Which account number?"
    )
    withdrawal_services.withdrawal_request_information_provide(
        withdrawal=by_account, answer="Account 12345, phone +77011234567"
    )
    by_address = verified(email="gone@example.kz", full_name="Gone Person")
    WithdrawalRequest.objects.filter(pk=by_address.pk).update(requester=None)
    unconfirmed = submit(email="gone@example.kz")
    other = verified(email="stays@example.kz", full_name="Stays Here")
    facts_before = {
        row["pk"]: row
        for row in WithdrawalRequest.objects.values(
            "pk", "status", "reference", "scope", "purposes", "verified_at", "due_at", "created_at"
        )
    }
    timeline_count = TimelineEntry.objects.count()
    expire(user)

    assert retention_erase_expired() == 1

    for withdrawal in (by_account, by_address, unconfirmed):
        withdrawal.refresh_from_db()
        assert (withdrawal.full_name, withdrawal.email, str(withdrawal.phone)) == (
            "",
            "erased@erased.invalid",
            "",
        )
        assert (withdrawal.reason, withdrawal.ip, withdrawal.user_agent) == ("", None, "")
    facts_after = {
        row["pk"]: row
        for row in WithdrawalRequest.objects.values(
            "pk", "status", "reference", "scope", "purposes", "verified_at", "due_at", "created_at"
        )
    }
    assert facts_after == facts_before
    assert TimelineEntry.objects.count() == timeline_count
    answer = TimelineEntry.objects.get(request=by_account, kind="information_provided")
    assert answer.text == ""
    # Staff's questions and notes quote the person too: their words go, the step and its time stay.
    asked = TimelineEntry.objects.get(request=by_account, kind="information_requested")
    assert asked.text == ""
    other.refresh_from_db()
    assert (other.full_name, other.email) == ("Stays Here", "stays@example.kz")
    assert other.reason.startswith("I no longer use the services.")
    leftovers = OutboxEmail.objects.filter(dedup_key__startswith=f"withdrawal:{by_account.pk}:")
    assert leftovers.exists()
    assert all(email.context == {} and email.reply_to == "" for email in leftovers)
    assert not OutboxEmail.objects.filter(to="gone@example.kz").exists()
    assert OutboxEmail.objects.filter(to="stays@example.kz").exists()


def test_withdrawal_eraser_is_idempotent():
    user = UserFactory(email="gone@example.kz")
    withdrawal = verified(requester=user)
    assert withdrawal_services.withdrawal_personal_data_erase(user_ids=[user.pk], emails=[user.email]) == 1
    first = WithdrawalRequest.objects.values().get(pk=withdrawal.pk)
    withdrawal_services.withdrawal_personal_data_erase(user_ids=[user.pk], emails=[user.email])
    second = WithdrawalRequest.objects.values().get(pk=withdrawal.pk)
    first.pop("updated_at"), second.pop("updated_at")
    assert first == second
    assert WithdrawalRequest.objects.count() == 1


# --- Requests of visitors without an account --------------------------------------------------------


def _closed_years_ago(withdrawal, *, years: float, status="granted"):
    moment = timezone.now() - timedelta(days=365 * years)
    if status == "cancelled":
        WithdrawalRequest.objects.filter(pk=withdrawal.pk).update(status="cancelled", cancelled_at=moment)
    else:
        WithdrawalRequest.objects.filter(pk=withdrawal.pk).update(status=status, decided_at=moment)


def test_a_visitors_request_is_erased_three_years_after_it_closed_and_not_before():
    from apps.accounts.tasks import retention_erase

    old_granted = verified(email="old@example.kz", full_name="Old Visitor")
    old_cancelled = verified(email="cancel@example.kz", full_name="Cancel Visitor")
    recent = verified(email="recent@example.kz", full_name="Recent Visitor")
    still_open = verified(email="open@example.kz", full_name="Open Visitor")
    WithdrawalRequest.objects.filter(pk=still_open.pk).update(
        created_at=timezone.now() - timedelta(days=4000)
    )
    account = UserFactory(email="member@example.kz")
    with_account = verified(requester=account)
    _closed_years_ago(old_granted, years=3.1)
    _closed_years_ago(old_cancelled, years=3.1, status="cancelled")
    _closed_years_ago(recent, years=2.9)
    _closed_years_ago(with_account, years=9)

    retention_erase()

    for withdrawal in (old_granted, old_cancelled):
        withdrawal.refresh_from_db()
        assert (withdrawal.email, withdrawal.full_name, str(withdrawal.phone), withdrawal.ip) == (
            "erased@erased.invalid",
            "",
            "",
            None,
        )
        assert withdrawal.reference  # the facts stay
        assert AuditEvent.objects.filter(
            action="retention.erase",
            target_type="withdrawals.withdrawalrequest",
            target_id=str(withdrawal.pk),
        ).exists()
        assert not AuditEvent.objects.filter(target_id=str(withdrawal.pk), ip__isnull=False).exists()
    assert not OutboxEmail.objects.filter(to__in=["old@example.kz", "cancel@example.kz"]).exists()
    for withdrawal, email in ((recent, "recent@example.kz"), (still_open, "open@example.kz")):
        withdrawal.refresh_from_db()
        assert withdrawal.email == email
        assert OutboxEmail.objects.filter(to=email).exists()
    with_account.refresh_from_db()
    assert (
        with_account.email == "member@example.kz"
    )  # erased with its account, three years after the agreement
    assert withdrawal_services.withdrawal_visitor_requests_erase() == 0


def test_a_visitors_erasure_leaves_mail_to_the_same_address_about_other_requests():
    old = verified(email="twice@example.kz")
    newer = verified(email="twice@example.kz")
    _closed_years_ago(old, years=4)

    assert withdrawal_services.withdrawal_visitor_requests_erase() == 1

    assert OutboxEmail.objects.filter(object_id=newer.pk, to="twice@example.kz").exists()
    assert not OutboxEmail.objects.filter(object_id=old.pk, to="twice@example.kz").exists()
    newer.refresh_from_db()
    assert newer.email == "twice@example.kz"


def test_purging_an_unconfirmed_request_leaves_no_address_in_its_email_or_audit_events():
    unconfirmed = submit(email="never@example.kz")
    WithdrawalRequest.objects.filter(pk=unconfirmed.pk).update(
        created_at=timezone.now() - timedelta(days=400)
    )

    assert withdrawal_services.withdrawal_unverified_purge() == 1

    assert not OutboxEmail.objects.filter(to="never@example.kz").exists()
    events = AuditEvent.objects.filter(
        target_type="withdrawals.withdrawalrequest", target_id=str(unconfirmed.pk)
    )
    assert events.exists()
    assert all((e.ip, e.target_label, e.personal_erased_at is not None) == (None, "", True) for e in events)
