"""The API for the company's other services (/api/v1/): a token from the admin, acceptances, uses, status."""

import re
from datetime import timedelta

import pytest
from django.test import Client

from apps.acceptances.models import Acceptance, UseReport
from apps.acceptances.services import service_token_create
from apps.acceptances.tasks import implicit_sweep
from apps.audit.models import AuditEvent
from tests.accounts.factories import StaffFactory, UserFactory

from .support import PASSWORD, Visitor, log_in_member, publish_version, travel

pytestmark = pytest.mark.django_db(transaction=True)


class Service:
    """Another of the company's services, calling the API with its bearer token."""

    def __init__(self, token: str):
        self.client = Client(headers={"authorization": f"Bearer {token}", "accept-language": "en"})

    def get(self, path: str, **params):
        response = self.client.get(f"/api/v1{path}", params)
        assert response.status_code < 500, response.content
        return response

    def post(self, path: str, body: dict):
        response = self.client.post(f"/api/v1{path}", body, content_type="application/json")
        assert response.status_code < 500, response.content
        return response


def test_service_gets_a_token_in_the_admin_records_an_app_acceptance_and_reads_the_status(policy_in_force):
    _visitor, user = log_in_member("aigul@example.kz", full_name="Aigul Seitkali")
    version = publish_version(2, summary="Clause 2.1 now covers deliveries")
    english = version.texts.get(language="en")
    admin = StaffFactory(email="root@alilo.kz", language="en", password=PASSWORD)
    staff = Visitor()
    staff.log_in(admin.email, path="/admin/login/")
    page = staff.get("/admin/acceptances/servicetoken/add/")
    page = staff.submit(page, has='name="name"', button=("_save", "Save"), name="mobile-app")
    shown = re.search(r"copy it into the service's settings: (alp_[\w-]+)", page.text)
    assert shown, page.text[:2000]
    service = Service(shown.group(1))

    status = service.get("/consent-status", email="Aigul@Example.kz").json()
    assert status["user_id"] == user.pk and status["current_version"]["number"] == 2
    assert status["accepted"] is False and status["acceptance"] is None
    assert status["deadline"] and status["implicit_acceptance_enabled"] is True

    body = {
        "email": "aigul@example.kz",
        "version": 2,
        "channel": "app",
        "language": "en",
        "ip": "203.0.113.9",
        "user_agent": "AliloApp/5.1 (Android 14)",
        "text_sha256": english.body_sha256,
    }
    created = service.post("/acceptances", body)
    assert created.status_code == 201 and created.json()["created"] is True
    repeated = service.post("/acceptances", body)
    assert repeated.status_code == 200 and repeated.json()["created"] is False
    assert repeated.json()["acceptance"]["id"] == created.json()["acceptance"]["id"]
    old = service.post("/acceptances", {**body, "version": 1})
    assert old.status_code == 409 and old.json()["current_version"] == 2

    acceptance = Acceptance.objects.get(version=version)
    assert (acceptance.user, acceptance.method, acceptance.channel) == (user, "api", "app")
    assert (acceptance.ip, acceptance.user_agent, acceptance.text_sha256) == (
        "203.0.113.9",
        "AliloApp/5.1 (Android 14)",
        english.body_sha256,
    )
    event = AuditEvent.objects.get(action="acceptance.record", target_id=str(acceptance.pk))
    assert event.details["service"] == "mobile-app"
    status = service.get("/consent-status", user_id=user.pk).json()
    assert status["accepted"] is True and status["acceptance"]["method"] == "api"
    assert status["agreement_status"] == "active" and status["consent_withdrawn_at"] is None


def test_uses_reported_after_the_deadline_become_implicit_acceptances_with_the_report_as_evidence(
    policy_in_force,
):
    _visitor, user = log_in_member("aigul@example.kz", full_name="Aigul Seitkali")
    other = UserFactory(email="other@example.kz")
    version = publish_version(2, summary="Clause 2.1 now covers deliveries")
    _token, raw = service_token_create(name="mobile-app")
    service = Service(raw)
    deadline = version.implicit_acceptance_at
    before, after = deadline - timedelta(days=1), deadline + timedelta(hours=1)

    with travel(deadline + timedelta(hours=5)):
        batch = {
            "uses": [
                {"email": "aigul@example.kz", "used_at": before.isoformat(), "channel": "app"},
                {"email": "aigul@example.kz", "used_at": after.isoformat(), "channel": "app"},
                {"user_id": other.pk, "used_at": before.isoformat(), "channel": "web"},
            ]
        }
        response = service.post("/uses", batch)
        assert response.status_code == 200 and response.json() == {"recorded": 3}
        assert service.post("/uses", batch).status_code == 200  # a retried batch is kept once
        assert UseReport.objects.count() == 3
        user.refresh_from_db()
        other.refresh_from_db()
        assert (user.last_used_at, other.last_used_at) == (after, before)

        assert implicit_sweep()["created"] == 1
        acceptance = Acceptance.objects.get(version=version)
        report = UseReport.objects.get(user=user, used_at=after)
        assert (acceptance.user, acceptance.method, acceptance.channel) == (user, "implicit", "app")
        assert (acceptance.used_at, acceptance.use_report, acceptance.use_source) == (
            after,
            report,
            "api:mobile-app",
        )
        assert not Acceptance.objects.filter(version=version, user=other).exists()


@pytest.mark.parametrize(
    "used_at",
    [
        "0001-01-01T00:00:00+14:00",  # before year 1 once turned to UTC
        "9999-12-31T23:59:59-14:00",  # after year 9999 once turned to UTC
        "2026-02-30T10:00:00+05:00",
        "yesterday",
        "2026-03-01T10:00:00",  # no time zone
    ],
)
def test_a_use_with_an_impossible_time_is_refused_with_a_clear_error_and_nothing_is_stored(
    policy_in_force, used_at
):
    user = UserFactory(email="aigul@example.kz")
    _token, raw = service_token_create(name="mobile-app")
    good = {"user_id": user.pk, "used_at": "2026-03-01T10:00:00+05:00", "channel": "app"}
    bad = {"user_id": user.pk, "used_at": used_at, "channel": "app"}

    response = Service(raw).post("/uses", {"uses": [good, bad]})

    assert 400 <= response.status_code < 500
    answer = response.json()
    assert answer["detail"] == "The request is malformed."
    assert [error["location"] for error in answer["errors"]] == ["body.payload.uses.1.used_at"]
    assert answer["errors"][0]["message"]
    assert not UseReport.objects.exists()
    user.refresh_from_db()
    assert user.last_used_at is None
