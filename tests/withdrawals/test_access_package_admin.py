"""The access package on the request's admin page: its state (waiting for N of M services, built, released,
expired, erased), a preview that is audited as a view of the person's data, building it again, and the grant
refused with a clear message while it is not built."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.connectors.models import ServiceCall
from apps.connectors.services import service_call_attempt, service_call_mark_done
from apps.withdrawals import services
from apps.withdrawals.models import AccessPackage, WithdrawalRequest
from tests.accounts.factories import StaffFactory
from tests.roles.conftest import member
from tests.withdrawals.factories import access_request, verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = StaffFactory(email="officer@alilo.kz", full_name="Privacy Officer", language="en")
    client.force_login(user)
    return user


def change_url(withdrawal):
    return reverse("admin:withdrawals_withdrawalrequest_change", args=[withdrawal.pk])


def step_url(withdrawal, step):
    return reverse("admin:withdrawals_withdrawalrequest_workflow", args=[withdrawal.pk, step])


def package_url(withdrawal, file_format):
    return reverse("admin:withdrawals_withdrawalrequest_package", args=[withdrawal.pk, file_format])


def page(client, withdrawal) -> str:
    response = client.get(change_url(withdrawal))
    assert response.status_code == 200
    return response.content.decode()


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def test_the_page_follows_the_package_from_waiting_to_expired(client, staff, reference_services):
    reference_services(name="Shop", mode="now")
    reference_services(name="Maps", mode="timeout", timeout_seconds=1)
    withdrawal = access_request(email="aigerim@example.kz")
    calls = {call.service.name: call for call in ServiceCall.objects.filter(request=withdrawal)}
    assert "Waiting for the services: 0 of 2 answered." in page(client, withdrawal)
    service_call_attempt(call_pk=calls["Shop"].pk)
    html = page(client, withdrawal)
    assert "Waiting for the services: 1 of 2 answered." in html
    # The service still owed an answer is named, with a way to its call (to mark it done by hand).
    assert reverse("admin:connectors_servicecall_change", args=[calls["Maps"].pk]) in html
    assert reverse("admin:connectors_servicecall_change", args=[calls["Shop"].pk]) not in html
    assert package_url(withdrawal, "html") not in html

    client.post(step_url(withdrawal, "review"))
    response = client.post(step_url(withdrawal, "grant"), {"confirm": "on"}, follow=True)
    assert any("not built yet (1 of 2 services have answered)" in text for text in messages_of(response))
    assert WithdrawalRequest.objects.get(pk=withdrawal.pk).status == "in_review"
    response = client.post(step_url(withdrawal, "package_rebuild"), follow=True)
    assert any("1 of 2 services have answered" in text for text in messages_of(response))

    service_call_mark_done(call=calls["Maps"], actor=staff, note="Asked the maps team: no data.")
    html = page(client, withdrawal)
    assert "Built on" in html and package_url(withdrawal, "html") in html
    assert step_url(withdrawal, "package_rebuild") in html

    response = client.post(step_url(withdrawal, "grant"), {"confirm": "on"}, follow=True)
    assert WithdrawalRequest.objects.get(pk=withdrawal.pk).status == "granted"
    html = page(client, withdrawal)
    assert "Released on" in html and step_url(withdrawal, "package_rebuild") not in html

    expires_at = AccessPackage.objects.get(request=withdrawal).expires_at
    with time_machine.travel(expires_at + timedelta(minutes=1), tick=False):
        client.force_login(staff)  # a staff session lasts a working day
        assert "Expired: the download closed on" in page(client, withdrawal)


def test_rebuild_from_the_page_builds_again(client, staff):
    withdrawal = access_request(email="aigerim@example.kz")
    before = AccessPackage.objects.get(request=withdrawal).built_at
    response = client.post(step_url(withdrawal, "package_rebuild"), follow=True)
    assert any("built again" in text for text in messages_of(response))
    package = AccessPackage.objects.get(request=withdrawal)
    assert package.built_at > before and package.built_by == staff


def test_the_preview_is_the_persons_page_and_each_opening_is_audited(client, staff):
    withdrawal = access_request(email="aigerim@example.kz", language="ru")
    package = AccessPackage.objects.get(request=withdrawal)
    response = client.get(package_url(withdrawal, "html"))
    assert response.status_code == 200
    assert response.content.decode() == package.html and '<html lang="ru">' in package.html
    # Its own inline styles only, nothing else runs or loads.
    assert (
        "sandbox" in response["Content-Security-Policy"]
        and "script-src" not in response["Content-Security-Policy"]
    )
    as_json = client.get(package_url(withdrawal, "json"))
    assert as_json.status_code == 200 and as_json["Content-Disposition"].startswith("attachment")
    views = AuditEvent.objects.filter(action="withdrawal.view", target_id=str(withdrawal.pk), actor=staff)
    assert sorted(
        event.details["view"] for event in views if event.details["view"].startswith("package")
    ) == [
        "package_html",
        "package_json",
    ]
    assert client.get(package_url(withdrawal, "pdf")).status_code == 404


def test_support_cannot_preview_and_a_withdrawal_has_no_package_block(client, staff):
    withdrawal = access_request(email="aigerim@example.kz")
    other = verified(email="other@example.kz")
    assert "Data package" not in page(client, other)
    assert client.get(package_url(other, "html")).status_code == 404
    client.force_login(member("Support"))
    assert client.get(package_url(withdrawal, "html")).status_code in (403, 404)
    assert not AuditEvent.objects.filter(action="withdrawal.view", details__view="package_html").exists()


def test_an_erased_package_has_no_preview(client, staff):
    withdrawal = access_request(email="aigerim@example.kz")
    services.access_packages_erase_expired(
        now=AccessPackage.objects.get(request=withdrawal).built_at + timedelta(days=31)
    )
    assert "Erased on" in page(client, withdrawal)
    assert client.get(package_url(withdrawal, "html")).status_code == 404
