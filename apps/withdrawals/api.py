"""Requests of every type filed by the company's other services on a person's behalf, and their status (the
API's service-token authentication applies).

A service's word proves neither that the person asked nor that they hold the address it names, and a
destruction request would end their user agreement: so every request filed here waits, like a visitor's, for
the person to confirm it from the link emailed to the address (the account's own address when the service
names an account), and only then is it registered and sent to the privacy mailbox. It gets its reference at
once, so the service can follow it; a request nobody confirms is deleted after
WITHDRAWAL_UNVERIFIED_DELETE_DAYS days. A service reads only the requests it filed.
"""

import re
import uuid
from datetime import date, datetime
from typing import Literal

import phonenumbers
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from pydantic import ConfigDict, Field, field_validator

from apps.acceptances.api import ApiError
from apps.core.validators import validate_email_domain, validate_visible_text

from . import selectors, services
from .details import CORRECTIONS_MAX, DECISION_MAX, QUESTION_MAX, REASON_MAX, VALUE_MAX
from .models import CorrectableField, Purpose, WithdrawalRequest

router = Router(tags=["requests of the data subject"])

BIGINT_MAX = 2**63 - 1
REFERENCE = re.compile(r"^[A-Z]{2}-\d{4}-\d{6}$")


def _one_line(value: str) -> str:
    try:
        validate_visible_text(value)
    except ValidationError as exc:
        raise ValueError(exc.messages[0]) from exc
    return " ".join(value.split())


class PersonIn(Schema):
    """The person the request is for, as the service knows them."""

    model_config = ConfigDict(extra="forbid")

    full_name: str = Field(min_length=1, max_length=200, description="The person's full name.")
    email: str = Field(
        max_length=254,
        description=(
            "Where the confirmation link and every answer go. When `user_id` is given it must be that "
            "account's address."
        ),
    )
    phone: str = Field("", max_length=32, description="Optional; for example +77012345678.")
    user_id: int | None = Field(
        None,
        ge=1,
        le=BIGINT_MAX,
        strict=True,
        description="The portal's id of the person's account, if the service knows it.",
    )

    @field_validator("full_name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = _one_line(value)
        if not value:
            raise ValueError(_("Enter the person's full name."))
        return value

    @field_validator("email")
    @classmethod
    def _address(cls, value: str) -> str:
        value = _one_line(value).lower()
        try:
            EmailValidator()(value)
            validate_email_domain(value)
        except ValidationError as exc:
            raise ValueError(exc.messages[0]) from exc
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        value = _one_line(value)
        if not value:
            return ""
        try:
            number = phonenumbers.parse(value, "KZ")
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            raise ValueError(_("Enter a valid phone number, for example +7 701 234 5678."))
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class CorrectionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    field: Literal["full_name", "email", "phone", "postal_address", "other"] = Field(
        description="Which data: " + ", ".join(CorrectableField.values) + "."
    )
    current: str = Field(
        "",
        max_length=VALUE_MAX,
        description="What is wrong now; empty when the data is missing. Required for `other`.",
    )
    correct: str = Field(max_length=VALUE_MAX, description="What it should be.")


class RequestIn(Schema):
    """A request of any type. Besides `person`, `language` and `reason`, give only the fields of its type."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["withdrawal", "access", "correction", "blocking", "destruction", "objection"] = Field(
        description="The right the person exercises."
    )
    submission_token: uuid.UUID | None = Field(
        None,
        description=(
            "A UUID the service makes for this request: the same token sent again returns the first "
            "request and files nothing new (safe retries)."
        ),
    )
    person: PersonIn
    language: Literal["kk", "ru", "en"] = Field(description="The language of the person's emails.")
    reason: str = Field(
        "",
        max_length=REASON_MAX,
        description=(
            "The person's reason: required for `objection` (why they object), and for `blocking` and "
            "`destruction` when `grounds` is `other`; optional otherwise."
        ),
    )
    question: str | None = Field(
        None, max_length=QUESTION_MAX, description="access: what the person most wants to know (optional)."
    )
    corrections: list[CorrectionIn] | None = Field(
        None,
        min_length=1,
        max_length=CORRECTIONS_MAX,
        description=f"correction: 1 to {CORRECTIONS_MAX} corrections, each kind of data once (`other` any).",
    )
    grounds: str | None = Field(
        None,
        max_length=20,
        description=(
            "blocking: `inaccurate`, `unlawful` or `other`; destruction: `not_needed`, `unlawful` or `other`."
        ),
    )
    decision: str | None = Field(
        None,
        max_length=DECISION_MAX,
        description="objection: which automated decision or processing the person objects to.",
    )
    scope: Literal["all", "partial"] | None = Field(None, description="withdrawal: all processing or some.")
    purposes: list[str] | None = Field(
        None,
        max_length=len(Purpose.values),
        description="withdrawal with `scope` partial: the purposes (" + ", ".join(Purpose.values) + ").",
    )
    acknowledgement: bool = Field(
        False,
        strict=True,
        description=(
            "withdrawal of all processing and destruction: the person acknowledged that their user "
            "agreement ends (destruction: and that Alilo keeps what the law requires)."
        ),
    )

    @field_validator("purposes")
    @classmethod
    def _known_purposes(cls, value: list[str] | None) -> list[str] | None:
        unknown = sorted(set(value or []) - set(Purpose.values))
        if unknown:
            raise ValueError(_("Unknown purpose: %(names)s.") % {"names": ", ".join(unknown)})
        return value

    def details(self) -> dict | None:
        """Return the type's details from the fields given (None when none was given)."""
        given = {
            "question": self.question,
            "corrections": [row.model_dump() for row in self.corrections] if self.corrections else None,
            "grounds": self.grounds,
            "decision": self.decision,
        }
        return {key: value for key, value in given.items() if value is not None}


class RequestOut(Schema):
    reference: str = Field(description="AR-, CR-, BR-, DR-, OR- or WR-YYYY-NNNNNN.")
    type: str
    status: str = Field(
        description=(
            "unverified (waiting for the person to confirm from the emailed link), submitted, in_review, "
            "awaiting_information, granted, refused or cancelled."
        )
    )
    email_confirmed: bool = Field(description="Whether the person has confirmed the request.")
    received_at: datetime = Field(description="When the request reached the portal; the term counts from it.")
    registered_at: datetime | None = Field(description="When the person confirmed it.")
    term_working_days: int = Field(description="The statutory term of this type, in Kazakh working days.")
    due_at: datetime | None = Field(description="When the term ends (set once the request is registered).")
    last_day: date | None = Field(description="The last working day of the term (Almaty).")
    decided_at: datetime | None
    cancelled_at: datetime | None


class RequestFiledOut(Schema):
    created: bool = Field(description="False when the same request was filed already (token or content).")
    request: RequestOut


class ErrorOut(Schema):
    detail: str


def _request_out(withdrawal: WithdrawalRequest) -> dict:
    return {
        "reference": withdrawal.reference,
        "type": withdrawal.request_type,
        "status": withdrawal.status,
        "email_confirmed": withdrawal.requester_email_verified,
        "received_at": withdrawal.received_at,
        "registered_at": withdrawal.verified_at,
        "term_working_days": selectors.term_working_days(withdrawal.request_type),
        "due_at": withdrawal.due_at,
        "last_day": selectors.withdrawal_last_day(withdrawal),
        "decided_at": withdrawal.decided_at,
        "cancelled_at": withdrawal.cancelled_at,
    }


# Where each of the service's problems lies, named as in the body.
_LOCATIONS = {
    "full_name": "person.full_name",
    "email": "person.email",
    "phone": "person.phone",
    "details": "body",
    "__all__": "body",
}


def _location(path: str) -> str:
    if path.startswith("details."):
        return path.removeprefix("details.")
    return _LOCATIONS.get(path, path)


def _refused(error: ValidationError) -> ApiError:
    if hasattr(error, "error_dict") and "submission_token" in error.error_dict:
        return ApiError(409, ValidationError(error.error_dict["submission_token"]).messages[0])
    if hasattr(error, "error_dict"):
        errors = [
            {"location": _location(path), "message": message}
            for path, items in error.error_dict.items()
            for message in ValidationError(items).messages
        ]
    else:
        errors = [{"location": "scope", "message": message} for message in error.messages]
    return ApiError(422, _("The request breaks the rules of its type."), errors=errors)


def _account(person: PersonIn):
    """Return the account the service names, once its address is the one given; None when it names none."""
    if person.user_id is None:
        return None
    account = get_user_model().objects.filter(pk=person.user_id, erased_at__isnull=True).first()
    if account is None or account.email.lower() != person.email:
        # One answer for an unknown number and for the wrong address, so a token cannot test which address
        # an account has.
        raise ApiError(
            422,
            _("No account with this number has this address."),
            errors=[{"location": "person.email", "message": _("Give the account's own address.")}],
        )
    return account


@router.post(
    "/requests",
    response={
        200: RequestFiledOut,
        201: RequestFiledOut,
        400: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        415: ErrorOut,
        422: ErrorOut,
    },
    summary="File a request of any type on a person's behalf; the person confirms it from the emailed link",
)
def request_file(request: HttpRequest, payload: RequestIn):
    account = _account(payload.person)
    try:
        withdrawal, created = services.withdrawal_request_submit(
            submission_token=payload.submission_token or uuid.uuid4(),
            requester=account,
            full_name=payload.person.full_name,
            email=payload.person.email,
            phone=payload.person.phone,
            language=payload.language,
            ip=None,
            user_agent="",
            request_type=payload.type,
            scope=payload.scope or "",
            purposes=payload.purposes or [],
            reason=payload.reason,
            acknowledgement=payload.acknowledgement,
            details=payload.details(),
            filed_by=request.auth,
        )
    except ValidationError as error:
        raise _refused(error) from error
    return Status(201 if created else 200, {"created": created, "request": _request_out(withdrawal)})


@router.get(
    "/requests/{reference}",
    response={200: RequestOut, 404: ErrorOut, 422: ErrorOut},
    summary="The status of a request this service filed",
)
def request_status(request: HttpRequest, reference: str):
    reference = reference.strip().upper()
    if not REFERENCE.fullmatch(reference):
        raise ApiError(422, _("A reference looks like AR-2026-000001."))
    withdrawal = WithdrawalRequest.objects.filter(reference=reference, filed_by_service=request.auth).first()
    if withdrawal is None:
        raise ApiError(
            404,
            _(
                "No request with this reference was filed with this token: a service reads only the "
                "requests it filed, and one the person never confirmed is deleted after a few days."
            ),
        )
    return _request_out(withdrawal)
