"""The account's side of the rights of the data subject: details corrected (each change audited with its old
value in the erasable part), processing blocked and unblocked, an objection to automated processing
recorded, and the retention erasers run at once for one account; consent-status and the webhooks say so."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.acceptances import services as acceptance_services
from apps.acceptances.models import UseReport
from apps.accounts import selectors, services
from apps.audit.models import AuditEvent
from apps.notifications.models import OutboxEmail, WebhookDelivery
from apps.withdrawals.models import WithdrawalRequest
from tests.acceptances.conftest import publish
from tests.accounts.factories import StaffFactory, UserFactory
from tests.withdrawals.factories import verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    return StaffFactory(email="officer@alilo.kz")


@pytest.fixture
def shop():
    """A service with an active webhook: every change of the person's state owes it a delivery."""
    token, _raw = acceptance_services.service_token_create(name="Shop")
    acceptance_services.webhook_endpoint_create(token=token, url="https://shop.example.kz/hooks")
    return token


def events(**filters):
    return list(AuditEvent.objects.filter(**filters).order_by("pk"))


def posted() -> list[dict]:
    return [json.loads(delivery.body) for delivery in WebhookDelivery.objects.order_by("pk")]


# --- correction -----------------------------------------------------------------------------------


def test_correcting_name_and_phone_audits_each_change_with_the_old_value_in_the_erasable_part(staff):
    user = UserFactory(full_name="Aigerim Nurlanova", phone="+77011234567")

    made = services.user_details_correct(
        user=user,
        changes={"full_name": "  Aigerim   Nurlanqyzy ", "phone": "+7 701 765 43 21"},
        actor=staff,
        reference="CR-2026-000001",
        ip="198.51.100.7",
    )

    assert made == [
        {"field": "full_name", "old": "Aigerim Nurlanova", "new": "Aigerim Nurlanqyzy"},
        {"field": "phone", "old": "+77011234567", "new": "+77017654321"},
    ]
    user.refresh_from_db()
    assert (user.full_name, str(user.phone)) == ("Aigerim Nurlanqyzy", "+77017654321")
    corrections = events(action="account.correct")
    assert [(e.details, e.personal, e.actor, e.ip) for e in corrections] == [
        (
            {"field": "full_name", "reference": "CR-2026-000001"},
            {"old": "Aigerim Nurlanova", "new": "Aigerim Nurlanqyzy"},
            staff,
            "198.51.100.7",
        ),
        (
            {"field": "phone", "reference": "CR-2026-000001"},
            {"old": "+77011234567", "new": "+77017654321"},
            staff,
            "198.51.100.7",
        ),
    ]
    # Erasure of the person's data clears the old and new values with the rest of the personal part.
    services.user_data_erase(user_ids=[user.pk], actor=staff)
    assert all(event.personal == {} for event in events(action="account.correct"))


def test_a_value_that_is_right_already_is_no_change_and_leaves_no_event(staff):
    user = UserFactory(full_name="Dana Seitkali")
    assert (
        services.user_details_correct(
            user=user, changes={"full_name": "Dana Seitkali"}, actor=staff, reference="CR-2026-000001"
        )
        == []
    )
    assert not events(action="account.correct")


def test_a_new_email_is_taken_unconfirmed_and_the_confirm_link_goes_to_it(staff):
    user = UserFactory(email="old@example.kz", language="ru")

    made = services.user_details_correct(
        user=user, changes={"email": "New@Example.kz"}, actor=staff, reference="CR-2026-000001"
    )

    assert made == [{"field": "email", "old": "old@example.kz", "new": "new@example.kz"}]
    user.refresh_from_db()
    assert user.email == "new@example.kz" and user.email_verified_at is None
    link = OutboxEmail.objects.get(template="account_verify_email")
    assert (link.to, link.language, link.user) == ("new@example.kz", "ru", user)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"email": "TAKEN@example.kz"}, "email_taken"),
        ({"phone": "12"}, None),
        ({"full_name": "   "}, None),
        ({"email": "not an address"}, None),
        ({"postal_address": "Almaty"}, None),
    ],
)
def test_an_invalid_or_taken_value_changes_nothing(staff, changes, code):
    UserFactory(email="taken@example.kz")
    user = UserFactory(email="mine@example.kz", full_name="Dana Seitkali", phone="+77011234567")
    before = type(user).objects.values().get(pk=user.pk)

    with pytest.raises(ValidationError) as error:
        services.user_details_correct(
            user=user, changes={"full_name": "Dana S.", **changes}, actor=staff, reference="CR-2026-000001"
        )

    if code:
        assert error.value.code == code
    assert type(user).objects.values().get(pk=user.pk) == before
    assert not events(action="account.correct") and not OutboxEmail.objects.exists()


# --- blocking -------------------------------------------------------------------------------------


def test_blocking_is_recorded_once_audited_posted_and_shown_in_consent_status(staff, shop, client):
    publish()
    user = UserFactory()
    _token, raw = acceptance_services.service_token_create(name="Reader")

    assert services.user_block(user=user, reference="BR-2026-000001", actor=staff) is True
    assert services.user_block(user=user, reference="BR-2026-000002", actor=staff) is False

    user.refresh_from_db()
    assert user.is_blocked and user.blocked_reference == "BR-2026-000001"
    (event,) = events(action="account.block")
    assert event.details == {"reference": "BR-2026-000001"} and event.actor == staff
    (body,) = posted()
    assert body["type"] == "processing.blocked" and body["consent_status"]["blocked_at"] is not None
    status = client.get(
        "/api/v1/consent-status", {"user_id": user.pk}, HTTP_AUTHORIZATION=f"Bearer {raw}"
    ).json()
    assert status["blocked_at"] is not None and status["automated_processing_objected_at"] is None

    assert services.user_unblock(user=user, reference="BR-2026-000001", actor=staff) is True
    assert services.user_unblock(user=user, reference="BR-2026-000001", actor=staff) is False
    user.refresh_from_db()
    assert user.blocked_at is None and user.blocked_reference == ""
    (lifted,) = events(action="account.unblock")
    assert lifted.details["blocked_by"] == "BR-2026-000001"
    assert [body["type"] for body in posted()] == ["processing.blocked", "processing.unblocked"]
    assert posted()[1]["consent_status"]["blocked_at"] is None
    status = client.get(
        "/api/v1/consent-status", {"user_id": user.pk}, HTTP_AUTHORIZATION=f"Bearer {raw}"
    ).json()
    assert status["blocked_at"] is None


def test_nothing_is_collected_from_a_blocked_person_and_retention_waits_for_the_unblocking():
    user = UserFactory(
        blocked_at=timezone.now(),
        blocked_reference="BR-2026-000001",
        agreement_status="ended",
        agreement_ended_at=timezone.now() - timedelta(days=4 * 365),
    )
    free = UserFactory()
    now = timezone.now()
    services.user_last_use_record(user_id=user.pk, at=now)
    assert services.user_last_uses_raise(uses={user.pk: now, free.pk: now}) == 1
    token, _raw = acceptance_services.service_token_create(name="App")
    recorded = acceptance_services.use_reports_record(
        token=token,
        uses=[
            acceptance_services.UseInput(user_id=user.pk, used_at=now, channel="app"),
            acceptance_services.UseInput(user_id=free.pk, used_at=now, channel="app"),
        ],
    )
    assert recorded == 2
    assert list(UseReport.objects.values_list("user_id", flat=True)) == [free.pk]
    user.refresh_from_db()
    assert user.last_used_at is None
    assert user not in selectors.users_in_agreement() and free in selectors.users_in_agreement()
    assert user not in selectors.users_due_for_erasure()
    assert services.retention_erase_expired() == 0

    services.user_unblock(user=user, reference="BR-2026-000001")
    assert services.retention_erase_expired() == 1


# --- objection ------------------------------------------------------------------------------------


def test_an_objection_is_recorded_once_audited_posted_and_in_consent_status(staff, shop):
    user = UserFactory()
    assert services.user_automated_processing_object(user=user, reference="OR-2026-000001", actor=staff)
    assert not services.user_automated_processing_object(user=user, reference="OR-2026-000002", actor=staff)
    user.refresh_from_db()
    assert user.automated_processing_objection_reference == "OR-2026-000001"
    (event,) = events(action="account.automated_processing_object")
    assert event.details == {"reference": "OR-2026-000001"}
    (body,) = posted()
    assert body["type"] == "processing.objected"
    assert body["consent_status"]["automated_processing_objected_at"] is not None


# --- destruction ----------------------------------------------------------------------------------


def test_erasing_one_account_now_runs_the_retention_erasers_and_nothing_else(staff, shop):
    version = publish()
    user = UserFactory(email="gone@example.kz", full_name="Gone Person", phone="+77015550001")
    other = UserFactory(email="kept@example.kz")
    acceptance, _created = acceptance_services.acceptance_record_explicit(
        user=user, version=version, language="kk", ip="203.0.113.9", user_agent="Browser/1"
    )
    request = verified(requester=user, email=user.email)
    kept_request = verified(requester=other, email=other.email)

    assert services.user_data_erase(user_ids=[user.pk], actor=staff, details={"reference": "DR-1"}) == 1
    assert services.user_data_erase(user_ids=[user.pk], actor=staff) == 0

    user.refresh_from_db()
    assert user.erased_at is not None and user.email == f"erased-{user.pk}@erased.invalid"
    assert (user.full_name, str(user.phone), user.is_active) == ("", "", False)
    acceptance.refresh_from_db()
    assert acceptance.ip is None and acceptance.user_agent == "" and acceptance.version == version
    request.refresh_from_db()
    assert request.full_name == "" and request.email == "erased@erased.invalid"
    assert request.reference and request.status == WithdrawalRequest.Status.SUBMITTED
    kept_request.refresh_from_db()
    assert kept_request.email == "kept@example.kz"
    (event,) = events(action="account.erase")
    assert (event.target_id, event.details, event.actor) == (str(user.pk), {"reference": "DR-1"}, staff)
    assert [body["type"] for body in posted()] == ["acceptance.recorded", "account.erased"]
    assert not OutboxEmail.objects.filter(to="gone@example.kz").exists()
