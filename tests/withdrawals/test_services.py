"""Workflow transitions, their timeline and audit rows, the effects of granting, and the sweeps."""

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.audit.models import AuditEvent
from apps.notifications.models import OutboxEmail
from apps.withdrawals import selectors, services
from apps.withdrawals.models import TimelineEntry, WithdrawalRequest
from apps.withdrawals.tokens import confirm_token_make
from tests.accounts.factories import StaffFactory, UserFactory
from tests.withdrawals.factories import ThirdPartyFactory, in_review, submit, verified

pytestmark = pytest.mark.django_db

ALMATY = ZoneInfo("Asia/Almaty")
Status = WithdrawalRequest.Status


def actions(withdrawal):
    return list(
        AuditEvent.objects.filter(target_id=str(withdrawal.pk), action__startswith="withdrawal.")
        .order_by("id")
        .values_list("action", flat=True)
    )


def kinds(withdrawal, *, visible=None):
    entries = withdrawal.timeline.all()
    if visible is not None:
        entries = entries.filter(visible_to_requester=visible)
    return list(entries.values_list("kind", flat=True))


def test_visitor_request_waits_unverified_with_a_confirm_email(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        withdrawal = submit(email="Visitor@Example.kz")
    assert withdrawal.status == Status.UNVERIFIED
    assert withdrawal.reference is None and withdrawal.due_at is None
    assert withdrawal.email == "visitor@example.kz"
    email = OutboxEmail.objects.get()
    assert email.template == "withdrawal_confirm" and email.to == "visitor@example.kz"
    assert email.dedup_key == f"withdrawal:{withdrawal.pk}:confirm"
    assert len(callbacks) == 1  # delivery is queued only after commit
    assert actions(withdrawal) == ["withdrawal.submit"]


@time_machine.travel(datetime(2026, 11, 30, 10, 0, tzinfo=ALMATY), tick=False)
def test_confirming_registers_reference_due_date_and_emails():
    withdrawal = submit()
    withdrawal = services.withdrawal_request_confirm(token=confirm_token_make(withdrawal.public_id))
    assert withdrawal.status == Status.SUBMITTED
    assert withdrawal.reference == "WR-2026-000001"
    assert withdrawal.due_at == datetime(2026, 12, 23, tzinfo=ALMATY)
    templates = set(OutboxEmail.objects.values_list("template", flat=True))
    assert templates == {"withdrawal_confirm", "withdrawal_application", "withdrawal_received"}
    assert kinds(withdrawal) == ["submitted", "verified"]
    assert actions(withdrawal) == ["withdrawal.submit", "withdrawal.verify"]
    # Confirming again changes nothing and sends nothing more.
    again = services.withdrawal_request_confirm(token=confirm_token_make(withdrawal.public_id))
    assert again.reference == "WR-2026-000001"
    assert OutboxEmail.objects.count() == 3


def test_references_are_sequential_and_unique_per_year():
    first = verified(email="a@example.kz")
    second = verified(email="b@example.kz")
    year = first.verified_at.astimezone(ALMATY).year
    assert first.reference == f"WR-{year}-000001"
    assert second.reference == f"WR-{year}-000002"


def test_signed_in_requester_is_verified_at_once_with_account_email():
    user = UserFactory(email="member@example.kz", language="ru")
    withdrawal = submit(requester=user, email="someone-else@example.kz")
    assert withdrawal.status == Status.SUBMITTED
    assert withdrawal.email == "member@example.kz"
    assert withdrawal.requester == user and withdrawal.requester_email_verified is True
    assert not OutboxEmail.objects.filter(template="withdrawal_confirm").exists()


def test_confirmed_visitor_request_is_linked_to_the_account_that_confirmed_that_email_before():
    user = UserFactory(email="member@example.kz")
    withdrawal = verified(email="MEMBER@example.kz")
    assert withdrawal.requester == user


# --- Only verified addresses are trusted ----------------------------------------------------------


def test_signed_in_account_with_an_unverified_address_waits_for_the_confirm_link_like_a_visitor():
    user = UserFactory(unverified=True, email="claimed@example.kz", language="ru")
    withdrawal = submit(requester=user, email="ignored@example.kz", language="ru")
    # It has its reference to quote, but is not registered: nothing reaches the privacy mailbox.
    assert withdrawal.status == Status.UNVERIFIED and withdrawal.reference.startswith("WR-")
    assert withdrawal.due_at is None and withdrawal.verified_at is None
    assert withdrawal.requester == user and withdrawal.email == "claimed@example.kz"
    assert kinds(withdrawal) == ["submitted"]
    assert actions(withdrawal) == ["withdrawal.submit"]
    confirm = OutboxEmail.objects.get(template="withdrawal_confirm")
    assert (confirm.to, confirm.language) == ("claimed@example.kz", "ru")
    assert not OutboxEmail.objects.filter(
        template__in=["withdrawal_application", "withdrawal_received"]
    ).exists()

    registered = services.withdrawal_request_confirm(
        token=confirm_token_make(withdrawal.public_id), ip="10.0.0.9"
    )
    # Registered under the same reference. The account stays unconfirmed: whoever used the link holds the
    # address, which says nothing about who holds the account; only the account's own link confirms it.
    assert registered.status == Status.SUBMITTED and registered.reference == withdrawal.reference
    assert registered.requester == user and registered.requester_email_verified is True
    user.refresh_from_db()
    assert user.email_verified_at is None
    application = OutboxEmail.objects.get(template="withdrawal_application")
    assert application.context["requester_email_verified"] is True
    assert application.reply_to == "claimed@example.kz"
    receipt = OutboxEmail.objects.get(template="withdrawal_received")
    assert (receipt.to, receipt.language) == ("claimed@example.kz", "ru")


def test_a_confirmed_visitor_request_is_marked_confirmed():
    withdrawal = submit(email="visitor@example.kz")
    assert withdrawal.requester_email_verified is False  # not yet
    registered = services.withdrawal_request_confirm(token=confirm_token_make(withdrawal.public_id))
    registered.refresh_from_db()
    assert registered.requester_email_verified is True
    application = OutboxEmail.objects.get(template="withdrawal_application")
    assert application.context["requester_email_verified"] is True


def test_confirmed_visitor_request_is_not_linked_to_an_account_that_never_verified_the_address():
    squatter = UserFactory(unverified=True, email="owner@example.kz")
    withdrawal = verified(email="owner@example.kz")
    assert withdrawal.status == Status.SUBMITTED and withdrawal.requester is None
    assert not selectors.withdrawal_requests_of_user(squatter).exists()


def test_confirmed_visitor_request_is_not_linked_to_an_account_verified_after_it_was_filed():
    user = UserFactory(unverified=True, email="late@example.kz")
    with time_machine.travel(datetime(2026, 11, 2, 10, 0, tzinfo=ALMATY), tick=False):
        withdrawal = submit(email="late@example.kz")
    user.email_verified_at = datetime(2026, 11, 2, 11, 0, tzinfo=ALMATY)
    user.save(update_fields=["email_verified_at"])
    with time_machine.travel(datetime(2026, 11, 2, 12, 0, tzinfo=ALMATY), tick=False):
        registered = services.withdrawal_request_confirm(token=confirm_token_make(withdrawal.public_id))
    assert registered.status == Status.SUBMITTED and registered.requester is None


def test_my_privacy_never_lists_a_request_the_account_did_not_file_or_verify():
    user = UserFactory(unverified=True, email="claimed@example.kz")
    filed = verified(requester=user)  # filed signed in and confirmed: the account's own request
    linked_before = verified(email="claimed@example.kz")
    # A request linked to the account by confirmation alone, as confirming once did for any account.
    WithdrawalRequest.objects.filter(pk=linked_before.pk).update(requester=user)
    assert list(selectors.withdrawal_requests_of_user(user)) == [filed]

    # Once the address is confirmed, requests filed from it afterwards are the account's too.
    user.email_verified_at = linked_before.created_at
    user.save(update_fields=["email_verified_at"])
    assert set(selectors.withdrawal_requests_of_user(user)) == {filed, linked_before}


def test_same_submission_token_creates_one_request():
    token = uuid.uuid4()
    first = submit(submission_token=token)
    second = submit(submission_token=token, full_name="Someone Else")
    assert first.pk == second.pk
    assert WithdrawalRequest.objects.count() == 1
    assert OutboxEmail.objects.count() == 1


def test_invalid_data_stores_nothing():
    with pytest.raises(ValidationError):
        submit(scope="partial", purposes=[])
    with pytest.raises(ValidationError):
        submit(scope="all", acknowledgement=False)
    assert not WithdrawalRequest.objects.exists()
    assert not OutboxEmail.objects.exists()


def test_partial_scope_keeps_only_known_purposes_in_clause_order():
    withdrawal = submit(scope="partial", purposes=["contests", "marketing", "contests"])
    assert withdrawal.purposes == ["marketing", "contests"]
    full = submit(scope="all", purposes=["marketing"])
    assert full.purposes == []


def test_database_refuses_a_refusal_without_reason():
    staff = StaffFactory()
    withdrawal = in_review(staff=staff)
    with pytest.raises(IntegrityError), transaction.atomic():
        WithdrawalRequest.objects.filter(pk=withdrawal.pk).update(
            status=Status.REFUSED, decided_at=withdrawal.verified_at
        )


def test_database_refuses_partial_scope_without_purposes():
    withdrawal = submit(scope="partial", purposes=["marketing"])
    with pytest.raises(IntegrityError), transaction.atomic():
        WithdrawalRequest.objects.filter(pk=withdrawal.pk).update(purposes=[])


def test_database_refuses_duplicate_reference():
    first = verified(email="a@example.kz")
    second = verified(email="b@example.kz")
    with pytest.raises(IntegrityError), transaction.atomic():
        WithdrawalRequest.objects.filter(pk=second.pk).update(reference=first.reference)


def test_internal_note_cannot_be_visible_to_the_requester():
    withdrawal = verified()
    with pytest.raises(IntegrityError), transaction.atomic():
        TimelineEntry.objects.create(request=withdrawal, kind="note", visible_to_requester=True, text="x")


# --- transitions -------------------------------------------------------------------------------------


def test_full_workflow_with_information_and_grant():
    staff = StaffFactory()
    withdrawal = verified()
    services.withdrawal_request_review_start(withdrawal=withdrawal, actor=staff)
    assert withdrawal.status == Status.IN_REVIEW
    assert withdrawal.assignee == staff  # whoever starts the review gets it
    services.withdrawal_request_information_ask(withdrawal=withdrawal, actor=staff, message="Your phone?")
    assert withdrawal.status == Status.AWAITING_INFORMATION
    assert withdrawal.pause_started_at is not None
    services.withdrawal_request_information_provide(withdrawal=withdrawal, answer="+7 701 000 0000")
    assert withdrawal.status == Status.IN_REVIEW
    services.withdrawal_request_note_add(withdrawal=withdrawal, actor=staff, text="Checked the CRM.")
    services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff)
    assert withdrawal.status == Status.GRANTED and withdrawal.decided_at
    assert actions(withdrawal) == [
        "withdrawal.submit",
        "withdrawal.verify",
        "withdrawal.review_start",
        "withdrawal.information_request",
        "withdrawal.information_provide",
        "withdrawal.note",
        "withdrawal.grant",
    ]
    assert kinds(withdrawal, visible=True) == [
        "submitted",
        "verified",
        "review_started",
        "information_requested",
        "information_provided",
        "granted",
    ]
    assert set(kinds(withdrawal, visible=False)) == {"assigned", "note"}
    requester_templates = set(
        OutboxEmail.objects.filter(to=withdrawal.email).values_list("template", flat=True)
    )
    assert {"withdrawal_information_requested", "withdrawal_granted"} <= requester_templates


@pytest.mark.parametrize(
    ("status", "step"),
    [
        ("submitted", "ask"),
        ("submitted", "grant"),
        ("submitted", "refuse"),
        ("in_review", "review"),
        ("awaiting_information", "review"),
        ("awaiting_information", "ask"),
        ("granted", "grant"),
        ("granted", "refuse"),
        ("granted", "cancel"),
        ("granted", "assign"),
        ("refused", "grant"),
        ("cancelled", "review"),
        ("cancelled", "grant"),
        ("in_review", "answer"),
    ],
)
def test_illegal_transitions_are_refused_and_change_nothing(status, step):
    staff = StaffFactory()
    withdrawal = verified()
    if status != "submitted":
        services.withdrawal_request_review_start(withdrawal=withdrawal, actor=staff)
    if status == "awaiting_information":
        services.withdrawal_request_information_ask(withdrawal=withdrawal, actor=staff, message="?")
    if status == "granted":
        services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff)
    if status == "refused":
        services.withdrawal_request_refuse(withdrawal=withdrawal, actor=staff, reason="Law requires it.")
    if status == "cancelled":
        services.withdrawal_request_cancel(withdrawal=withdrawal)
    assert withdrawal.status == status
    before = (AuditEvent.objects.count(), TimelineEntry.objects.count(), OutboxEmail.objects.count())
    steps = {
        "ask": lambda: services.withdrawal_request_information_ask(
            withdrawal=withdrawal, actor=staff, message="?"
        ),
        "grant": lambda: services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff),
        "refuse": lambda: services.withdrawal_request_refuse(
            withdrawal=withdrawal, actor=staff, reason="No."
        ),
        "review": lambda: services.withdrawal_request_review_start(withdrawal=withdrawal, actor=staff),
        "cancel": lambda: services.withdrawal_request_cancel(withdrawal=withdrawal),
        "assign": lambda: services.withdrawal_request_assign(
            withdrawal=withdrawal, assignee=StaffFactory(), actor=staff
        ),
        "answer": lambda: services.withdrawal_request_information_provide(withdrawal=withdrawal, answer="x"),
    }
    with pytest.raises(services.TransitionNotAllowed) as error:
        steps[step]()
    assert str(error.value.message)
    withdrawal.refresh_from_db()
    assert withdrawal.status == status
    after = (AuditEvent.objects.count(), TimelineEntry.objects.count(), OutboxEmail.objects.count())
    assert after == before


def test_refusal_needs_a_written_reason_and_the_requester_sees_it():
    staff = StaffFactory()
    withdrawal = in_review(staff=staff)
    with pytest.raises(services.TransitionNotAllowed):
        services.withdrawal_request_refuse(withdrawal=withdrawal, actor=staff, reason="   \n ")
    withdrawal.refresh_from_db()
    assert withdrawal.status == Status.IN_REVIEW
    services.withdrawal_request_refuse(
        withdrawal=withdrawal, actor=staff, reason="An unpaid order obliges us to keep your data."
    )
    assert withdrawal.decision_reason == "An unpaid order obliges us to keep your data."
    visible = selectors.withdrawal_timeline_for_requester(withdrawal)
    assert visible.filter(kind="refused", text__contains="unpaid order").exists()
    email = OutboxEmail.objects.get(template="withdrawal_refused")
    assert email.context["decision_reason"] == "An unpaid order obliges us to keep your data."


def test_assignment_only_to_active_staff_and_idempotent():
    staff = StaffFactory()
    withdrawal = verified()
    with pytest.raises(services.TransitionNotAllowed):
        services.withdrawal_request_assign(withdrawal=withdrawal, assignee=UserFactory(), actor=staff)
    assert services.withdrawal_request_assign(withdrawal=withdrawal, assignee=staff, actor=staff)
    assert not services.withdrawal_request_assign(withdrawal=withdrawal, assignee=staff, actor=staff)
    assert actions(withdrawal).count("withdrawal.assign") == 1
    entry = withdrawal.timeline.get(kind="assigned")
    assert not entry.visible_to_requester


def test_internal_notes_never_reach_the_requester():
    staff = StaffFactory()
    withdrawal = verified()
    services.withdrawal_request_note_add(withdrawal=withdrawal, actor=staff, text="Secret: VIP customer")
    assert (
        not selectors.withdrawal_timeline_for_requester(withdrawal).filter(text__contains="Secret").exists()
    )
    assert not OutboxEmail.objects.filter(context__icontains="Secret").exists()


def test_waiting_for_information_never_moves_the_statutory_due_date():
    """Law 94-V Art. 8(7) has no pause: received 1 June 2026, asked 3 June, answered 10 June; the term still
    ends with 22 June (it would have been 29 June had the wait been added)."""
    staff = StaffFactory()
    with time_machine.travel(datetime(2026, 6, 1, 10, 0, tzinfo=ALMATY), tick=False):
        withdrawal = in_review(staff=staff)
    assert withdrawal.due_at == datetime(2026, 6, 23, tzinfo=ALMATY)
    with time_machine.travel(datetime(2026, 6, 3, 15, 0, tzinfo=ALMATY), tick=False):
        services.withdrawal_request_information_ask(
            withdrawal=withdrawal, actor=staff, message="Which phone?"
        )
        state = selectors.withdrawal_due_state(withdrawal)
        assert state.waiting and state.days_left == 14 and not state.wait_runs_into_due
    assert withdrawal.pause_started_at == datetime(2026, 6, 3, 15, 0, tzinfo=ALMATY)
    with time_machine.travel(datetime(2026, 6, 10, 9, 0, tzinfo=ALMATY), tick=False):
        services.withdrawal_request_information_provide(withdrawal=withdrawal, answer="+7 701 111 2233")
    withdrawal.refresh_from_db()
    assert withdrawal.due_at == datetime(2026, 6, 23, tzinfo=ALMATY)
    assert selectors.withdrawal_last_day(withdrawal) == date(2026, 6, 22)
    assert withdrawal.pause_started_at is None and withdrawal.status == "in_review"
    answered = AuditEvent.objects.get(action="withdrawal.information_provide")
    assert answered.details["asked_at"].startswith("2026-06-03T")
    update = OutboxEmail.objects.get(template="withdrawal_staff_update")
    assert update.to == staff.email and update.reply_to == withdrawal.email


def test_a_visitor_who_confirms_two_days_later_keeps_the_term_from_the_day_the_form_arrived():
    with time_machine.travel(datetime(2026, 6, 1, 22, 30, tzinfo=ALMATY), tick=False):
        withdrawal = submit(email="late.confirm@example.kz")
    with time_machine.travel(datetime(2026, 6, 3, 8, 0, tzinfo=ALMATY), tick=False):
        registered = services.withdrawal_request_confirm(token=confirm_token_make(withdrawal.public_id))
    assert registered.received_at == datetime(2026, 6, 1, 22, 30, tzinfo=ALMATY)
    assert registered.verified_at == datetime(2026, 6, 3, 8, 0, tzinfo=ALMATY)
    assert registered.due_at == datetime(2026, 6, 23, tzinfo=ALMATY)  # 24:00 Almaty of 22 June


def test_a_wait_that_runs_into_the_due_date_is_flagged():
    staff = StaffFactory()
    with time_machine.travel(datetime(2026, 6, 1, 10, 0, tzinfo=ALMATY), tick=False):
        withdrawal = in_review(staff=staff)
    with time_machine.travel(datetime(2026, 6, 19, 10, 0, tzinfo=ALMATY), tick=False):  # 19 and 22 left
        services.withdrawal_request_information_ask(
            withdrawal=withdrawal, actor=staff, message="Which phone?"
        )
        assert selectors.withdrawal_due_state(withdrawal).wait_runs_into_due
        assert list(selectors.withdrawal_requests_waiting_near_due()) == [withdrawal]
        figures = selectors.withdrawal_dashboard_figures()
        assert figures.waiting_near_due == 1


def test_empty_answer_is_refused():
    staff = StaffFactory()
    withdrawal = in_review(staff=staff)
    services.withdrawal_request_information_ask(withdrawal=withdrawal, actor=staff, message="?")
    with pytest.raises(ValidationError):
        services.withdrawal_request_information_provide(withdrawal=withdrawal, answer="  ")
    withdrawal.refresh_from_db()
    assert withdrawal.status == Status.AWAITING_INFORMATION


def test_requester_can_cancel_before_decision_and_staff_are_told():
    withdrawal = verified()
    services.withdrawal_request_cancel(withdrawal=withdrawal, ip="203.0.113.9")
    assert withdrawal.status == Status.CANCELLED and withdrawal.cancelled_at
    assert OutboxEmail.objects.filter(template="withdrawal_staff_update", to="info@alilo.kz").exists()
    assert "withdrawal.cancel" in actions(withdrawal)


# --- effects of granting -----------------------------------------------------------------------------


def test_granting_full_withdrawal_ends_agreement_and_tells_active_third_parties():
    staff = StaffFactory()
    user = UserFactory(email="member@example.kz")
    active = ThirdPartyFactory(name="Kaspi Partner", contact_email="dpo@kaspi-partner.kz", language="ru")
    ThirdPartyFactory(name="Old Partner", active=False)
    withdrawal = in_review(staff=staff, requester=user)
    services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff)
    user.refresh_from_db()
    assert user.consent_withdrawn_at == withdrawal.decided_at
    assert user.agreement_status == "ended" and user.agreement_ended_at == withdrawal.decided_at
    party_emails = OutboxEmail.objects.filter(template="withdrawal_third_party")
    assert list(party_emails.values_list("to", "language", "reply_to")) == [
        ("dpo@kaspi-partner.kz", "ru", "info@alilo.kz")
    ]
    assert party_emails.get().dedup_key == f"withdrawal:{withdrawal.pk}:third-party:{active.pk}"
    assert withdrawal.timeline.get(kind="third_parties_notified").text == "Kaspi Partner"
    assert not withdrawal.timeline.get(kind="third_parties_notified").visible_to_requester
    account_actions = set(
        AuditEvent.objects.filter(target_id=str(user.pk), target_type="accounts.user").values_list(
            "action", flat=True
        )
    )
    assert {"account.consent_withdrawn", "account.agreement_ended"} <= account_actions


def test_granting_matches_the_account_by_email_when_the_request_has_none():
    staff = StaffFactory()
    withdrawal = in_review(staff=staff, email="later@example.kz")
    user = UserFactory(email="Later@Example.kz".lower())
    assert withdrawal.requester is None
    services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff)
    user.refresh_from_db()
    assert user.agreement_status == "ended"


def test_granting_partial_withdrawal_keeps_the_agreement():
    staff = StaffFactory()
    user = UserFactory()
    ThirdPartyFactory()
    withdrawal = in_review(staff=staff, requester=user, scope="partial", purposes=["marketing", "contests"])
    services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff)
    user.refresh_from_db()
    assert user.agreement_status == "active" and user.consent_withdrawn_at is None
    party_email = OutboxEmail.objects.get(template="withdrawal_third_party")
    assert party_email.context["scope"] == "partial"
    assert len(party_email.context["purposes"]) == 2


def test_granting_without_account_or_third_parties_still_decides():
    staff = StaffFactory()
    withdrawal = in_review(staff=staff)
    services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff)
    assert withdrawal.status == Status.GRANTED
    assert not withdrawal.timeline.filter(kind="third_parties_notified").exists()


def test_granting_a_second_request_of_an_ended_account_keeps_the_first_end_time():
    staff = StaffFactory()
    user = UserFactory()
    first = in_review(staff=staff, requester=user)
    services.withdrawal_request_grant(withdrawal=first, actor=staff)
    user.refresh_from_db()
    ended = user.agreement_ended_at
    second = in_review(staff=staff, requester=user)
    services.withdrawal_request_grant(withdrawal=second, actor=staff)
    user.refresh_from_db()
    assert user.agreement_ended_at == ended


# --- sweeps ------------------------------------------------------------------------------------------


def test_unverified_requests_are_deleted_after_seven_days():
    with time_machine.travel(datetime(2026, 11, 2, 10, 0, tzinfo=ALMATY), tick=False):
        stale = submit(email="old@example.kz")
        kept = verified(email="kept@example.kz")
    with time_machine.travel(datetime(2026, 11, 6, 10, 0, tzinfo=ALMATY), tick=False):
        recent = submit(email="new@example.kz")
    with time_machine.travel(datetime(2026, 11, 9, 10, 30, tzinfo=ALMATY), tick=False):
        assert services.withdrawal_unverified_purge() == 1
    remaining = set(WithdrawalRequest.objects.values_list("pk", flat=True))
    assert remaining == {kept.pk, recent.pk}
    assert stale.pk not in remaining
    assert AuditEvent.objects.filter(action="withdrawal.purge_unverified", details__count=1).exists()


def test_tasks_call_the_services():
    from apps.withdrawals import tasks

    assert tasks.purge_unverified() == 0
    assert tasks.send_due_digest() is False


def test_due_digest_lists_overdue_and_nearly_due_and_skips_empty_days():
    staff = StaffFactory()
    with time_machine.travel(datetime(2026, 11, 2, 10, 0, tzinfo=ALMATY), tick=False):
        overdue = verified(email="a@example.kz")  # due end of 23 Nov
    with time_machine.travel(datetime(2026, 11, 4, 10, 0, tzinfo=ALMATY), tick=False):
        soon = in_review(staff=staff, email="b@example.kz")  # due end of 25 Nov
        paused = in_review(staff=staff, email="c@example.kz")
        services.withdrawal_request_information_ask(withdrawal=paused, actor=staff, message="?")
    with time_machine.travel(datetime(2026, 11, 20, 10, 0, tzinfo=ALMATY), tick=False):
        later = verified(email="d@example.kz")
    with time_machine.travel(datetime(2026, 11, 10, 9, 0, tzinfo=ALMATY), tick=False):
        assert services.withdrawal_due_digest_send() is None  # nothing due yet
    with time_machine.travel(datetime(2026, 11, 24, 9, 0, tzinfo=ALMATY), tick=False):
        digest = services.withdrawal_due_digest_send()
        assert services.withdrawal_due_digest_send() is None  # once a day
    assert digest.to == "info@alilo.kz" and digest.language == "kk"
    assert [row["reference"] for row in digest.context["overdue"]] == [overdue.reference]
    # Waiting for the requester stops nothing: that request is due too, and flagged as waiting.
    due_soon = {row["reference"]: row for row in digest.context["due_soon"]}
    assert set(due_soon) == {soon.reference, paused.reference}
    assert due_soon[paused.reference]["waiting_since"] and not due_soon[soon.reference]["waiting_since"]
    listed = {row["reference"] for row in digest.context["overdue"] + digest.context["due_soon"]}
    assert later.reference not in listed


def test_signed_in_request_is_registered_with_its_timeline_audit_and_emails():
    user = UserFactory()
    withdrawal = submit(requester=user)
    stored = WithdrawalRequest.objects.get(pk=withdrawal.pk)
    assert stored.verified_at == withdrawal.verified_at and stored.status == "submitted"
    assert kinds(stored) == ["submitted", "verified"]
    assert actions(stored) == ["withdrawal.submit", "withdrawal.verify"]
    received = OutboxEmail.objects.get(template="withdrawal_received")
    assert received.dedup_key == f"withdrawal:{stored.pk}:received"
    assert (received.topic, received.object_id) == ("withdrawal", stored.pk)
    assert received.context["reference"] == stored.reference


def test_a_form_sent_twice_while_signed_in_takes_no_second_number():
    user = UserFactory()
    token = uuid.uuid4()
    first = submit(requester=user, submission_token=token)
    again = submit(requester=user, submission_token=token, full_name="Someone Else")
    following = submit(requester=user, reason="A second, different request.")
    assert again.pk == first.pk and again.full_name == first.full_name
    number = int(first.reference.rsplit("-", 1)[1])
    assert following.reference == f"{first.reference.rsplit('-', 1)[0]}-{number + 1:06d}"
    assert OutboxEmail.objects.filter(template="withdrawal_received").count() == 2


def _double_click():
    """Submit the same form twice: the second copy meets the first one's unique submission token."""
    user = UserFactory()
    token = uuid.uuid4()
    first = submit(requester=user, submission_token=token)
    second = submit(requester=user, submission_token=token, full_name="Someone Else")
    assert second.pk == first.pk and second.full_name == first.full_name
    assert WithdrawalRequest.objects.filter(submission_token=token).count() == 1
    assert OutboxEmail.objects.filter(template="withdrawal_received").count() == 1
    assert TimelineEntry.objects.filter(request=first).count() == 2


def test_a_double_click_inside_a_transaction_stores_one_request():
    _double_click()


@pytest.mark.django_db(transaction=True)
def test_a_double_click_stores_one_request():
    _double_click()
