"""The access package is personal data: a daily sweep erases its content 30 days after it was built (never
while its download is open), and the request's eraser (retention) erases it with the request."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.connectors.models import ServiceCall
from apps.connectors.services import service_call_attempt
from apps.notifications.models import OutboxEmail
from apps.withdrawals import services, tasks
from apps.withdrawals.models import AccessPackage, TimelineEntry
from apps.withdrawals.selectors import access_package_state
from apps.withdrawals.tokens import status_token_make
from tests.accounts.factories import StaffFactory, UserFactory
from tests.withdrawals.factories import access_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return StaffFactory(email="officer@alilo.kz", language="en")


def test_the_sweep_is_a_daily_beat_entry():
    entry = next(
        item
        for item in settings.CELERY_BEAT_SCHEDULE.values()
        if item["task"] == "withdrawals.access_packages_erase"
    )
    assert entry["schedule"].hour == {3}
    assert tasks.access_packages_erase.name == "withdrawals.access_packages_erase"


def test_content_is_erased_thirty_days_after_it_was_built_and_not_before():
    withdrawal = access_request(email="aigerim@example.kz")
    built_at = AccessPackage.objects.get(request=withdrawal).built_at
    assert services.access_packages_erase_expired(now=built_at + timedelta(days=29, hours=23)) == 0
    assert tasks.access_packages_erase.run() == 0
    assert services.access_packages_erase_expired(now=built_at + timedelta(days=30, minutes=1)) == 1
    package = AccessPackage.objects.get(request=withdrawal)
    assert (package.document, package.html) == ({}, "")
    assert package.erased_at is not None
    assert TimelineEntry.objects.filter(request=withdrawal, kind="package_erased").count() == 1
    event = AuditEvent.objects.get(action="withdrawal.package_erase")
    assert event.target_id == str(withdrawal.pk) and event.details["keep_days"] == 30
    # Running it again finds nothing.
    assert services.access_packages_erase_expired(now=built_at + timedelta(days=31)) == 0
    assert access_package_state(withdrawal).state == "erased"


def test_a_released_package_is_kept_until_its_download_closes(staff):
    withdrawal = access_request(email="aigerim@example.kz")
    built_at = AccessPackage.objects.get(request=withdrawal).built_at
    services.withdrawal_request_review_start(withdrawal=withdrawal, actor=staff)
    with time_machine.travel(built_at + timedelta(days=28), tick=False):
        services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff)
    expires_at = AccessPackage.objects.get(request=withdrawal).expires_at
    assert services.access_packages_erase_expired(now=built_at + timedelta(days=31)) == 0
    assert services.access_packages_erase_expired(now=expires_at + timedelta(minutes=1)) == 1


def test_an_erased_package_is_not_granted_and_staff_build_it_again(staff):
    withdrawal = access_request(email="aigerim@example.kz")
    built_at = AccessPackage.objects.get(request=withdrawal).built_at
    services.access_packages_erase_expired(now=built_at + timedelta(days=31))
    services.withdrawal_request_review_start(withdrawal=withdrawal, actor=staff)
    with pytest.raises(services.TransitionNotAllowed):
        services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff)
    services.access_package_rebuild(withdrawal=withdrawal, actor=staff)
    package = AccessPackage.objects.get(request=withdrawal)
    assert package.erased_at is None and package.document["request"]["reference"] == withdrawal.reference
    services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff)


def test_retention_erasure_of_the_person_erases_the_package_and_the_services_answers(reference_service):
    user = UserFactory(email="aigerim@example.kz", full_name="Aigerim Qwertyuly")
    withdrawal = access_request(requester=user, email=user.email, full_name="Aigerim Qwertyuly")
    call = ServiceCall.objects.get(request=withdrawal)
    service_call_attempt(call_pk=call.pk)
    package = AccessPackage.objects.get(request=withdrawal)
    assert "Qwertyuly" in package.html and package.document["services"][0]["data"]["orders"]

    services.withdrawal_personal_data_erase(user_ids=[user.pk], emails=[user.email])
    package.refresh_from_db()
    call.refresh_from_db()
    assert (package.document, package.html) == ({}, "") and package.erased_at is not None
    assert call.result == {} and call.body == ""


def test_after_erasure_the_person_is_told_and_nothing_downloads(staff):
    withdrawal = access_request(email="aigerim@example.kz")
    services.withdrawal_request_review_start(withdrawal=withdrawal, actor=staff)
    services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    token = status_token_make(withdrawal.public_id)
    client.post(reverse("requests:package_send_link", args=[token]))
    link = OutboxEmail.objects.get(template="access_package_link")
    client.post(link.context["link_path"])
    AccessPackage.objects.filter(request=withdrawal).update(document={}, html="", erased_at=timezone.now())
    response = client.get(reverse("requests:package_download", args=[token, "json"]), follow=True)
    assert b"This data package was erased" in response.content
    assert not AuditEvent.objects.filter(action="withdrawal.package_download").exists()
