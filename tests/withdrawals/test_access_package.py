"""The access package (Law on Personal Data, Art. 24): asked of every connected service when an access request
is registered, built when the last one has answered (or at once when none is connected), with what the portal
holds and what each service returned, in the person's language; released when the request is granted."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from apps.acceptances import services as acceptance_services
from apps.audit.models import AuditEvent
from apps.connectors.models import ServiceCall
from apps.connectors.services import service_call_attempt, service_call_mark_done
from apps.notifications.models import OutboxEmail
from apps.withdrawals import services
from apps.withdrawals.models import AccessPackage, TimelineEntry
from apps.withdrawals.selectors import access_package_state
from apps.withdrawals.tokens import status_token_make
from tests.acceptances.conftest import publish
from tests.accounts.factories import StaffFactory, UserFactory
from tests.withdrawals.factories import ThirdPartyFactory, access_request, verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return StaffFactory(email="officer@alilo.kz", language="en")


def calls_of(withdrawal) -> dict[str, ServiceCall]:
    return {
        call.service.name: call for call in ServiceCall.objects.filter(request=withdrawal, action="export")
    }


def attempt(call: ServiceCall) -> ServiceCall:
    """Post the call as the worker does; return it as stored."""
    service_call_attempt(call_pk=call.pk)
    call.refresh_from_db()
    return call


def review(withdrawal, staff):
    return services.withdrawal_request_review_start(withdrawal=withdrawal, actor=staff)


def test_without_a_connected_service_the_package_is_built_as_the_request_is_registered():
    withdrawal = access_request(email="aigerim@example.kz")
    package = AccessPackage.objects.get(request=withdrawal)
    assert package.built_at is not None and package.released_at is None
    assert package.document["services"] == []
    assert package.document["request"]["reference"] == withdrawal.reference
    assert withdrawal.reference.startswith("AR-")
    assert access_package_state(withdrawal).state == "built"
    assert TimelineEntry.objects.filter(
        request=withdrawal, kind="package_built", visible_to_requester=False
    ).exists()
    assert (
        AuditEvent.objects.filter(action="withdrawal.package_build", target_id=str(withdrawal.pk)).count()
        == 1
    )


def test_a_withdrawal_request_starts_no_export_and_has_no_package(reference_service):
    withdrawal = verified(email="aigerim@example.kz")
    assert not ServiceCall.objects.filter(request=withdrawal).exists()
    assert not AccessPackage.objects.exists()


def test_three_services_now_by_hand_and_later_by_callback(reference_services, staff, client):
    shop = reference_services(name="Shop", mode="now")
    reference_services(name="Maps", mode="timeout", timeout_seconds=1)
    search = reference_services(name="Search", mode="later")
    withdrawal = access_request(email="aigerim@example.kz", language="ru")
    calls = calls_of(withdrawal)
    assert set(calls) == {"Shop", "Maps", "Search"}
    assert access_package_state(withdrawal).state == "waiting"

    assert attempt(calls["Shop"]).state == "done"
    assert attempt(calls["Maps"]).state == "queued"  # no answer within its timeout: tried again later
    assert attempt(calls["Search"]).state == "waiting"
    assert not AccessPackage.objects.exists()
    assert search.deliver_callbacks(client) == [200]
    state = access_package_state(withdrawal)
    assert (state.state, state.answered, state.total) == ("waiting", 2, 3)

    # Neither staff nor the grant can go ahead while a service owes its answer.
    review(withdrawal, staff)
    with translation.override("en"):
        with pytest.raises(services.TransitionNotAllowed, match="2 of 3"):
            services.access_package_rebuild(withdrawal=withdrawal, actor=staff)
        with pytest.raises(services.TransitionNotAllowed, match="not built yet"):
            services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff)
    withdrawal.refresh_from_db()
    assert withdrawal.status == "in_review"

    # Marking the silent one done by hand is its final answer: the package is built.
    service_call_mark_done(
        call=calls["Maps"], actor=staff, note="Checked the maps database by hand: nothing."
    )
    package = AccessPackage.objects.get(request=withdrawal)
    by_name = {item["name"]: item for item in package.document["services"]}
    assert by_name["Shop"]["state"] == "done"
    assert by_name["Shop"]["data"]["orders"] == shop.store["aigerim@example.kz"]["orders"]
    assert by_name["Search"]["data"]["search_history"] == search.store["aigerim@example.kz"]["search_history"]
    assert by_name["Maps"]["state"] == "done_by_hand" and by_name["Maps"]["data"] is None
    # The services' own words about themselves, in the person's language (Russian, else Kazakh).
    assert by_name["Shop"]["data_held"] == "Заказы, адреса доставки, геолокация, история поиска"
    for order in shop.store["aigerim@example.kz"]["orders"]:
        assert order["number"] in package.html
    assert "Checked the maps database" not in package.html  # staff's note is theirs, not the answer


def test_two_services_answering_the_last_one_builds_once(reference_services, staff, client):
    reference_services(name="Shop", mode="now")
    search = reference_services(name="Search", mode="later")
    withdrawal = access_request(email="aigerim@example.kz")
    calls = calls_of(withdrawal)
    attempt(calls["Search"])
    attempt(calls["Shop"])
    assert not AccessPackage.objects.exists()
    search.deliver_callbacks(client)
    assert AccessPackage.objects.filter(request=withdrawal).count() == 1
    # A later callback for the same call is ignored and builds nothing again.
    assert AuditEvent.objects.filter(action="withdrawal.package_build").count() == 1


def test_a_failed_service_is_named_without_data(reference_services):
    reference_services(name="Legacy", mode="failed")
    withdrawal = access_request(email="aigerim@example.kz")
    attempt(calls_of(withdrawal)["Legacy"])
    service = AccessPackage.objects.get(request=withdrawal).document["services"][0]
    assert (service["state"], service["data"]) == ("failed", None)
    assert service["message"] == "This service cannot do that for this person."


def test_the_package_holds_the_account_acceptances_with_evidence_requests_and_emails(staff):
    version = publish()
    user = UserFactory(email="aigerim@example.kz", full_name="Aigerim Nurlanovna", phone="+77011234567")
    acceptance, _created = acceptance_services.acceptance_record_explicit(
        user=user, version=version, language="kk", ip="198.51.100.7", user_agent="EvidenceBrowser/2.0"
    )
    earlier = verified(requester=user, email=user.email, scope="partial", purposes=["marketing"])
    services.withdrawal_request_review_start(withdrawal=earlier, actor=staff)
    services.withdrawal_request_information_ask(withdrawal=earlier, actor=staff, message="Which shop?")
    services.withdrawal_request_note_add(withdrawal=earlier, actor=staff, text="Internal: call the shop")
    someone_else = verified(email="other@example.kz")
    ThirdPartyFactory(name="Delivery partner LLP")
    ThirdPartyFactory(name="Retired partner", active=False)

    withdrawal = access_request(requester=user, email=user.email)
    document = AccessPackage.objects.get(request=withdrawal).document
    assert document["format"] == "alilo-access-package" and document["format_version"] == 1
    portal = document["portal"]
    assert portal["account"]["email"] == "aigerim@example.kz"
    assert portal["account"]["phone"] == "+77011234567"
    assert portal["account"]["agreement"]["status"] == "active"
    [row] = portal["acceptances"]
    assert row["policy_version"] == version.number
    assert row["text_sha256"] == acceptance.text_sha256 and len(row["text_sha256"]) == 64
    assert (row["method"], row["ip"], row["user_agent"]) == (
        "explicit",
        "198.51.100.7",
        "EvidenceBrowser/2.0",
    )
    assert row["accepted_at"].endswith("Z")
    references = [item["reference"] for item in portal["requests"]]
    assert references == [earlier.reference, withdrawal.reference]
    assert someone_else.reference not in references
    earlier_row = portal["requests"][0]
    assert [entry["event"] for entry in earlier_row["timeline"]] == [
        "submitted",
        "verified",
        "review_started",
        "information_requested",
    ]
    assert "Internal: call the shop" not in json.dumps(document)
    subjects = {email["kind"]: email for email in portal["emails"]}
    assert "withdrawal_received" in subjects and "withdrawal_information_requested" in subjects
    assert "withdrawal_application" not in subjects  # to the privacy mailbox, not to them
    assert earlier.reference in subjects["withdrawal_information_requested"]["subject"]
    assert subjects["withdrawal_received"]["status"] == "pending"
    processing = document["processing"]
    assert [item["purpose"] for item in processing["purposes"]][:2] == ["marketing", "advertising"]
    assert processing["recipients"]["third_parties"] == [{"name": "Delivery partner LLP"}]
    assert processing["retention"]["years_after_agreement_ends"] == 3
    assert processing["retention"]["clause"] == "2.4" and processing["purposes_clause"] == "2.1"


def test_a_visitors_package_has_no_account_and_only_requests_from_the_address():
    UserFactory(email="aigerim@example.kz", email_verified_at=None)  # claims the address, never proved it
    earlier = verified(email="aigerim@example.kz")
    withdrawal = access_request(email="aigerim@example.kz")
    document = AccessPackage.objects.get(request=withdrawal).document
    assert document["portal"]["account"] is None
    assert document["portal"]["acceptances"] == []
    assert [item["reference"] for item in document["portal"]["requests"]] == [
        earlier.reference,
        withdrawal.reference,
    ]


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_the_readable_page_is_in_the_persons_language_and_standalone(language, reference_services):
    reference_services(name="Shop", mode="now")
    withdrawal = access_request(email="aigerim@example.kz", language=language)
    attempt(calls_of(withdrawal)["Shop"])
    package = AccessPackage.objects.get(request=withdrawal)
    assert package.language == package.document["language"] == language
    assert f'<html lang="{language}">' in package.html
    held = {
        "kk": "Тапсырыстар, жеткізу мекенжайлары, орналасу, іздеу тарихы",
        "ru": "Заказы, адреса доставки, геолокация, история поиска",
        "en": "Orders, delivery addresses, locations, search history",
    }
    assert held[language] in package.html
    # Nothing outside the file: no script, stylesheet or image to fetch; printable.
    assert "<script" not in package.html and "<link" not in package.html and "<img" not in package.html
    assert "@media print" in package.html
    assert withdrawal.reference in package.html


def test_what_people_and_services_wrote_is_escaped_in_the_readable_page(reference_services, client):
    running = reference_services(name="Shop", mode="later")
    withdrawal = access_request(email="aigerim@example.kz", full_name="<script>alert(1)</script> Aigerim")
    attempt(calls_of(withdrawal)["Shop"])
    callback = running.take_callbacks()[0]
    body = json.loads(callback.body)
    body["data"] = {
        "<b>note</b>": ["<img src=x onerror=alert(1)>", {"deep": {"deeper": [1, 2, {"x": None}]}}]
    }
    callback.body = json.dumps(body).encode()
    from apps.connectors.reference_service import sign

    response = client.post(
        f"/connectors/callback/{body['call']}/",
        data=callback.body,
        content_type="application/json",
        headers={"X-Alilo-Signature": sign(running.secret, callback.body)},
    )
    assert response.status_code == 200
    html = AccessPackage.objects.get(request=withdrawal).html
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;note&lt;/b&gt;" in html


def test_granting_releases_the_package_and_emails_the_link_to_the_status_page(staff):
    withdrawal = review(access_request(email="aigerim@example.kz", language="kk"), staff)
    before = timezone.now()
    services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff, ip="192.0.2.1")
    package = AccessPackage.objects.get(request=withdrawal)
    assert package.released_at >= before
    assert package.expires_at == package.released_at + timedelta(days=7)
    email = OutboxEmail.objects.get(template="access_package_released")
    assert (email.to, email.language) == ("aigerim@example.kz", "kk")
    assert email.context["status_path"] == reverse(
        "requests:status", args=[status_token_make(withdrawal.public_id)]
    )
    entry = TimelineEntry.objects.get(request=withdrawal, kind="package_released")
    assert entry.visible_to_requester
    event = AuditEvent.objects.get(action="withdrawal.package_release")
    assert (event.actor, event.ip) == (staff, "192.0.2.1")


def test_a_grant_refused_while_the_package_is_not_built_changes_nothing(reference_service, staff):
    withdrawal = review(access_request(email="aigerim@example.kz"), staff)
    with translation.override("en"), pytest.raises(services.TransitionNotAllowed, match="0 of 1"):
        services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff)
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.decided_at) == ("in_review", None)
    assert not OutboxEmail.objects.filter(
        template__in=["access_package_released", "withdrawal_granted"]
    ).exists()


def test_staff_rebuild_refreshes_the_content_until_it_is_released(staff):
    withdrawal = review(access_request(email="aigerim@example.kz"), staff)
    first = AccessPackage.objects.get(request=withdrawal)
    services.withdrawal_request_note_add(withdrawal=withdrawal, actor=staff, text="checked")
    services.access_package_rebuild(withdrawal=withdrawal, actor=staff, ip="192.0.2.1")
    again = AccessPackage.objects.get(request=withdrawal)
    assert again.pk == first.pk and again.built_at > first.built_at and again.built_by == staff
    timeline = [item["event"] for item in again.document["portal"]["requests"][-1]["timeline"]]
    assert "review_started" in timeline and "note" not in timeline
    services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff)
    with pytest.raises(services.TransitionNotAllowed):
        services.access_package_rebuild(withdrawal=withdrawal, actor=staff)


def test_a_rebuild_of_another_type_of_request_is_refused(staff):
    withdrawal = verified(email="aigerim@example.kz")
    with pytest.raises(services.TransitionNotAllowed):
        services.access_package_rebuild(withdrawal=withdrawal, actor=staff)


def test_marking_a_call_done_needs_a_note_and_builds_nothing_then(reference_service, staff):
    withdrawal = access_request(email="aigerim@example.kz")
    with pytest.raises(ValidationError):
        service_call_mark_done(call=calls_of(withdrawal)["Reference shop"], actor=staff, note=" ")
    assert not AccessPackage.objects.exists()


def test_what_the_request_asked_is_shown_as_written():
    withdrawal = access_request(
        email="aigerim@example.kz", details={"items": ["orders", "locations"], "period": "2025"}
    )
    package = AccessPackage.objects.get(request=withdrawal)
    assert package.document["portal"]["requests"][-1]["details"] == {
        "items": ["orders", "locations"],
        "period": "2025",
    }
    assert '["orders", "locations"]' in package.html.replace("&quot;", '"') and "2025" in package.html
