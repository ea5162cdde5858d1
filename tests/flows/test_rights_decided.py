"""Deciding the other rights (issue 17), on both databases: a member who asked for destruction is erased at
once, the shop answers later by callback, a service that is down is marked done by hand, and only then does
the closing letter go, to an address the portal no longer holds anywhere else; a blocking is shown to the
other services and lifted."""

import pytest
from celery.exceptions import Retry
from django.test import Client

from apps.acceptances import services as acceptance_services
from apps.connectors.models import ServiceCall
from apps.connectors.tasks import service_call_dispatch
from apps.notifications.models import OutboxEmail
from apps.notifications.services import ERASED_EMAIL
from tests.connectors.factories import ConnectedServiceFactory
from tests.support.reference_service import reference_service_start
from tests.withdrawals.factories import RequestFactory

from .support import PASSWORD, Visitor, deliver_emails, emails_to, log_in_member
from .test_withdrawal import officer_at_the_request

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELIST = "/admin/withdrawals/withdrawalrequest/"


def review(staff: Visitor, request) -> str:
    change = f"{CHANGELIST}{request.pk}/change/"
    page = staff.submit(staff.get(change), action="/workflow/review/")
    assert "Review started." in page
    return change


def test_a_destruction_erases_the_member_and_the_closing_letter_waits_for_every_service():
    shop = reference_service_start(name="Alilo shop", mode="later")
    try:
        _visitor, member = log_in_member("dana@example.kz", full_name="Dana Seitkali")
        ConnectedServiceFactory(
            name="Loyalty", endpoint_url="http://127.0.0.1:9/refused", actions=["destroy"]
        )
        request = RequestFactory(request_type="destruction", requester=member, language="en")
        staff, _officer = officer_at_the_request(request)
        change = review(staff, request)

        page = staff.submit(staff.get(change), action="/workflow/grant/", confirm="on", reference="DR-1")
        assert "nothing was destroyed" in page
        page = staff.submit(
            staff.get(change), action="/workflow/grant/", confirm="on", reference=request.reference
        )
        assert "Destruction granted." in page
        assert Visitor().log_in("dana@example.kz", PASSWORD).path != "/accounts/"  # the account is gone

        shop_call = ServiceCall.objects.get(service=shop.service)
        loyalty = ServiceCall.objects.exclude(pk=shop_call.pk).get()
        service_call_dispatch(shop_call.pk)
        with pytest.raises(Retry):
            service_call_dispatch(loyalty.pk)
        assert shop.deliver_callbacks(Client()) == [200]
        assert OutboxEmail.objects.get(template="destruction_closing").status == "held"
        assert not emails_to("dana@example.kz", deliver_emails())

        page = staff.get(change)
        (mark_done,) = page.links(f"/admin/connectors/servicecall/{loyalty.pk}/mark-done/")
        page = staff.submit(
            staff.get(mark_done), has='name="note"', note="Loyalty's team confirmed by phone."
        )
        assert ServiceCall.objects.get(pk=loyalty.pk).state == "done_by_hand"

        (letter,) = emails_to("dana@example.kz", deliver_emails())
        assert request.reference in letter.subject
        assert "Alilo shop: destroyed it (confirmed on" in letter.body
        assert "Loyalty: destroyed it (confirmed to our privacy office on" in letter.body
        assert OutboxEmail.objects.get(template="destruction_closing").to == ERASED_EMAIL
        assert not OutboxEmail.objects.filter(to="dana@example.kz").exists()
        assert "Closing letter sent" in staff.get(change)
    finally:
        shop.stop()


def test_a_blocking_is_read_by_the_other_services_and_lifted_with_a_reason():
    shop = reference_service_start(name="Alilo shop", mode="now")
    try:
        _visitor, member = log_in_member("aigul@example.kz", full_name="Aigul Seitkali")
        _token, raw = acceptance_services.service_token_create(name="Shop")
        reader = Client(headers={"authorization": f"Bearer {raw}"})
        request = RequestFactory(request_type="blocking", requester=member)
        staff, _officer = officer_at_the_request(request)
        change = review(staff, request)

        page = staff.submit(staff.get(change), action="/workflow/grant/", confirm="on")
        assert "Blocking granted." in page
        assert reader.get("/api/v1/consent-status", {"user_id": member.pk}).json()["blocked_at"]
        service_call_dispatch(ServiceCall.objects.get().pk)
        assert shop.store["aigul@example.kz"]["blocked"] is True

        page = staff.submit(staff.get(change), action="/workflow/unblock/", note="The dispute is settled.")
        assert "Blocking lifted." in page
        assert reader.get("/api/v1/consent-status", {"user_id": member.pk}).json()["blocked_at"] is None
        service_call_dispatch(ServiceCall.objects.get(action="unblock").pk)
        assert shop.store["aigul@example.kz"]["blocked"] is False
        sent = emails_to("aigul@example.kz", deliver_emails())
        assert [message.subject.split(": ", 1)[1] for message in sent] == [
            "your data is blocked",
            "the blocking of your data is lifted",
        ]
    finally:
        shop.stop()
