"""The signed consent records of a person or of a version, for the company's other services (the API's
service-token authentication applies)."""

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from pydantic import model_validator

from apps.acceptances.models import Acceptance

from .selectors import consent_records_of_acceptances, consent_records_of_user

router = Router(tags=["consent records"])
MAX_ROWS = 1000


class RecordsQuery(Schema):
    user_id: int | None = Field(None, ge=1, le=2**63 - 1, description="The portal's user id.")
    email: str | None = Field(None, max_length=254, description="The user's email (case-insensitive).")

    @model_validator(mode="after")
    def _one_of(self):
        if (self.user_id is None) == (not self.email):
            raise ValueError(_("Give exactly one of user_id or email."))
        return self


class RecordsOut(Schema):
    records: list[dict]
    jwks_url: str


class DetailOut(Schema):
    detail: str


@router.get(
    "/consent-records",
    response={200: RecordsOut, 404: DetailOut},
    summary="A person's signed consent records (ISO/IEC 27560, JSON-LD with DPV, each signed by a JWS)",
)
def consent_records_get(request: HttpRequest, person: Query[RecordsQuery]):
    from .signing import jwks_url

    users = get_user_model().objects
    user = (
        users.filter(pk=person.user_id).first()
        if person.user_id is not None
        else users.filter(email=person.email.strip().lower()).first()
    )
    if user is None:
        return 404, {"detail": _("Unknown user.")}
    return 200, {"records": consent_records_of_user(user_id=user.pk), "jwks_url": jwks_url()}


@router.get(
    "/consent-records/version/{number}",
    response={200: RecordsOut},
    summary="The signed records of the acceptances of one policy version (the first 1000 after `after_id`)",
)
def consent_records_of_version(request: HttpRequest, number: int, after_id: int = 0):
    from .signing import jwks_url

    acceptances = Acceptance.objects.filter(version__number=number, pk__gt=after_id).order_by("pk")
    ids = list(acceptances.values_list("pk", flat=True)[:MAX_ROWS])
    records = list(
        consent_records_of_acceptances(Acceptance.objects.filter(pk__in=ids), with_withdrawals=False)
    )
    return 200, {"records": records, "jwks_url": jwks_url()}
