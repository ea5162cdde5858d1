"""What a closed or doubtful request may not do: a request cancelled or refused stops its calls to the
connected services and erases what they sent; a second blocking cannot lift the first; an application
registered for an account answers only to that account's address; a staff member's own package holds no
mail about other people; a form sent back with errors does not use up the address's allowance."""

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import translation

from apps.connectors.models import ServiceCall
from apps.notifications.models import OutboxEmail
from apps.withdrawals import services
from apps.withdrawals.models import AccessPackage, WithdrawalRequest
from tests.accounts.factories import StaffFactory, UserFactory
from tests.withdrawals.factories import access_request, typed_in_review

pytestmark = pytest.mark.django_db

ALMATY = ZoneInfo("Asia/Almaty")


@pytest.fixture
def staff():
    return StaffFactory(email="officer@alilo.kz", language="en")


@pytest.mark.parametrize("close", ["cancel", "refuse"])
def test_a_closed_access_request_stops_its_calls_and_erases_what_came(reference_services, staff, close):
    answering = reference_services(name="Orders", mode="now")
    silent = reference_services(name="Maps", mode="down")
    withdrawal = access_request(email="aigerim@example.kz")
    calls = {call.service_id: call for call in ServiceCall.objects.filter(request=withdrawal)}
    from apps.connectors.services import service_call_attempt

    service_call_attempt(call_pk=calls[answering.service.pk].pk)
    service_call_attempt(call_pk=calls[silent.service.pk].pk)
    assert ServiceCall.objects.get(pk=calls[answering.service.pk].pk).result
    if close == "cancel":
        services.withdrawal_request_cancel(withdrawal=withdrawal)
    else:
        services.withdrawal_request_review_start(withdrawal=withdrawal, actor=staff)
        services.withdrawal_request_refuse(withdrawal=withdrawal, actor=staff, reason="Not the holder.")
    stopped = ServiceCall.objects.get(pk=calls[silent.service.pk].pk)
    assert stopped.state == ServiceCall.State.CANCELLED and stopped.is_final
    # The sweep and a late callback leave a stopped call alone.
    assert service_call_attempt(call_pk=stopped.pk) is None
    assert ServiceCall.objects.get(pk=stopped.pk).attempts == stopped.attempts
    answered = ServiceCall.objects.get(pk=calls[answering.service.pk].pk)
    assert answered.result == {} and answered.personal_data_erased_at is not None
    assert (
        not AccessPackage.objects.filter(request=withdrawal, erased_at__isnull=True).exclude(html="").exists()
    )


def test_a_second_blocking_cannot_lift_the_first(staff):
    person = UserFactory(email="aigerim@example.kz", language="en")
    first = typed_in_review(staff=staff, request_type="blocking", requester=person)
    services.blocking_request_grant(withdrawal=first, actor=staff)
    second = typed_in_review(staff=staff, request_type="blocking", requester=person)
    services.blocking_request_grant(withdrawal=second, actor=staff)
    with translation.override("en"), pytest.raises(services.TransitionNotAllowed, match=first.reference):
        services.blocking_request_unblock(withdrawal=second, actor=staff, note="Resolved.")
    person.refresh_from_db()
    assert person.blocked_at is not None and person.blocked_reference == first.reference
    services.blocking_request_unblock(withdrawal=first, actor=staff, note="Resolved.")
    person.refresh_from_db()
    assert person.blocked_at is None


def test_an_application_for_an_account_must_give_that_accounts_address(staff):
    account = UserFactory(email="owner@example.kz")
    data = {
        "channel": "post",
        "received_at": datetime(2026, 11, 27, 12, 0, tzinfo=ALMATY),
        "full_name": "Dana Seitkali",
        "email": "someone.else@example.kz",
        "phone": "",
        "postal_address": "",
        "scope": "",
        "purposes": [],
        "reason": "",
        "acknowledgement": False,
        "language": "kk",
        "request_type": "access",
        "account": account,
    }
    with pytest.raises(ValidationError) as error:
        services.withdrawal_request_register_received(actor=staff, **data)
    assert error.value.code == "account_email"
    assert not WithdrawalRequest.objects.exists()
    withdrawal = services.withdrawal_request_register_received(
        actor=staff, **{**data, "email": "Owner@example.kz"}
    )
    assert withdrawal.requester == account


def test_a_staff_members_own_package_holds_no_mail_about_other_peoples_requests(staff):
    others = typed_in_review(staff=staff, request_type="objection")
    boss = StaffFactory(email="boss@alilo.kz")
    services.withdrawal_request_assign(withdrawal=others, assignee=staff, actor=boss)
    services.withdrawal_request_cancel(withdrawal=others)  # the assignee is told by email
    assert OutboxEmail.objects.filter(user=staff, template="withdrawal_staff_update").exists()
    own = access_request(requester=staff, email=staff.email)
    document = AccessPackage.objects.get(request=own).document
    templates = {row["kind"] for row in document["portal"]["emails"]}
    assert "withdrawal_staff_update" not in templates


def test_a_form_sent_back_with_errors_does_not_use_up_the_addresss_allowance(settings):
    settings.WITHDRAWAL_RATE_PER_EMAIL = "1/h"
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    base = {"full_name": "Aigerim Nurlanova", "email": "aigerim@example.kz", "reason": "Please."}
    for _attempt in range(3):
        response = client.post(
            "/privacy/requests/objection/", {**base, "submission_token": str(uuid.uuid4())}
        )
        assert response.status_code == 200  # the decision is missing: the form comes back
    response = client.post(
        "/privacy/requests/objection/",
        {**base, "decision": "Prices I am shown.", "submission_token": str(uuid.uuid4())},
    )
    assert response.status_code == 302
    response = client.post(
        "/privacy/requests/access/", {**base, "question": "", "submission_token": str(uuid.uuid4())}
    )
    assert response.status_code == 429
    assert WithdrawalRequest.objects.count() == 1


def test_my_privacy_says_while_the_data_is_blocked_and_after_an_objection(staff):
    person = UserFactory(email="aigerim@example.kz", language="en")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(person)
    page = client.get(reverse("acceptances:my_privacy")).content.decode()
    assert "do not process your personal data" not in page
    blocking = typed_in_review(staff=staff, request_type="blocking", requester=person)
    services.blocking_request_grant(withdrawal=blocking, actor=staff)
    objection = typed_in_review(staff=staff, request_type="objection", requester=person)
    services.objection_request_grant(withdrawal=objection, actor=staff)
    page = client.get(reverse("acceptances:my_privacy")).content.decode()
    assert f"it is blocked at your request {blocking.reference}" in page
    assert f"(your objection {objection.reference})" in page
    services.blocking_request_unblock(withdrawal=blocking, actor=staff, note="Resolved.")
    page = client.get(reverse("acceptances:my_privacy")).content.decode()
    assert "do not process your personal data" not in page


def test_rebuilding_asks_a_service_registered_since_and_its_answer_builds_the_package(
    reference_services, staff
):
    from apps.connectors.services import service_call_attempt

    first = reference_services(name="Orders", mode="now")
    withdrawal = access_request(email="aigerim@example.kz")
    service_call_attempt(call_pk=ServiceCall.objects.get(request=withdrawal).pk)
    built = AccessPackage.objects.get(request=withdrawal)
    assert [row["name"] for row in built.document["services"]] == [first.service.name]
    later = reference_services(name="Maps", mode="now")
    services.withdrawal_request_review_start(withdrawal=withdrawal, actor=staff)
    with (
        translation.override("en"),
        pytest.raises(services.TransitionNotAllowed, match="1 service registered"),
    ):
        services.access_package_rebuild(withdrawal=withdrawal, actor=staff)
    call = ServiceCall.objects.get(request=withdrawal, service=later.service)
    service_call_attempt(call_pk=call.pk)
    rebuilt = AccessPackage.objects.get(request=withdrawal)
    assert sorted(row["name"] for row in rebuilt.document["services"]) == ["Maps", "Orders"]
