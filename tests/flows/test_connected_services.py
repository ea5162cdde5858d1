"""Connected services (issue 17): the Privacy officer registers Alilo's shop in the admin with the secret its
team chose; a request's export call is posted signed, accepted, and answered later by a signed callback; a
second service that is down is retried, and the officer marks its part done by hand with a note."""

import pytest
from celery.exceptions import Retry
from django.db import transaction
from django.test import Client

from apps.connectors.models import ConnectedService, ServiceCall
from apps.connectors.services import service_calls_start
from apps.connectors.tasks import service_call_dispatch, service_calls_sweep
from tests.connectors.factories import ConnectedServiceFactory
from tests.support.reference_service import RunningReferenceService
from tests.withdrawals.factories import verified

from .test_withdrawal import officer_at_the_request

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "cssec_chosen-by-the-shops-team-0123456789"


def test_an_export_is_answered_later_by_callback_and_a_down_service_is_done_by_hand():
    shop = RunningReferenceService(secret=SECRET, mode="later", auto_callback=False).start()
    try:
        request = verified(email="dana@example.kz", full_name="Dana Seitkali")
        staff, _officer = officer_at_the_request(request)
        page = staff.get("/admin/connectors/connectedservice/add/")
        page = staff.submit(
            page,
            has='name="endpoint_url"',
            name="Alilo shop",
            endpoint_url=shop.url,
            new_secret=SECRET,
            timeout_seconds="2",
            fields=["email", "orders", "location", "search_history"],
            actions=["export", "destroy"],
            data_held_kk="Тапсырыстар, орналасу, іздеу тарихы",
        )
        assert "was added successfully" in page
        assert SECRET not in page.html
        service = ConnectedService.objects.get(name="Alilo shop")
        assert service.signing_secret == SECRET
        ConnectedServiceFactory(name="Loyalty", endpoint_url="http://127.0.0.1:9/refused", actions=["export"])

        with transaction.atomic():
            calls = service_calls_start(request=request, action="export")
        shop_call, loyalty = sorted(calls, key=lambda call: call.service.name)
        service_call_dispatch(shop_call.pk)
        with pytest.raises(Retry):  # refused: the task retries later
            service_call_dispatch(loyalty.pk)
        shop_call.refresh_from_db()
        loyalty.refresh_from_db()
        assert shop_call.state == "waiting"
        assert loyalty.state == "queued" and "refused" in loyalty.last_error.lower()
        service_calls_sweep()

        # The shop answers later, by a signed callback.
        assert shop.deliver_callbacks(Client()) == [200]
        shop_call.refresh_from_db()
        assert shop_call.state == "done"
        assert shop_call.result["profile"]["email"] == "dana@example.kz"

        page = staff.get(f"/admin/connectors/servicecall/{shop_call.pk}/change/")
        assert "Done" in page and "Mark done by hand" not in page
        page = staff.get(f"/admin/connectors/servicecall/{loyalty.pk}/change/")
        assert "Connection refused" in page
        (link,) = page.links(f"/admin/connectors/servicecall/{loyalty.pk}/mark-done/")
        form = staff.get(link)
        page = staff.submit(form, has='name="note"', note="")
        assert "This field is required." in page
        page = staff.submit(
            form, has='name="note"', note="Loyalty's team confirmed it holds no data on Dana."
        )
        assert "The call is recorded as done by hand." in page
        assert ServiceCall.objects.get(pk=loyalty.pk).state == "done_by_hand"
    finally:
        shop.stop()
