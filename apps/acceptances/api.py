"""JSON API for the company's other services: consent status, acceptances made in apps, reported uses."""

import json
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address, IPv6Address
from typing import Literal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Query, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer
from pydantic import AwareDatetime, Field, field_validator, model_validator

from apps.core.validators import validate_email_domain
from apps.policies.models import PolicyVersion
from apps.policies.selectors import policy_version_current, policy_version_is_current

from . import services
from .models import Acceptance
from .selectors import consent_status, consent_status_data

LanguageCode = Literal["kk", "ru", "en"]
# The window a reported use must fall in. A use counts towards an implicit acceptance, so one dated ahead of
# its report would be evidence of something that had not happened yet: only clocks that differ are allowed
# for (5 minutes, not a day). A use older than a year is a client's mistake, not one to act on now; the
# portal's epoch bounds the past on its own should USE_MAX_AGE ever grow.
PORTAL_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
USE_MAX_AGE = timedelta(days=366)
CLOCK_SKEW = timedelta(minutes=5)
BIGINT_MAX = 2**63 - 1
INT_MAX = 2**31 - 1


class ServiceTokenAuth(HttpBearer):
    def authenticate(self, request, token):
        return services.service_token_authenticate(raw=token)


class ApiError(Exception):
    def __init__(self, status: int, detail: str, **extra) -> None:
        self.status, self.detail, self.extra = status, detail, extra


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


class StrictJsonParser(Parser):
    """Read a body only when it is declared as JSON, and only as standard JSON in UTF-8 (RFC 8259).

    Django-ninja would read any body as JSON whatever its type, guess UTF-16 or UTF-32 from the bytes, and
    accept NaN and Infinity.
    """

    def parse_body(self, request: HttpRequest):
        if request.content_type != "application/json":
            raise ApiError(415, _("Send the body as JSON, with the header 'Content-Type: application/json'."))
        try:
            return json.loads(request.body.decode("utf-8"), parse_constant=_no_constant)
        except ValueError as exc:  # also UnicodeDecodeError
            raise ApiError(400, _("The body is not valid JSON in UTF-8.")) from exc


api = NinjaAPI(
    title="Alilo Privacy Portal API",
    version="1",
    description=(
        "Consent status (with the purposes a user withdrew consent for), acceptances recorded in apps, "
        "uses of the service reported elsewhere, and requests of the data subject (access, correction, "
        "blocking, destruction, objection, withdrawal) filed on a person's behalf, which the person "
        "confirms from an emailed link; changes of consent are also posted to each service's "
        "webhook, signed (docs/webhooks.md). "
        "Bodies are JSON in UTF-8 sent as `Content-Type: application/json` (anything else is a 415), "
        "ids are JSON integers, and a use's time lies between a year ago and 5 minutes ahead."
    ),
    auth=ServiceTokenAuth(),
    urls_namespace="api-v1",
    parser=StrictJsonParser(),
)


@api.exception_handler(ApiError)
def _api_error(request, exc: ApiError):
    return api.create_response(request, {"detail": exc.detail, **exc.extra}, status=exc.status)


@api.exception_handler(AuthenticationError)
def _auth_error(request, exc):
    return api.create_response(
        request,
        {"detail": _("Missing, invalid or revoked service token. Send 'Authorization: Bearer <token>'.")},
        status=401,
    )


@api.exception_handler(NinjaValidationError)
def _validation_error(request, exc: NinjaValidationError):
    errors = [
        {
            "location": ".".join(str(part) for part in error.get("loc", [])),
            "message": error.get("msg", ""),
        }
        for error in exc.errors
    ]
    return api.create_response(
        request, {"detail": _("The request is malformed."), "errors": errors}, status=422
    )


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    # Django-ninja wraps whatever the parser raises in a 400 "Cannot parse request body".
    if isinstance(exc.__cause__, ApiError):
        return _api_error(request, exc.__cause__)
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


# --- Schemas ------------------------------------------------------------------------------------


def _visible(value: str | None) -> str | None:
    """Refuse control characters (PostgreSQL cannot store NUL; none belongs in an email or a user agent)."""
    if value and any(ord(character) < 32 or ord(character) == 127 for character in value):
        raise ValueError(_("Control characters are not allowed."))
    return value


class UserRef(Schema):
    """A user named in a JSON body: the id must be a JSON integer (not `true`, not `"3"`)."""

    user_id: int | None = Field(None, ge=1, le=BIGINT_MAX, strict=True, description="The portal's user id.")
    email: str | None = Field(None, max_length=254, description="The user's email (case-insensitive).")

    @field_validator("email")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        value = _visible(value)
        if value:
            try:
                validate_email_domain(value)
            except ValidationError as exc:
                raise ValueError(exc.messages[0]) from exc
        return value

    @model_validator(mode="after")
    def _one_of(self):
        if (self.user_id is None) == (not self.email):
            raise ValueError(_("Give exactly one of user_id or email."))
        return self

    @property
    def label(self) -> str:
        return str(self.user_id) if self.user_id is not None else (self.email or "")


class UserQuery(UserRef):
    """A user named in the query string, where every value is text: the id is read from its digits."""

    user_id: int | None = Field(None, ge=1, le=BIGINT_MAX, description="The portal's user id.")


class VersionOut(Schema):
    number: int
    published_at: datetime
    implicit_acceptance_at: datetime | None


class AcceptanceOut(Schema):
    id: int
    version: int
    method: str
    channel: str
    accepted_at: datetime
    used_at: datetime | None
    text_sha256: str
    language: str
    email_verified: bool = Field(
        description="Whether the user had confirmed their email address when the acceptance was recorded."
    )


class WithdrawnPurposeOut(Schema):
    purpose: str = Field(
        description=(
            "The code of a purpose of processing from clause 2.1 of the policy (marketing, advertising, "
            "market_research, personalised_services, contests, notifications, quality_improvement, "
            "new_products), or `all`: consent to all processing was withdrawn, so every purpose is."
        )
    )
    withdrawn_at: datetime = Field(description="When the withdrawal was granted; stop processing from then.")
    reference: str = Field(description="The reference of the withdrawal request (WR-YYYY-NNNNNN), if any.")


class ConsentStatusOut(Schema):
    user_id: int
    current_version: VersionOut | None
    accepted: bool
    acceptance: AcceptanceOut | None
    deadline: datetime | None = Field(description="From this moment continued use counts as acceptance.")
    implicit_acceptance_enabled: bool
    consent_withdrawn_at: datetime | None = Field(
        description="When consent to all processing was withdrawn (a granted full withdrawal)."
    )
    agreement_status: str
    all_purposes_withdrawn: bool = Field(
        description="True once consent to all processing is withdrawn: process the data for no purpose."
    )
    purposes_withdrawn: list[WithdrawnPurposeOut] = Field(
        description="Each purpose the user withdrew consent for, oldest first, and since when."
    )
    erased_at: datetime | None = Field(
        description="When the user's personal data was erased (3 years after the agreement ended)."
    )
    blocked_at: datetime | None = Field(
        description=(
            "Since when the person's data is blocked (a granted blocking request): collect, use, share, "
            "change or erase none of it until this is null again."
        )
    )
    automated_processing_objected_at: datetime | None = Field(
        description=(
            "When the person's objection to decisions made solely by automated processing was granted "
            "(Law on Personal Data, Art. 19-1): make no such decision about them from then on."
        )
    )


class AcceptanceIn(UserRef):
    version: int = Field(
        ge=1,
        le=INT_MAX,
        strict=True,
        description="The number of the version the user accepted; must be in force.",
    )
    channel: Literal["app", "api"]
    language: LanguageCode
    ip: IPv4Address | IPv6Address | None = Field(None, description="The client's IP address.")
    user_agent: str = Field("", max_length=500)
    text_sha256: str = Field("", pattern=r"^([0-9a-f]{64})?$", description="SHA-256 of the text shown.")

    @field_validator("user_agent")
    @classmethod
    def _no_control_characters_in_user_agent(cls, value: str) -> str:
        return _visible(value) or ""


class AcceptanceCreatedOut(Schema):
    created: bool
    acceptance: AcceptanceOut


class UseIn(UserRef):
    used_at: AwareDatetime = Field(
        description="When the user used the service (with a time zone): within the last year, not ahead."
    )
    channel: Literal["web", "app", "api"]

    @field_validator("used_at")
    @classmethod
    def _recent(cls, value: datetime) -> datetime:
        now = timezone.now()
        if value > now + CLOCK_SKEW:
            raise ValueError(_("The time of use is in the future."))
        if value < PORTAL_EPOCH:
            raise ValueError(_("The time of use is before the portal existed."))
        if value < now - USE_MAX_AGE:
            raise ValueError(_("The time of use is more than a year ago."))
        return value


class UseBatchIn(Schema):
    uses: list[UseIn] = Field(min_length=1)

    @field_validator("uses")
    @classmethod
    def _not_too_many(cls, value: list) -> list:
        if len(value) > settings.API_USE_BATCH_MAX:
            raise ValueError(_("At most %(max)s uses per batch.") % {"max": settings.API_USE_BATCH_MAX})
        return value


class UseBatchOut(Schema):
    recorded: int


class ErrorOut(Schema):
    detail: str


# --- Helpers ------------------------------------------------------------------------------------


def _acceptance_out(acceptance: Acceptance, number: int) -> dict:
    return {
        "id": acceptance.pk,
        "version": number,
        "method": acceptance.method,
        "channel": acceptance.channel,
        "accepted_at": acceptance.accepted_at,
        "used_at": acceptance.used_at,
        "text_sha256": acceptance.text_sha256,
        "language": acceptance.language,
        "email_verified": acceptance.email_verified,
    }


def _resolve(refs: list[UserRef]) -> dict[str, int]:
    """Map each reference's label to a user id; unknown users raise a 404 naming them."""
    User = get_user_model()
    ids = {ref.user_id for ref in refs if ref.user_id is not None}
    emails = {ref.email.strip().lower() for ref in refs if ref.email}
    found: dict[str, int] = {}
    if ids:
        found.update({str(pk): pk for pk in User.objects.filter(pk__in=ids).values_list("pk", flat=True)})
    if emails:
        found.update(dict(User.objects.filter(email__in=emails).values_list("email", "pk")))
    unknown = []
    for ref in refs:
        key = str(ref.user_id) if ref.user_id is not None else ref.email.strip().lower()
        if key not in found and ref.label not in unknown:
            unknown.append(ref.label)
    if unknown:
        raise ApiError(404, _("Unknown user."), unknown=unknown)
    return {
        ref.label: found[str(ref.user_id) if ref.user_id is not None else ref.email.strip().lower()]
        for ref in refs
    }


# --- Endpoints ----------------------------------------------------------------------------------


@api.get(
    "/consent-status",
    response={200: ConsentStatusOut, 404: ErrorOut},
    summary="A user's consent status towards the version in force",
)
def consent_status_get(request: HttpRequest, user: Query[UserQuery]):
    user_id = _resolve([user])[user.label]
    return consent_status_data(consent_status(user=get_user_model().objects.get(pk=user_id)))


@api.post(
    "/acceptances",
    response={
        200: AcceptanceCreatedOut,
        201: AcceptanceCreatedOut,
        400: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        415: ErrorOut,
        422: ErrorOut,
    },
    summary="Record an explicit acceptance the user made in an app",
)
def acceptance_create(request: HttpRequest, payload: AcceptanceIn):
    user_id = _resolve([payload])[payload.label]
    version = PolicyVersion.objects.filter(
        number=payload.version, status=PolicyVersion.Status.PUBLISHED
    ).first()
    if version is None:
        raise ApiError(404, _("Version %(number)s is not published.") % {"number": payload.version})
    if not policy_version_is_current(version=version):
        current = policy_version_current()
        raise ApiError(
            409,
            _("Version %(number)s is not the version in force.") % {"number": payload.version},
            current_version=current.number if current else None,
        )
    try:
        acceptance, created = services.acceptance_record_api(
            user=get_user_model().objects.get(pk=user_id),
            version=version,
            channel=payload.channel,
            language=payload.language,
            ip=str(payload.ip) if payload.ip else None,
            user_agent=payload.user_agent,
            text_sha256=payload.text_sha256,
            token=request.auth,
        )
    except services.VersionNotCurrent as exc:
        raise ApiError(409, _("This version is not the version in force.")) from exc
    except services.AcceptanceError as exc:
        raise ApiError(422, _("The text hash does not belong to this version.")) from exc
    return 201 if created else 200, {
        "created": created,
        "acceptance": _acceptance_out(acceptance, version.number),
    }


@api.post(
    "/uses",
    response={200: UseBatchOut, 400: ErrorOut, 404: ErrorOut, 415: ErrorOut, 422: ErrorOut},
    summary="Report a batch of uses of the service (applied whole or not at all)",
)
def uses_report(request: HttpRequest, payload: UseBatchIn):
    users = _resolve(payload.uses)
    recorded = services.use_reports_record(
        token=request.auth,
        uses=[
            services.UseInput(user_id=users[use.label], used_at=use.used_at, channel=use.channel)
            for use in payload.uses
        ],
    )
    return {"recorded": recorded}
