"""Access to one's data (Law on Personal Data, Art. 24): a person's access request, answered by a connected
service, granted by a privacy officer, downloaded after the person confirms their address again."""

import json

import pytest

from apps.accounts.roles import PRIVACY_OFFICER
from apps.audit.models import AuditEvent
from apps.connectors.models import ServiceCall
from apps.connectors.services import service_call_attempt
from apps.withdrawals.models import AccessPackage
from apps.withdrawals.selectors import withdrawal_confirm_path
from tests.roles.conftest import member
from tests.withdrawals.factories import access_request

from .support import PASSWORD, Visitor, deliver_emails, link_in, the_email

pytestmark = pytest.mark.django_db(transaction=True)


def test_person_gets_what_the_portal_and_a_service_hold(reference_service):
    withdrawal = access_request(email="aigerim@example.kz", confirm=False)
    person = Visitor()
    confirm = person.get(withdrawal_confirm_path(withdrawal))
    status = person.submit(confirm, has="Confirm my request")
    assert status.path.startswith("/privacy/requests/status/")
    withdrawal.refresh_from_db()
    assert withdrawal.reference.startswith("AR-")
    call = ServiceCall.objects.get(request=withdrawal, action="export")
    service_call_attempt(call_pk=call.pk)  # as the worker does after commit
    assert AccessPackage.objects.filter(request=withdrawal, built_at__isnull=False).exists()

    officer = member(PRIVACY_OFFICER, email="officer@alilo.kz", password=PASSWORD)
    staff = Visitor()
    staff.log_in(officer.email, path="/admin/login/")
    change = staff.get(f"/admin/withdrawals/withdrawalrequest/{withdrawal.pk}/change/")
    assert "Built on" in change
    page = staff.submit(change, action="/workflow/review/")
    staff.submit(page, action="/workflow/grant/", confirm="on")

    released = the_email("aigerim@example.kz", deliver_emails(), subject="ready to download")
    status = person.get(link_in(released, "/privacy/requests/status/"))
    asked = person.submit(status, action="/package/link/")
    assert "We sent a download link to aigerim@example.kz" in asked
    link_email = the_email("aigerim@example.kz", deliver_emails(), subject="download")
    opened = person.submit(
        person.get(link_in(link_email, "/privacy/requests/package/")), has="Open my downloads"
    )
    [json_link] = [
        link for link in opened.links("/privacy/requests/status/") if link.endswith("/package/json/")
    ]
    response = person.client.get(json_link)
    document = json.loads(response.content)
    assert document["request"]["reference"] == withdrawal.reference
    assert (
        document["services"][0]["data"]["orders"] == reference_service.store["aigerim@example.kz"]["orders"]
    )
    assert (
        AuditEvent.objects.filter(action="withdrawal.package_download", details__format="json").count() == 1
    )
