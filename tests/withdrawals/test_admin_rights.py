"""The request admin for every type: the list shows and filters the type, the change page shows what the
person asks and each connected service's state, and the grant asks for what its type needs (the corrections
to apply, the reference typed before a destruction, a note to unblock)."""

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.connectors.models import ServiceCall
from apps.connectors.services import service_call_attempt
from apps.notifications.models import OutboxEmail
from apps.withdrawals.models import ThirdPartyNotice, WithdrawalRequest
from tests.accounts.factories import StaffFactory, UserFactory
from tests.withdrawals.factories import (
    RequestFactory,
    ThirdPartyFactory,
    access_request,
    in_review,
    typed_in_review,
    verified,
)

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/withdrawals/withdrawalrequest/"


def change_url(request):
    return reverse("admin:withdrawals_withdrawalrequest_change", args=[request.pk])


def step_url(request, step):
    return reverse("admin:withdrawals_withdrawalrequest_workflow", args=[request.pk, step])


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def staff(client):
    user = StaffFactory(email="officer@alilo.kz", full_name="Privacy Officer", language="en")
    client.force_login(user)
    return user


@pytest.fixture
def person():
    return UserFactory(email="aigerim@example.kz", full_name="Aigerim Nurlanova", phone="+77011234567")


def test_the_list_shows_and_filters_each_type(client, staff):
    withdrawal = verified(email="w@example.kz")
    correction = RequestFactory(request_type="correction", email="c@example.kz")
    destruction = RequestFactory(request_type="destruction", email="d@example.kz")
    page = client.get(CHANGELIST, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Correction of my data" in page and "Destruction of my data" in page
    assert correction.reference.startswith("CR-") and destruction.reference.startswith("DR-")
    filtered = client.get(CHANGELIST + "?request_type__exact=correction").content.decode()
    assert correction.reference in filtered
    assert destruction.reference not in filtered and withdrawal.reference not in filtered
    assert "Requests of data subjects" in client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_the_change_page_shows_the_corrections_asked_for_and_prefills_the_grant(client, staff, person):
    request = typed_in_review(
        staff=staff,
        request_type="correction",
        requester=person,
        details={
            "corrections": [
                {"field": "full_name", "current": "Aigerim Nurlanova", "correct": "Aigerim Nurlanqyzy"},
                {"field": "other", "current": "Delivery city", "correct": "Astana, not Almaty"},
            ],
        },
    )
    page = client.get(change_url(request), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "What it should be" in page and "Aigerim Nurlanqyzy" in page
    assert "Astana, not Almaty" in page and "Other data" in page and "Delivery city" in page
    assert 'name="apply_full_name" id="id_apply_full_name" checked' in page
    assert 'name="value_full_name" id="id_value_full_name" value="Aigerim Nurlanqyzy"' in page
    assert 'name="apply_phone" id="id_apply_phone">' in page
    assert f"The effects apply to account #{person.pk}." in page
    assert "Grant the withdrawal" not in page and "Grant the correction" in page
    # A withdrawal's scope and acknowledgement mean nothing here.
    assert "field-scope" not in page and "field-acknowledgement" not in page
    withdrawal = in_review(staff=staff, email="w@example.kz")
    page = client.get(change_url(withdrawal), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "field-scope" in page and "field-acknowledgement" in page


def test_the_change_page_shows_the_grounds_and_the_decision_objected_to(client, staff, person):
    blocking = typed_in_review(
        staff=staff, request_type="blocking", requester=person, details={"grounds": "inaccurate"}
    )
    page = client.get(change_url(blocking), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<strong>Why</strong>: My data is inaccurate" in page
    objection = typed_in_review(
        staff=staff, request_type="objection", requester=person, details={"decision": "Personal prices"}
    )
    page = client.get(change_url(objection), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<strong>Decision or processing</strong>: Personal prices" in page


def test_granting_a_correction_in_the_admin_applies_what_is_ticked(client, staff, person):
    request = typed_in_review(
        staff=staff,
        request_type="correction",
        requester=person,
        details={"corrections": [{"field": "full_name", "correct": "Aigerim Nurlanqyzy"}]},
    )
    # Nothing ticked: nothing granted.
    response = client.post(step_url(request, "grant"), {"note": ""}, follow=True)
    assert "Tick at least one correction to apply, or refuse the request." in messages_of(response)
    # A phone that is not one: refused with the field's message.
    response = client.post(
        step_url(request, "grant"),
        {"apply_phone": "on", "value_phone": "12", "apply_full_name": "on"},
        follow=True,
    )
    assert "Enter a valid phone number, for example +7 701 234 5678." in messages_of(response)
    # Only the phone, though the name was asked for: a partial grant needs its note.
    response = client.post(
        step_url(request, "grant"), {"apply_phone": "on", "value_phone": "+7 701 765 4321"}, follow=True
    )
    assert "Say what was not changed and why; the requester reads it." in messages_of(response)
    assert WithdrawalRequest.objects.get(pk=request.pk).status == "in_review"

    response = client.post(
        step_url(request, "grant"),
        {
            "apply_full_name": "on",
            "value_full_name": "Aigerim Nurlanqyzy",
            "apply_phone": "on",
            "value_phone": "+7 701 765 4321",
        },
        follow=True,
    )
    assert any(message.startswith("Correction granted.") for message in messages_of(response))
    person.refresh_from_db()
    assert (person.full_name, str(person.phone)) == ("Aigerim Nurlanqyzy", "+77017654321")
    assert AuditEvent.objects.filter(action="account.correct", actor=staff).count() == 2
    assert WithdrawalRequest.objects.get(pk=request.pk).status == "granted"


def test_a_destruction_needs_the_reference_typed(client, staff, person):
    request = typed_in_review(staff=staff, request_type="destruction", requester=person)
    page = client.get(change_url(request), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "This cannot be undone." in page and "Destroy the data" in page

    response = client.post(
        step_url(request, "grant"), {"confirm": "on", "reference": "DR-2000-000001"}, follow=True
    )
    assert (
        "The reference typed is not this request&#x27;s; nothing was destroyed." in response.content.decode()
    )
    person.refresh_from_db()
    assert person.erased_at is None

    response = client.post(
        step_url(request, "grant"), {"confirm": "on", "reference": request.reference.lower()}, follow=True
    )
    assert any(message.startswith("Destruction granted.") for message in messages_of(response))
    person.refresh_from_db()
    assert person.erased_at is not None
    letter = OutboxEmail.objects.get(template="destruction_closing")
    assert letter.status == "pending"  # no connected service: it goes at once


def test_blocking_then_unblocking_from_the_change_page(client, staff, person, reference_services):
    shop = reference_services(name="Shop")
    request = typed_in_review(staff=staff, request_type="blocking", requester=person)
    page = client.get(change_url(request), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "I have checked the request; block the data." in page and step_url(request, "unblock") not in page

    response = client.post(step_url(request, "grant"), {"confirm": "on"}, follow=True)
    assert any(message.startswith("Blocking granted.") for message in messages_of(response))
    page = response.content.decode()
    assert "Its data is blocked since" in page and step_url(request, "unblock") in page
    # The services block: the call, its state and attempts, before and after the service answers.
    assert "Shop" in page and "Block the person&#x27;s data" in page and "Queued" in page
    call = ServiceCall.objects.get()
    mark_done = reverse("admin:connectors_servicecall_mark_done", args=[call.pk])
    assert f'<a href="{mark_done}">Mark done by hand</a>' in page
    assert client.get(mark_done).status_code == 200
    service_call_attempt(call_pk=call.pk)
    page = client.get(change_url(request), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'class="wd-call-row wd-call-done"' in page and mark_done not in page
    assert shop.store["aigerim@example.kz"]["blocked"] is True

    response = client.post(step_url(request, "unblock"), {"note": ""}, follow=True)
    assert "Say why the blocking is lifted; the requester reads it." in messages_of(response)
    response = client.post(step_url(request, "unblock"), {"note": "The dispute is settled."}, follow=True)
    assert any(message.startswith("Blocking lifted.") for message in messages_of(response))
    person.refresh_from_db()
    assert person.blocked_at is None
    assert step_url(request, "unblock") not in response.content.decode()


def test_an_objection_is_granted_with_its_tick(client, staff, person):
    request = typed_in_review(staff=staff, request_type="objection", requester=person)
    response = client.post(step_url(request, "grant"), {}, follow=True)
    assert "Tick the box to confirm that the request should be granted." in messages_of(response)
    client.post(step_url(request, "grant"), {"confirm": "on"})
    person.refresh_from_db()
    assert person.automated_processing_objected_at is not None


def test_refusing_another_type_says_so_and_its_help_names_the_type(client, staff, person):
    request = typed_in_review(staff=staff, request_type="destruction", requester=person)
    page = client.get(change_url(request), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "naming the law that requires Alilo to keep it" in page and "Refuse the request" in page
    response = client.post(
        step_url(request, "refuse"), {"reason": "The Tax Code requires five years."}, follow=True
    )
    assert "Request refused. The requester is being emailed the reason." in messages_of(response)
    assert (
        OutboxEmail.objects.get(dedup_key=f"withdrawal:{request.pk}:decision").template
        == "withdrawal_refused"
    )


def test_an_access_request_is_granted_with_its_own_tick_and_tells_no_third_party(client, staff):
    ThirdPartyFactory(name="Courier LLP")
    request = access_request(email="aigerim@example.kz")
    client.post(step_url(request, "review"))
    page = client.get(change_url(request), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "release the package." in page and "Grant access and release the package" in page
    response = client.post(step_url(request, "grant"), {"confirm": "on"}, follow=True)
    assert any(message.startswith("Access granted.") for message in messages_of(response))
    assert WithdrawalRequest.objects.get(pk=request.pk).status == "granted"
    assert not ThirdPartyNotice.objects.exists()
    assert not OutboxEmail.objects.filter(template="withdrawal_third_party").exists()


def test_the_services_filter_lists_requests_with_a_call_unanswered_near_the_due_date(
    client, staff, person, reference_services, settings
):
    reference_services(name="Legacy", mode="down")
    blocked = typed_in_review(staff=staff, request_type="blocking", requester=person)
    client.post(step_url(blocked, "grant"), {"confirm": "on"})
    service_call_attempt(call_pk=ServiceCall.objects.get().pk)
    quiet = RequestFactory(request_type="objection", email="quiet@example.kz")
    settings.SERVICE_CALL_FLAG_HOURS_BEFORE_DUE = 24 * 30
    page = client.get(CHANGELIST + "?services=unanswered").content.decode()
    assert blocked.reference in page and quiet.reference not in page
