"""Requests of every type through the service: each type's rules, what is stored, the references and terms,
filing the same request twice, and erasure of the type's answers."""

import uuid

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from apps.audit.models import AuditEvent
from apps.notifications.models import OutboxEmail
from apps.withdrawals import selectors, services
from apps.withdrawals.models import TimelineEntry, WithdrawalRequest
from apps.withdrawals.tokens import confirm_token_make
from tests.accounts.factories import StaffFactory, UserFactory
from tests.withdrawals.factories import TYPE_ANSWERS, submit, verified

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """The messages checked below are the source strings."""
    with translation.override("en"):
        yield


TYPES = ["access", "correction", "blocking", "destruction", "objection"]
PREFIX = {"access": "AR", "correction": "CR", "blocking": "BR", "destruction": "DR", "objection": "OR"}
TERM = {"access": 3, "correction": 1, "blocking": 1, "destruction": 1, "objection": 3}
# Monday 1 June 2026, 10:00 Almaty: 1 working day ends with Tuesday 2 June, 3 with Thursday 4 June.
RECEIVED = "2026-06-01T10:00:00+05:00"
LAST_DAY = {1: "2026-06-02", 3: "2026-06-04"}


def nothing_stored():
    return (
        not WithdrawalRequest.objects.exists()
        and not OutboxEmail.objects.exists()
        and not AuditEvent.objects.filter(action__startswith="withdrawal.").exists()
    )


@pytest.mark.parametrize("request_type", TYPES)
def test_each_type_waits_for_confirmation_then_gets_its_own_series_and_term(request_type):
    with time_machine.travel(RECEIVED, tick=False):
        withdrawal = submit(request_type=request_type)
        assert (withdrawal.status, withdrawal.reference, withdrawal.request_type) == (
            "unverified",
            None,
            request_type,
        )
        assert (withdrawal.scope, withdrawal.purposes) == ("", [])
        assert OutboxEmail.objects.get().template == "withdrawal_confirm"
        registered = services.withdrawal_request_confirm(token=confirm_token_make(withdrawal.public_id))
    assert registered.reference == f"{PREFIX[request_type]}-2026-000001"
    assert str(selectors.withdrawal_last_day(registered)) == LAST_DAY[TERM[request_type]]
    templates = set(OutboxEmail.objects.values_list("template", flat=True))
    assert {"withdrawal_application", "withdrawal_received"} <= templates
    event = AuditEvent.objects.get(action="withdrawal.submit", target_id=str(withdrawal.pk))
    assert event.details["request_type"] == request_type


def test_each_type_numbers_its_own_series():
    first = verified(request_type="access")
    second = verified(request_type="access", email="other@example.kz")
    withdrawal = verified(email="third@example.kz")
    assert [first.reference[:2], second.reference[:2], withdrawal.reference[:2]] == ["AR", "AR", "WR"]
    assert first.reference.endswith("000001") and second.reference.endswith("000002")
    assert withdrawal.reference.endswith("000001")


def test_signed_in_member_with_a_confirmed_address_is_registered_at_once():
    user = UserFactory(email="member@example.kz")
    withdrawal = submit(requester=user, request_type="objection", email="typed@example.kz")
    assert withdrawal.status == "submitted" and withdrawal.reference.startswith("OR-")
    assert withdrawal.email == "member@example.kz" and withdrawal.requester_email_verified
    kinds = list(withdrawal.timeline.values_list("kind", "actor"))
    assert kinds == [("submitted", user.pk), ("verified", user.pk)]
    assert selectors.withdrawal_status_path(withdrawal).startswith("/privacy/requests/status/")


def test_the_answers_are_stored_as_the_rules_clean_them():
    withdrawal = submit(
        request_type="correction",
        details={
            "corrections": [
                {"field": "email", "current": " old@Example.kz ", "correct": "New.Address@Example.KZ"},
                {"field": "phone", "current": "", "correct": "8 701 765 4321"},
                {"field": "", "current": "", "correct": ""},  # a line of the form left empty
                {"field": "full_name", "current": "Aigerim  Nurlanova", "correct": "  Aigerim   Nurlanovna "},
            ]
        },
        reason="  Typo\r\n  ",
        acknowledgement=True,
    )
    assert withdrawal.details == {
        "corrections": [
            {"field": "email", "current": "old@Example.kz", "correct": "new.address@example.kz"},
            {"field": "phone", "current": "", "correct": "+77017654321"},
            {"field": "full_name", "current": "Aigerim Nurlanova", "correct": "Aigerim Nurlanovna"},
        ]
    }
    assert withdrawal.reason == "Typo"
    assert withdrawal.acknowledgement is False  # only a withdrawal and a destruction ask for it


def test_destruction_keeps_the_acknowledgement_and_access_may_ask_nothing_in_particular():
    destruction = submit(request_type="destruction")
    assert destruction.acknowledgement is True and destruction.details == {"grounds": "not_needed"}
    access = submit(request_type="access", details={}, email="other@example.kz")
    assert access.details == {"question": ""}


ROW = {"field": "email", "current": "", "correct": "right@example.kz"}


@pytest.mark.parametrize(
    ("request_type", "answers", "path", "message"),
    [
        ("access", {"details": {"question": "x" * 2001}}, "details.question", "at most 2000"),
        ("access", {"details": {"question": "Who\u202e?"}}, "details.question", "invisible"),
        ("access", {"details": {"grounds": "other"}}, "details", "no detail called grounds"),
        ("access", {"details": ["question"]}, "details", "set of named values"),
        ("access", {"scope": "all"}, "scope", "only for a withdrawal"),
        ("access", {"purposes": ["marketing"]}, "scope", "only for a withdrawal"),
        ("correction", {"details": {}}, "details.corrections", "Say which data is wrong"),
        ("correction", {"details": {"corrections": []}}, "details.corrections", "Say which data"),
        ("correction", {"details": {"corrections": "email"}}, "details.corrections", "Say which data"),
        (
            "correction",
            {"details": {"corrections": [{"field": "", "current": "", "correct": ""}]}},
            "details.corrections",
            "Say which data",
        ),
        (
            "correction",
            {"details": {"corrections": [{**ROW, "field": "salary"}]}},
            "details.corrections.0.field",
            "from the list",
        ),
        (
            "correction",
            {"details": {"corrections": [{**ROW, "field": ""}]}},
            "details.corrections.0.field",
            "Choose which data this is.",
        ),
        (
            "correction",
            {"details": {"corrections": [{**ROW, "correct": " "}]}},
            "details.corrections.0.correct",
            "Write what it should be.",
        ),
        (
            "correction",
            {"details": {"corrections": [{"field": "other", "current": "", "correct": "Almaty"}]}},
            "details.corrections.0.current",
            "say which data it is",
        ),
        (
            "correction",
            {"details": {"corrections": [ROW, {**ROW, "correct": "second@example.kz"}]}},
            "details.corrections.1.field",
            "listed once",
        ),
        (
            "correction",
            {"details": {"corrections": [{**ROW, "correct": "not-an-address"}]}},
            "details.corrections.0.correct",
            "correct email address",
        ),
        (
            "correction",
            {"details": {"corrections": [{**ROW, "correct": "me@[127.0.0.1]"}]}},
            "details.corrections.0.correct",
            "correct email address",
        ),
        (
            "correction",
            {"details": {"corrections": [{"field": "phone", "current": "", "correct": "12"}]}},
            "details.corrections.0.correct",
            "correct phone number",
        ),
        (
            "correction",
            {"details": {"corrections": [{**ROW, "correct": 5}]}},
            "details.corrections.0.correct",
            "must be text",
        ),
        (
            "correction",
            {"details": {"corrections": [{**ROW, "wrong": "x"}]}},
            "details.corrections.0",
            "Each correction must name",
        ),
        (
            "correction",
            {
                "details": {
                    "corrections": [{"field": "other", "current": f"a{n}", "correct": "b"} for n in range(6)]
                }
            },
            "details.corrections",
            "at most 5 corrections",
        ),
        ("blocking", {"details": {}}, "details.grounds", "Choose why you ask for this."),
        ("blocking", {"details": {"grounds": "not_needed"}}, "details.grounds", "one of the reasons"),
        ("blocking", {"details": {"grounds": "other"}, "reason": " "}, "reason", "Say why you ask"),
        ("destruction", {"acknowledgement": False}, "acknowledgement", "ends your user agreement"),
        ("destruction", {"details": {"grounds": "inaccurate"}}, "details.grounds", "one of the reasons"),
        ("destruction", {"details": {"grounds": "other"}, "reason": ""}, "reason", "Say why you ask"),
        ("objection", {"details": {"decision": ""}}, "details.decision", "Say which automated decision"),
        ("objection", {"reason": ""}, "reason", "Say why you object"),
        ("objection", {"reason": "x" * 2001}, "reason", "at most 2000"),
    ],
)
def test_answers_that_break_the_types_rules_are_refused_and_nothing_is_stored(
    request_type, answers, path, message
):
    with pytest.raises(ValidationError) as raised:
        submit(request_type=request_type, **answers)
    assert path in raised.value.error_dict, raised.value.error_dict
    assert message in " ".join(ValidationError(raised.value.error_dict[path]).messages)
    assert nothing_stored()


def test_an_unknown_type_is_refused():
    with pytest.raises(ValidationError) as raised:
        submit(request_type="telepathy", details={})
    assert "request_type" in raised.value.error_dict
    assert nothing_stored()


def test_a_withdrawal_takes_no_details():
    with pytest.raises(ValidationError) as raised:
        submit(details={"question": "?"})
    assert "details" in raised.value.error_dict and nothing_stored()


def test_the_same_request_sent_again_is_the_same_request_and_the_link_goes_again():
    token = uuid.uuid4()
    first = submit(request_type="correction", reason="Typo.")
    again = submit(request_type="correction", reason="Typo.", submission_token=token)
    assert again.pk == first.pk
    assert WithdrawalRequest.objects.count() == 1
    assert OutboxEmail.objects.filter(template="withdrawal_confirm").count() == 2


def test_other_details_or_another_type_is_another_request():
    first = submit(request_type="blocking", reason="Wrong.")
    other_grounds = submit(request_type="blocking", reason="Wrong.", details={"grounds": "unlawful"})
    other_type = submit(
        request_type="destruction", reason="Wrong.", details={"grounds": "unlawful"}, acknowledgement=True
    )
    assert len({first.pk, other_grounds.pk, other_type.pk}) == 3


def test_the_same_submission_token_with_other_answers_returns_the_first_request_unchanged():
    token = uuid.uuid4()
    first = submit(request_type="objection", submission_token=token)
    again = submit(
        request_type="objection", submission_token=token, details={"decision": "Something else entirely."}
    )
    assert again.pk == first.pk and again.details == TYPE_ANSWERS["objection"]["details"]
    assert WithdrawalRequest.objects.count() == 1


def test_staff_register_a_letter_of_another_type_by_the_same_rules():
    staff = StaffFactory()
    common = {
        "actor": staff,
        "channel": "post",
        "received_at": timezone.now(),
        "full_name": "Ivan Petrov",
        "email": "",
        "phone": "",
        "postal_address": "Almaty, Abay 1",
        "scope": "",
        "purposes": [],
        "reason": "",
        "acknowledgement": False,
        "language": "ru",
    }
    with pytest.raises(ValidationError):
        services.withdrawal_request_register_received(**common, request_type="correction", details={})
    assert not WithdrawalRequest.objects.exists()
    withdrawal = services.withdrawal_request_register_received(
        **common,
        request_type="correction",
        details={"corrections": [{"field": "postal_address", "current": "", "correct": "Almaty, Abay 2"}]},
    )
    assert withdrawal.reference.startswith("CR-") and withdrawal.status == "submitted"
    with pytest.raises(ValidationError):
        services.withdrawal_request_register_received(
            **{**common, "channel": "api"}, request_type="access", details={}
        )


def test_erasure_clears_the_types_answers_with_the_rest_of_the_personal_data():
    user = UserFactory(email="member@example.kz")
    withdrawal = submit(requester=user, request_type="correction")
    assert services.withdrawal_personal_data_erase(user_ids=[user.pk], emails=[]) == 1
    withdrawal.refresh_from_db()
    assert withdrawal.details == {} and withdrawal.request_type == "correction"
    assert withdrawal.reference.startswith("CR-")


def test_the_timeline_of_a_visitors_request_names_no_actor():
    withdrawal = submit(request_type="access")
    assert list(TimelineEntry.objects.filter(request=withdrawal).values_list("kind", "actor")) == [
        ("submitted", None)
    ]
