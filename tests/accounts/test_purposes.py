"""Withdrawn purposes are the person's state, kept by accounts: a granted partial withdrawal records its
purposes, a full one records `all`; append-only and audited; erased with the account; in consent-status."""

from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from apps.acceptances import services as acceptance_services
from apps.accounts.models import PurposeWithdrawal
from apps.accounts.services import retention_erase_expired, user_consent_withdraw, user_purposes_withdraw
from apps.audit.models import AuditEvent
from apps.withdrawals import services as withdrawal_services
from tests.accounts.factories import StaffFactory, UserFactory
from tests.withdrawals.factories import in_review

pytestmark = pytest.mark.django_db


def to_the_millisecond(moment: datetime) -> datetime:
    """The API and the webhooks write times to the millisecond."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def withdrawn(user) -> list[tuple[str, str]]:
    return list(
        PurposeWithdrawal.objects.filter(user=user).order_by("pk").values_list("purpose", "reference")
    )


def test_a_granted_partial_withdrawal_records_each_purpose_with_the_request_reference():
    user, staff = UserFactory(), StaffFactory()
    withdrawal = in_review(staff=staff, requester=user, scope="partial", purposes=["marketing", "contests"])

    granted = withdrawal_services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff)

    assert withdrawn(user) == [("marketing", granted.reference), ("contests", granted.reference)]
    assert set(PurposeWithdrawal.objects.values_list("withdrawn_at", flat=True)) == {granted.decided_at}
    user.refresh_from_db()
    assert user.consent_withdrawn_at is None and user.agreement_status == "active"
    event = AuditEvent.objects.get(action="account.purposes_withdrawn", target_id=str(user.pk))
    assert event.details == {"purposes": ["marketing", "contests"], "withdrawal": granted.reference}
    assert AuditEvent.objects.get(action="withdrawal.grant").details["purposes_withdrawn"] == [
        "marketing",
        "contests",
    ]


def test_a_purpose_withdrawn_again_keeps_its_first_record_and_only_new_ones_are_added():
    user = UserFactory()
    assert user_purposes_withdraw(user=user, purposes=["marketing"], reference="WR-2026-000001") == [
        "marketing"
    ]

    again = user_purposes_withdraw(user=user, purposes=["marketing", "contests"], reference="WR-2026-000002")

    assert again == ["contests"]
    assert withdrawn(user) == [("marketing", "WR-2026-000001"), ("contests", "WR-2026-000002")]
    assert user_purposes_withdraw(user=user, purposes=["contests"]) == []
    assert AuditEvent.objects.filter(action="account.purposes_withdrawn").count() == 2


@pytest.mark.parametrize("purposes", [[], ["all"], ["Marketing!"], [""], [7]])
def test_purposes_must_be_named_by_their_codes(purposes):
    with pytest.raises(ValidationError):
        user_purposes_withdraw(user=UserFactory(), purposes=purposes)
    assert not PurposeWithdrawal.objects.exists()


def test_a_full_withdrawal_records_every_purpose_as_all():
    user, staff = UserFactory(), StaffFactory()
    withdrawal = in_review(staff=staff, requester=user)

    granted = withdrawal_services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff)

    assert withdrawn(user) == [("all", granted.reference)]
    assert user_consent_withdraw(user=user) is False
    assert withdrawn(user) == [("all", granted.reference)]


def test_withdrawn_purposes_are_append_only():
    user = UserFactory()
    user_purposes_withdraw(user=user, purposes=["marketing"])
    row = PurposeWithdrawal.objects.get()
    row.purpose = "contests"
    with pytest.raises(ValueError, match="append-only"):
        row.save()
    with pytest.raises(ValueError, match="append-only"):
        row.delete()
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic():
            PurposeWithdrawal.objects.filter(pk=row.pk).update(purpose="contests")
    assert PurposeWithdrawal.objects.get().purpose == "marketing"


def test_retention_erasure_removes_the_withdrawn_purposes_of_the_erased_only():
    gone, kept = UserFactory(), UserFactory()
    for user in (gone, kept):
        user_purposes_withdraw(user=user, purposes=["marketing"])
    type(gone).objects.filter(pk=gone.pk).update(
        agreement_status="ended", agreement_ended_at=timezone.now() - timedelta(days=4 * 365)
    )

    assert retention_erase_expired() == 1

    assert withdrawn(gone) == [] and withdrawn(kept) == [("marketing", "")]


def test_consent_status_api_shows_the_withdrawn_purposes_and_since_when(client):
    user, staff = UserFactory(), StaffFactory()
    _token, raw = acceptance_services.service_token_create(name="Shop")
    withdrawal = in_review(staff=staff, requester=user, scope="partial", purposes=["advertising"])
    granted = withdrawal_services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff)

    body = client.get(
        "/api/v1/consent-status", {"user_id": user.pk}, HTTP_AUTHORIZATION=f"Bearer {raw}"
    ).json()

    assert body["all_purposes_withdrawn"] is False and body["erased_at"] is None
    (purpose,) = body["purposes_withdrawn"]
    assert purpose["purpose"] == "advertising" and purpose["reference"] == granted.reference
    assert datetime.fromisoformat(purpose["withdrawn_at"]) == to_the_millisecond(granted.decided_at)
    assert {"consent_withdrawn_at", "agreement_status", "accepted", "deadline"} <= set(body)

    user_consent_withdraw(user=user, details={"withdrawal": "WR-2026-000009"})
    body = client.get(
        "/api/v1/consent-status", {"user_id": user.pk}, HTTP_AUTHORIZATION=f"Bearer {raw}"
    ).json()
    assert body["all_purposes_withdrawn"] is True and body["consent_withdrawn_at"] is not None
    assert [(p["purpose"], p["reference"]) for p in body["purposes_withdrawn"]] == [
        ("advertising", granted.reference),
        ("all", "WR-2026-000009"),
    ]


def test_the_api_schema_describes_the_withdrawn_purposes(client):
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    status = schema["ConsentStatusOut"]["properties"]
    assert {"purposes_withdrawn", "all_purposes_withdrawn", "erased_at"} <= set(status)
    assert set(schema["WithdrawnPurposeOut"]["properties"]) == {"purpose", "withdrawn_at", "reference"}
    assert "`all`" in schema["WithdrawnPurposeOut"]["properties"]["purpose"]["description"]


def test_my_privacy_page_lists_the_withdrawn_purposes_by_name(client):
    user = UserFactory(language="en")
    user_purposes_withdraw(user=user, purposes=["contests"], reference="WR-2026-000004")
    client.force_login(user)

    page = client.get("/privacy/me/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Taking part in contests" in page and "WR-2026-000004" in page
