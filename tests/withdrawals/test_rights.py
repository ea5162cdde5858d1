"""Granting the other rights and their effects: a correction applied to the account (audited) and passed to
the services holding the field, in full or in part; a blocking and its lifting; an objection; a destruction
that erases the portal's data with the retention erasers, calls every service and sends a closing letter that
reaches the person although their address is erased; a refusal of each type with its reason."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection

from apps.audit.models import AuditEvent
from apps.connectors.models import ServiceCall
from apps.connectors.services import service_call_attempt, service_call_mark_done
from apps.notifications.models import OutboxEmail
from apps.notifications.services import ERASED_EMAIL, outbox_emails_deliver
from apps.withdrawals import services
from apps.withdrawals.models import TimelineEntry, WithdrawalRequest
from tests.accounts.factories import StaffFactory, UserFactory
from tests.connectors.factories import ConnectedServiceFactory
from tests.withdrawals.factories import RequestFactory, in_review, typed_in_review, verified

pytestmark = pytest.mark.django_db

Status = WithdrawalRequest.Status
Kind = TimelineEntry.Kind


@pytest.fixture
def staff():
    return StaffFactory(email="officer@alilo.kz", language="en")


@pytest.fixture
def person():
    return UserFactory(
        email="aigerim@example.kz", full_name="Aigerim Nurlanova", phone="+77011234567", language="en"
    )


def answer_all(request):
    """Let every service call of the request be posted once (the reference services answer)."""
    for call in ServiceCall.objects.filter(request=request).order_by("pk"):
        service_call_attempt(call_pk=call.pk)


def kinds(request, *, visible=None):
    entries = request.timeline.all()
    if visible is not None:
        entries = entries.filter(visible_to_requester=visible)
    return list(entries.values_list("kind", flat=True))


def delivered(email: OutboxEmail):
    """Deliver one outbox row through the test backend and return the message."""
    mail.outbox.clear()
    outbox_emails_deliver(email_ids=[email.pk])
    (message,) = mail.outbox
    return message


# --- correction -----------------------------------------------------------------------------------


CORRECTIONS = {
    "corrections": [
        {"field": "full_name", "current": "Aigerim Nurlanova", "correct": "Aigerim Nurlanqyzy"},
        {"field": "phone", "current": "+77011234567", "correct": "+77017654321"},
    ]
}


def test_a_correction_is_applied_to_the_account_audited_and_passed_to_the_services_holding_it(
    staff, person, reference_services
):
    shop = reference_services(name="Shop", fields=["full_name", "phone"])
    reference_services(name="Maps", fields=["location"])
    request = typed_in_review(staff=staff, request_type="correction", requester=person, details=CORRECTIONS)

    granted = services.correction_request_grant(
        withdrawal=request,
        actor=staff,
        changes={"full_name": "Aigerim Nurlanqyzy", "phone": "+77017654321"},
        ip="198.51.100.7",
    )

    assert granted.status == Status.GRANTED and granted.decided_at is not None
    person.refresh_from_db()
    assert (person.full_name, str(person.phone)) == ("Aigerim Nurlanqyzy", "+77017654321")
    corrected = AuditEvent.objects.filter(action="account.correct").order_by("pk")
    assert [e.personal["old"] for e in corrected] == ["Aigerim Nurlanova", "+77011234567"]
    assert {e.details["reference"] for e in corrected} == {request.reference}
    (call,) = ServiceCall.objects.filter(request=request)
    assert (call.service, call.action) == (shop.service, "correct")
    assert call.changes == [
        {"field": "full_name", "value": "Aigerim Nurlanqyzy", "old": "Aigerim Nurlanova"},
        {"field": "phone", "value": "+77017654321", "old": "+77011234567"},
    ]
    grant = AuditEvent.objects.get(action="withdrawal.grant", target_id=str(request.pk))
    assert grant.details["fields"] == ["full_name", "phone"] and grant.details["partial"] is False
    assert kinds(request, visible=True)[-1] == Kind.GRANTED

    answer_all(request)
    call.refresh_from_db()
    assert call.state == "done"
    answered = request.timeline.get(kind=Kind.SERVICE_ANSWERED)
    assert not answered.visible_to_requester and answered.text == "Shop · correct · done"

    decision = OutboxEmail.objects.get(dedup_key=f"withdrawal:{request.pk}:decision")
    assert decision.template == "correction_granted" and decision.to == "aigerim@example.kz"
    message = delivered(decision)
    assert request.reference in message.subject and "corrected" in message.subject
    assert "Full name: Aigerim Nurlanqyzy" in message.body and "Phone number: +77017654321" in message.body
    assert "Shop" in message.body and "in part" not in message.body


def test_a_partial_correction_needs_a_note_the_requester_reads(staff, person):
    request = typed_in_review(staff=staff, request_type="correction", requester=person, details=CORRECTIONS)

    with pytest.raises(ValidationError) as error:
        services.correction_request_grant(withdrawal=request, actor=staff, changes={"phone": "+77017654321"})
    assert error.value.code == "partial_note"
    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW and not AuditEvent.objects.filter(action="account.correct")

    services.correction_request_grant(
        withdrawal=request,
        actor=staff,
        changes={"phone": "+77017654321"},
        note="Your passport shows the name as it is.",
    )
    person.refresh_from_db()
    assert person.full_name == "Aigerim Nurlanova" and str(person.phone) == "+77017654321"
    granted = request.timeline.get(kind=Kind.GRANTED)
    assert granted.visible_to_requester and granted.text == "Your passport shows the name as it is."
    message = delivered(OutboxEmail.objects.get(template="correction_granted"))
    assert "in part" in message.subject and "Your passport shows the name as it is." in message.body
    assert "Full name" not in message.body


def test_a_new_address_goes_through_the_confirm_link_and_the_old_address_is_told(staff, person):
    request = typed_in_review(
        staff=staff,
        request_type="correction",
        requester=person,
        details={"corrections": [{"field": "email", "correct": "new@example.kz"}]},
    )

    services.correction_request_grant(withdrawal=request, actor=staff, changes={"email": "New@Example.kz"})

    person.refresh_from_db()
    assert person.email == "new@example.kz" and person.email_verified_at is None
    assert OutboxEmail.objects.get(template="account_verify_email").to == "new@example.kz"
    decision = OutboxEmail.objects.get(template="correction_granted")
    assert decision.to == "aigerim@example.kz"
    assert "new@example.kz" in delivered(decision).body


def test_a_correction_refused_by_the_account_grants_nothing(staff, person):
    UserFactory(email="taken@example.kz")
    request = typed_in_review(
        staff=staff,
        request_type="correction",
        requester=person,
        details={"corrections": [{"field": "email", "correct": "taken@example.kz"}]},
    )
    with pytest.raises(ValidationError):
        services.correction_request_grant(
            withdrawal=request, actor=staff, changes={"email": "taken@example.kz"}
        )
    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW
    assert not ServiceCall.objects.exists() and not OutboxEmail.objects.filter(template="correction_granted")


@pytest.mark.parametrize(
    ("changes", "code"),
    [({}, "empty"), ({"phone": "  "}, "value"), ({"orders": "none"}, None)],
)
def test_a_correction_without_a_valid_change_is_refused(staff, person, changes, code):
    request = typed_in_review(staff=staff, request_type="correction", requester=person)
    with pytest.raises(ValidationError) as error:
        services.correction_request_grant(withdrawal=request, actor=staff, changes=changes)
    if code:
        assert error.value.code == code
    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW


def test_a_visitors_correction_goes_to_the_services_only(staff, reference_services):
    shop = reference_services(name="Shop", fields=["postal_address"])
    request = typed_in_review(
        staff=staff,
        request_type="correction",
        requester_email_verified=False,
        details={"corrections": [{"field": "postal_address", "correct": "Almaty, Abai 1"}]},
    )
    services.correction_request_grant(
        withdrawal=request, actor=staff, changes={"postal_address": "Almaty, Abai 1"}
    )
    (call,) = ServiceCall.objects.all()
    assert call.service == shop.service and call.changes == [
        {"field": "postal_address", "value": "Almaty, Abai 1"}
    ]
    assert not AuditEvent.objects.filter(action="account.correct").exists()


def test_each_type_is_granted_only_through_its_own_step(staff, person):
    correction = typed_in_review(staff=staff, request_type="correction", requester=person)
    with pytest.raises(services.TransitionNotAllowed):
        services.withdrawal_request_grant(withdrawal=correction, actor=staff)
    with pytest.raises(services.TransitionNotAllowed):
        services.blocking_request_grant(withdrawal=correction, actor=staff)
    withdrawal = in_review(staff=staff)
    with pytest.raises(services.TransitionNotAllowed):
        services.destruction_request_grant(withdrawal=withdrawal, actor=staff)
    submitted = RequestFactory(request_type="objection", requester=person)
    with pytest.raises(services.TransitionNotAllowed):
        services.objection_request_grant(withdrawal=submitted, actor=staff)
    assert WithdrawalRequest.objects.filter(status=Status.GRANTED).count() == 0


# --- blocking -------------------------------------------------------------------------------------


def test_blocking_marks_the_account_calls_every_service_and_is_lifted_once_with_a_note(
    staff, person, reference_services
):
    shop = reference_services(name="Shop")
    reference_services(name="Archive", actions=["export"])
    request = typed_in_review(staff=staff, request_type="blocking", requester=person)

    services.blocking_request_grant(withdrawal=request, actor=staff)

    person.refresh_from_db()
    assert person.blocked_at is not None and person.blocked_reference == request.reference
    assert [(c.service, c.action) for c in ServiceCall.objects.all()] == [(shop.service, "block")]
    decision = OutboxEmail.objects.get(template="blocking_granted")
    assert "blocked" in delivered(decision).subject
    answer_all(request)
    assert shop.store["aigerim@example.kz"]["blocked"] is True

    with pytest.raises(services.TransitionNotAllowed):
        services.blocking_request_unblock(withdrawal=request, actor=staff, note="  ")
    services.blocking_request_unblock(
        withdrawal=request, actor=staff, note="The court ruled on the dispute.", ip="198.51.100.7"
    )

    person.refresh_from_db()
    assert person.blocked_at is None
    assert sorted(ServiceCall.objects.values_list("action", flat=True)) == ["block", "unblock"]
    lifted = request.timeline.get(kind=Kind.UNBLOCKED)
    assert lifted.visible_to_requester and lifted.text == "The court ruled on the dispute."
    assert AuditEvent.objects.get(action="withdrawal.unblock").details["unblocked"] is True
    message = delivered(OutboxEmail.objects.get(template="blocking_lifted"))
    assert "The court ruled on the dispute." in message.body
    answer_all(request)
    assert shop.store["aigerim@example.kz"]["blocked"] is False
    with pytest.raises(services.TransitionNotAllowed):
        services.blocking_request_unblock(withdrawal=request, actor=staff, note="Again")


def test_only_a_granted_blocking_can_be_unblocked(staff, person):
    request = typed_in_review(staff=staff, request_type="blocking", requester=person)
    with pytest.raises(services.TransitionNotAllowed):
        services.blocking_request_unblock(withdrawal=request, actor=staff, note="Too early")
    correction = typed_in_review(staff=staff, request_type="correction", requester=person)
    services.correction_request_grant(withdrawal=correction, actor=staff, changes={"full_name": "A B"})
    with pytest.raises(services.TransitionNotAllowed):
        services.blocking_request_unblock(withdrawal=correction, actor=staff, note="Wrong type")


# --- objection ------------------------------------------------------------------------------------


def test_an_objection_is_recorded_on_the_account_and_the_requester_told(staff, person):
    request = typed_in_review(staff=staff, request_type="objection", requester=person)
    services.objection_request_grant(withdrawal=request, actor=staff)
    person.refresh_from_db()
    assert person.automated_processing_objection_reference == request.reference
    message = delivered(OutboxEmail.objects.get(template="objection_granted"))
    assert "Art. 19-1" in message.body and "recorded your objection on your account" in message.body


# --- destruction ----------------------------------------------------------------------------------


def database_text() -> str:
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            parts.append(repr(cursor.fetchall()))
    return "\n".join(parts).lower()


def test_destruction_erases_the_portal_data_and_the_closing_letter_reaches_the_person(
    staff, person, reference_services
):
    shop = reference_services(name="Shop")
    other = verified(requester=person, email=person.email)
    request = typed_in_review(staff=staff, request_type="destruction", requester=person, language="ru")

    services.destruction_request_grant(withdrawal=request, actor=staff)

    person.refresh_from_db()
    assert person.erased_at is not None and person.agreement_status == "ended"
    request.refresh_from_db()
    other.refresh_from_db()
    assert request.status == Status.GRANTED and request.reference
    assert request.email == other.email == ERASED_EMAIL and request.full_name == ""
    (call,) = ServiceCall.objects.all()
    assert call.action == "destroy" and json.loads(call.body)["person"]["email"] == "aigerim@example.kz"
    # Held until the service answers: the letter's row is the one place the address is left in the portal.
    letter = OutboxEmail.objects.get(template="destruction_closing")
    assert letter.status == "held" and letter.to == "aigerim@example.kz" and letter.language == "ru"
    assert letter.erase_when_sent
    assert not OutboxEmail.objects.exclude(pk=letter.pk).filter(to="aigerim@example.kz").exists()
    assert AuditEvent.objects.get(action="account.erase").details == {"reference": request.reference}

    answer_all(request)

    assert shop.store["aigerim@example.kz"]["profile"] == {}
    letter.refresh_from_db()
    assert letter.status == "pending"
    (answered,) = letter.context["services"]
    assert answered["name"] == "Shop" and answered["state"] == "done"
    assert answered["kept"][0]["data"] == "orders"
    assert kinds(request, visible=True)[-1] == Kind.CLOSING_LETTER
    call.refresh_from_db()
    assert call.body == "" and call.personal_data_erased_at is not None  # erased once answered
    message = delivered(letter)
    assert message.to == ["aigerim@example.kz"] and request.reference in message.subject
    letter.refresh_from_db()
    assert letter.status == "sent" and letter.to == ERASED_EMAIL and letter.context == {}
    # Nothing in any table holds the person's address, name or phone any more.
    text = database_text()
    assert "aigerim@example.kz" not in text and "nurlanova" not in text and "7011234567" not in text


def test_the_closing_letter_waits_for_every_service_and_names_each_answer(
    staff, person, reference_services, client
):
    reference_services(name="Shop")
    later = reference_services(name="Maps", mode="later")
    down = reference_services(name="Legacy", mode="down")
    request = typed_in_review(staff=staff, request_type="destruction", requester=person)
    services.destruction_request_grant(withdrawal=request, actor=staff)

    answer_all(request)
    assert OutboxEmail.objects.get(template="destruction_closing").status == "held"
    assert later.deliver_callbacks(client) == [200]
    assert OutboxEmail.objects.get(template="destruction_closing").status == "held"
    service_call_mark_done(
        call=ServiceCall.objects.get(service=down.service), actor=staff, note="Their DBA confirmed by phone"
    )

    letter = OutboxEmail.objects.get(template="destruction_closing")
    assert letter.status == "pending"
    assert [(item["name"], item["state"]) for item in letter.context["services"]] == [
        ("Shop", "done"),
        ("Maps", "done"),
        ("Legacy", "done_by_hand"),
    ]
    body = delivered(letter).body
    assert "Legacy: destroyed it (confirmed to our privacy office on" in body
    assert "It keeps orders: Invoices are kept for five years" in body


def test_without_services_the_letter_goes_at_once_and_lists_what_was_kept(staff, person):
    request = typed_in_review(staff=staff, request_type="destruction", requester=person)
    services.destruction_request_grant(withdrawal=request, actor=staff)
    letter = OutboxEmail.objects.get(template="destruction_closing")
    assert letter.status == "pending"
    body = delivered(letter).body
    assert "No other service of Alilo held your data." in body
    assert "Which versions of the privacy policy you accepted" in body
    assert "closed your account" in body


def test_a_letter_by_post_goes_to_the_privacy_mailbox_with_the_address_erased_once_sent(staff):
    request = RequestFactory(
        request_type="destruction",
        channel="post",
        email="",
        requester_email_verified=False,
        postal_address="Almaty, Abai avenue 1, flat 7",
    )
    services.withdrawal_request_review_start(withdrawal=request, actor=staff)
    services.destruction_request_grant(withdrawal=request, actor=staff)
    request.refresh_from_db()
    assert request.postal_address == ""
    letter = OutboxEmail.objects.get(template="destruction_closing")
    assert (
        letter.to == settings.PRIVACY_MAILBOX and letter.context["post_to"] == "Almaty, Abai avenue 1, flat 7"
    )
    assert "Abai avenue 1, flat 7" in delivered(letter).body
    assert "abai avenue 1" not in database_text()


def test_a_visitor_who_proved_the_address_has_their_other_requests_erased_too(staff):
    earlier = verified(email="visitor@example.kz")
    stranger = verified(email="someone@example.kz")
    request = typed_in_review(staff=staff, request_type="destruction", email="visitor@example.kz")
    services.destruction_request_grant(withdrawal=request, actor=staff)
    earlier.refresh_from_db()
    stranger.refresh_from_db()
    assert earlier.email == ERASED_EMAIL and stranger.email == "someone@example.kz"
    assert OutboxEmail.objects.get(template="destruction_closing").context["had_account"] is False


# --- refusal and the receiver -----------------------------------------------------------------------


@pytest.mark.parametrize("request_type", ["correction", "blocking", "destruction", "objection"])
def test_every_type_is_refused_with_its_reason_and_nothing_applied(staff, person, request_type):
    request = typed_in_review(staff=staff, request_type=request_type, requester=person)
    services.withdrawal_request_refuse(
        withdrawal=request, actor=staff, reason="The law requires us to keep it."
    )
    email = OutboxEmail.objects.get(dedup_key=f"withdrawal:{request.pk}:decision")
    assert email.template == "withdrawal_refused" and email.context["request_type"] == request_type
    assert "The law requires us to keep it." in delivered(email).body
    person.refresh_from_db()
    assert person.erased_at is None and person.blocked_at is None
    assert person.automated_processing_objected_at is None and person.full_name == "Aigerim Nurlanova"
    assert not ServiceCall.objects.exists()


def test_the_receiver_is_registered():
    assert "apps.withdrawals.receivers.service_call_finished" in settings.SERVICE_CALL_RECEIVERS


# --- the digest -----------------------------------------------------------------------------------


def test_the_digest_counts_by_type_and_flags_services_that_have_not_answered(staff, settings):
    almaty = ZoneInfo("Asia/Almaty")
    settings.PRIVACY_MAILBOX_LANGUAGE = "en"
    ConnectedServiceFactory(name="Legacy shop", actions=["block"])
    with time_machine.travel(datetime(2026, 11, 23, 10, 0, tzinfo=almaty), tick=False):
        correction = RequestFactory(request_type="correction", email="fix@example.kz")  # due end of 24 Nov
        blocking = typed_in_review(staff=staff, request_type="blocking", email="block@example.kz")
        services.blocking_request_grant(withdrawal=blocking, actor=staff)  # its call never answered
    with time_machine.travel(datetime(2026, 11, 25, 9, 0, tzinfo=almaty), tick=False):
        digest = services.withdrawal_due_digest_send()
    assert [row["reference"] for row in digest.context["overdue"]] == [correction.reference]
    assert digest.context["overdue"][0]["type_label"] == "Correction of my data"
    assert digest.context["by_type"] == [{"label": "Correction of my data", "overdue": 1, "due_soon": 0}]
    (call,) = digest.context["services"]
    assert (call["reference"], call["service"], call["overdue"]) == (blocking.reference, "Legacy shop", True)
    message = delivered(digest)
    assert "connected services not answering" in message.subject
    assert "Correction of my data: 1 overdue, 0 due soon" in message.body
    assert "Legacy shop · Block the person's data · Queued · 0 attempts" in message.body
