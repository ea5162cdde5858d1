"""The API for connected services: file a request of any type on a person's behalf, and read its status."""

import uuid

import pytest
from django.core import mail

from apps.acceptances.services import service_token_create, service_token_revoke
from apps.audit.models import AuditEvent
from apps.notifications.models import OutboxEmail
from apps.notifications.services import outbox_emails_deliver
from apps.withdrawals import services
from apps.withdrawals.models import WithdrawalRequest
from apps.withdrawals.tokens import confirm_token_make
from tests.accounts.factories import UserFactory
from tests.withdrawals.factories import submit

pytestmark = pytest.mark.django_db

PERSON = {"full_name": "Aigerim Nurlanovna", "email": "Aigerim@Example.kz", "phone": "8 701 234 5678"}
BODIES = {
    "access": {"question": "Which shops saw my orders?"},
    "correction": {"corrections": [{"field": "phone", "current": "", "correct": "+7 701 765 4321"}]},
    "blocking": {"grounds": "inaccurate", "reason": "The address is wrong."},
    "destruction": {"grounds": "not_needed", "acknowledgement": True},
    "objection": {"decision": "The credit limit set for me.", "reason": "It ignores my history."},
    "withdrawal": {"scope": "partial", "purposes": ["marketing"]},
}
PREFIX = {"access": "AR", "correction": "CR", "blocking": "BR", "destruction": "DR", "objection": "OR"}


class Service:
    def __init__(self, client, raw):
        self.client, self.raw = client, raw

    def post(self, body, **extra):
        return self.client.post(
            "/api/v1/requests",
            body,
            content_type=extra.pop("content_type", "application/json"),
            HTTP_AUTHORIZATION=f"Bearer {self.raw}",
            HTTP_ACCEPT_LANGUAGE="en",
        )

    def get(self, reference):
        return self.client.get(
            f"/api/v1/requests/{reference}",
            HTTP_AUTHORIZATION=f"Bearer {self.raw}",
            HTTP_ACCEPT_LANGUAGE="en",
        )


@pytest.fixture(autouse=True)
def _english_mailbox(settings):
    """The written application's wording checked below is the source text."""
    settings.PRIVACY_MAILBOX_LANGUAGE = "en"


@pytest.fixture
def token(db):
    return service_token_create(name="Alilo Market")


@pytest.fixture
def api(client, token):
    return Service(client, token[1])


def body(request_type, **overrides):
    return {"type": request_type, "person": PERSON, "language": "ru", **BODIES[request_type], **overrides}


@pytest.mark.parametrize("request_type", list(BODIES))
def test_a_service_files_each_type_and_the_person_must_confirm_it(api, token, request_type):
    response = api.post(body(request_type))
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["created"] is True
    out = data["request"]
    withdrawal = WithdrawalRequest.objects.get()
    assert out["reference"] == withdrawal.reference and out["type"] == request_type
    assert out["status"] == "unverified" and out["email_confirmed"] is False and out["due_at"] is None
    assert (withdrawal.channel, withdrawal.filed_by_service, withdrawal.requester) == ("api", token[0], None)
    assert (withdrawal.email, str(withdrawal.phone), withdrawal.language) == (
        "aigerim@example.kz",
        "+77012345678",
        "ru",
    )
    assert withdrawal.timeline.get().actor is None
    event = AuditEvent.objects.get(action="withdrawal.submit")
    assert event.actor is None and event.details["service_name"] == "Alilo Market"
    # Only the link to the address: nothing reaches the privacy mailbox before the person confirms.
    assert list(OutboxEmail.objects.values_list("template", "to")) == [
        ("withdrawal_confirm", "aigerim@example.kz")
    ]
    outbox_emails_deliver(email_ids=list(OutboxEmail.objects.values_list("pk", flat=True)))
    assert "Alilo Market" in mail.outbox[0].body

    services.withdrawal_request_confirm(token=confirm_token_make(withdrawal.public_id))
    status = api.get(withdrawal.reference).json()
    assert status["status"] == "submitted" and status["email_confirmed"] is True
    assert status["due_at"] and status["last_day"] and status["registered_at"]
    application = OutboxEmail.objects.get(template="withdrawal_application")
    outbox_emails_deliver(email_ids=[application.pk])
    assert "Filed on the person's behalf by the connected service Alilo Market" in mail.outbox[-1].body


def test_naming_an_account_links_it_but_the_person_still_confirms(api):
    user = UserFactory(email="aigerim@example.kz")
    response = api.post(body("access", person={**PERSON, "user_id": user.pk}))
    assert response.status_code == 201
    withdrawal = WithdrawalRequest.objects.get()
    assert withdrawal.requester == user and withdrawal.status == "unverified"
    assert withdrawal.reference.startswith("AR-")
    assert OutboxEmail.objects.get().to == user.email


def test_an_account_whose_address_differs_or_that_does_not_exist_is_refused(api):
    user = UserFactory(email="someone.else@example.kz")
    response = api.post(body("access", person={**PERSON, "user_id": user.pk}))
    assert response.status_code == 422
    assert response.json()["errors"][0]["location"] == "person.email"
    wrong_address = response.json()
    # An unknown number gets the same answer, so a token cannot learn which address an account has.
    response = api.post(body("access", person={**PERSON, "user_id": 987654}))
    assert response.status_code == 422 and response.json() == wrong_address
    assert not WithdrawalRequest.objects.exists()


@pytest.mark.parametrize(
    ("payload", "status", "location", "message"),
    [
        (body("objection", decision=""), 422, "decision", "Say which automated decision"),
        (body("objection", reason=""), 422, "reason", "Say why you object"),
        (body("blocking", grounds="not_needed"), 422, "grounds", "one of the reasons"),
        (body("blocking", grounds="other", reason=""), 422, "reason", "Say why you ask"),
        (body("destruction", acknowledgement=False), 422, "acknowledgement", "ends your user agreement"),
        (body("destruction", acknowledgement="yes"), 422, "acknowledgement", "valid boolean"),
        (body("correction", corrections=[]), 422, "corrections", "at least 1"),
        (
            body("correction", corrections=[{"field": "email", "current": "", "correct": "nope"}]),
            422,
            "corrections.0.correct",
            "correct email address",
        ),
        (
            body("correction", corrections=[{"field": "salary", "current": "", "correct": "x"}]),
            422,
            "corrections.0.field",
            "Input should be",
        ),
        (body("access", grounds="other"), 422, "body", "no detail called grounds"),
        (body("access", scope="all"), 422, "scope", "only for a withdrawal"),
        (body("access", questions="typo"), 422, "questions", "Extra inputs are not permitted"),
        (body("access", type="telepathy"), 422, "type", "Input should be"),
        (body("access", language="de"), 422, "language", "Input should be"),
        (body("access", person={**PERSON, "email": "me@[127.0.0.1]"}), 422, "email", "domain name"),
        (body("access", person={**PERSON, "phone": "12"}), 422, "phone", "valid phone number"),
        (body("access", person={**PERSON, "full_name": " \u202e "}), 422, "full_name", "invisible"),
        (body("withdrawal", scope="partial", purposes=[]), 422, "scope", "needs purposes"),
        (body("withdrawal", purposes=["telepathy"]), 422, "purposes", "Unknown purpose"),
        (body("withdrawal", scope="all"), 422, "scope", "needs the acknowledgement"),
        (body("access", submission_token="not-a-uuid"), 422, "submission_token", "UUID"),
    ],
)
def test_every_bad_input_is_a_4xx_with_a_clear_message_and_stores_nothing(
    api, payload, status, location, message
):
    response = api.post(payload)
    assert response.status_code == status, response.json()
    data = response.json()
    assert data["detail"]
    assert any(location in error["location"] and message in error["message"] for error in data["errors"]), (
        data
    )
    assert not WithdrawalRequest.objects.exists() and not OutboxEmail.objects.exists()


def test_a_body_that_is_not_json_is_refused(api):
    assert api.post("type=access", content_type="application/x-www-form-urlencoded").status_code == 415
    assert api.post("{", content_type="application/json").status_code == 400


def test_the_same_submission_token_files_once_and_another_services_token_learns_nothing(api, client):
    token = str(uuid.uuid4())
    first = api.post(body("access", submission_token=token))
    again = api.post(body("access", submission_token=token, question="Something else."))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["created"] is False
    assert again.json()["request"]["reference"] == first.json()["request"]["reference"]
    assert WithdrawalRequest.objects.count() == 1
    other = Service(client, service_token_create(name="Alilo Taxi")[1])
    stolen = other.post(body("access", submission_token=token))
    assert stolen.status_code == 409 and "another request" in stolen.json()["detail"]
    assert "reference" not in stolen.content.decode()


def test_the_same_request_again_without_a_token_is_the_same_request(api):
    first = api.post(body("blocking")).json()["request"]["reference"]
    again = api.post(body("blocking"))
    assert again.status_code == 200 and again.json()["request"]["reference"] == first
    assert OutboxEmail.objects.filter(template="withdrawal_confirm").count() == 2


def test_a_service_reads_only_the_requests_it_filed(api, client):
    filed = api.post(body("objection")).json()["request"]["reference"]
    web = submit(requester=UserFactory(email="member@example.kz"), request_type="access")
    other = Service(client, service_token_create(name="Alilo Taxi")[1])
    assert api.get(filed).status_code == 200
    assert api.get(filed.lower()).status_code == 200
    for response in (other.get(filed), api.get(web.reference), api.get("AR-2026-999999")):
        assert response.status_code == 404
        assert "a service reads only the requests it filed" in response.json()["detail"]
    assert api.get("nonsense").status_code == 422


def test_a_revoked_token_files_and_reads_nothing(api, token):
    reference = api.post(body("access")).json()["request"]["reference"]
    service_token_revoke(token=token[0])
    assert api.get(reference).status_code == 401
    assert api.post(body("access", question="Again?")).status_code == 401


def test_the_schema_documents_the_endpoints(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/requests", "/api/v1/requests/{reference}"} <= set(schema["paths"])
    request_in = schema["components"]["schemas"]["RequestIn"]
    assert {"type", "person", "language", "corrections", "grounds", "decision"} <= set(
        request_in["properties"]
    )
