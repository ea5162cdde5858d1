"""Consent records in the form of ISO/IEC TS 27560:2023, written with the W3C Data Privacy Vocabulary (DPV)
as its guide for 27560 shows, computed from the append-only evidence: an Acceptance row (consent given) or a
granted WithdrawalRequest (consent withdrawn). Nothing is stored: the same evidence gives the same record."""

import hashlib
import hmac
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import translation

from apps.acceptances.models import Acceptance
from apps.withdrawals.models import Purpose, WithdrawalRequest

from .signing import record_sign

CONFORMS_TO = "https://w3id.org/dpv/schema/iso-27560#record"
CONTEXT = {
    "dpv": "https://w3id.org/dpv#",
    "dct": "http://purl.org/dc/terms/",
    "schema": "https://schema.org/",
    "loc": "https://w3id.org/dpv/loc#",
    "alilo": "urn:alilo:consent:",
}
APPLICABLE_LAW = (
    "Law of the Republic of Kazakhstan No. 94-V of 21 May 2013 On Personal Data and Their Protection"
)
# The purposes of clause 2.1 as DPV purposes; the policy's own code stays in dct:identifier.
PURPOSE_TERMS = {
    Purpose.MARKETING: "dpv:Marketing",
    Purpose.ADVERTISING: "dpv:PersonalisedAdvertising",
    Purpose.MARKET_RESEARCH: "dpv:CommercialResearch",
    Purpose.PERSONALISED_SERVICES: "dpv:ServicePersonalisation",
    Purpose.CONTESTS: "dpv:Marketing",
    Purpose.NOTIFICATIONS: "dpv:CommunicationForCustomerCare",
    Purpose.QUALITY_IMPROVEMENT: "dpv:ImproveExistingProductsAndServices",
    Purpose.NEW_PRODUCTS: "dpv:ResearchAndDevelopment",
}
CONSENT_TYPES = {
    Acceptance.Method.SIGNUP: "dpv:ExplicitlyExpressedConsent",
    Acceptance.Method.EXPLICIT: "dpv:ExplicitlyExpressedConsent",
    Acceptance.Method.API: "dpv:ExplicitlyExpressedConsent",
    Acceptance.Method.IMPLICIT: "dpv:ImpliedConsent",
}


def _secret() -> bytes:
    return str(settings.CONSENT_SUBJECT_ID_SECRET).encode("utf-8")


def subject_pseudonym(user_id: int) -> str:
    """Return the person's id in records: an HMAC of the user id (stable; not reversible without the key)."""
    digest = hmac.new(_secret(), f"user:{user_id}".encode(), hashlib.sha256).hexdigest()
    return f"urn:alilo:subject:{digest}"


def _evidence_digest(*values: str) -> str:
    return hmac.new(_secret(), "\x1f".join(values).encode("utf-8"), hashlib.sha256).hexdigest()


def _time(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _record_id(kind: str, pk: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{settings.SITE_URL}/consent-records/{kind}/{pk}"))


def _controller() -> dict:
    return {
        "@type": "dpv:DataController",
        "schema:legalName": settings.ORGANISATION_LEGAL_NAME,
        "schema:taxID": settings.ORGANISATION_BIN,
        "schema:email": settings.PRIVACY_MAILBOX,
        "schema:url": settings.SITE_URL,
    }


def _purposes(codes: Iterable[str]) -> list[dict]:
    labels = dict(Purpose.choices)
    with translation.override("en"):
        return [
            {
                "@type": PURPOSE_TERMS.get(code, "dpv:Purpose"),
                "dct:identifier": code,
                "dct:description": str(labels[code]),
            }
            for code in codes
            if code in labels
        ]


def _notice(version, *, language: str = "", text_sha256: str = "") -> dict:
    notice = {
        "@id": settings.SITE_URL + reverse("policies:version", args=[version.number]),
        "@type": "dpv:PrivacyNotice",
        "dct:hasVersion": version.number,
        "dct:issued": _time(version.published_at),
    }
    if language:
        notice["dct:language"] = language
    if text_sha256:
        notice["schema:sha256"] = text_sha256
    return notice


def _base(*, kind: str, pk: int, user_id: int, created: datetime, status: str) -> dict:
    identifier = _record_id(kind, pk)
    return {
        "@context": CONTEXT,
        "@id": f"urn:uuid:{identifier}",
        "@type": "dpv:ConsentRecord",
        "dct:identifier": identifier,
        "dct:conformsTo": CONFORMS_TO,
        "dct:created": _time(created),
        "dpv:hasDataSubject": {"@id": subject_pseudonym(user_id), "@type": "dpv:DataSubject"},
        "dpv:hasDataController": _controller(),
        "dpv:hasJurisdiction": "loc:KZ",
        "dpv:hasApplicableLaw": APPLICABLE_LAW,
        "dpv:hasLegalBasis": "dpv:Consent",
        "dpv:hasConsentStatus": status,
    }


def consent_record_of_acceptance(acceptance: Acceptance) -> dict:
    """Return the (unsigned) record of one acceptance: consent given to a version of the policy."""
    record = _base(
        kind="acceptance",
        pk=acceptance.pk,
        user_id=acceptance.user_id,
        created=acceptance.recorded_at or acceptance.accepted_at,
        status="dpv:ConsentGiven",
    )
    evidence = {
        "alilo:method": acceptance.method,
        "alilo:channel": acceptance.channel,
        "alilo:emailVerified": acceptance.email_verified,
        # The address and browser stay in the portal; this HMAC lets it show they are the ones recorded.
        "alilo:clientDigest": _evidence_digest(acceptance.ip or "", acceptance.user_agent or ""),
    }
    if acceptance.used_at:
        evidence["alilo:useAfterDeadline"] = _time(acceptance.used_at)
    record.update(
        {
            "dpv:hasNotice": _notice(
                acceptance.version, language=acceptance.language, text_sha256=acceptance.text_sha256
            ),
            "dpv:hasPurpose": _purposes(Purpose.values),
            "dpv:hasConsentType": CONSENT_TYPES[acceptance.method],
            "dpv:isIndicatedBy": "dpv:DataSubject",
            "dpv:isIndicatedAtTime": _time(acceptance.accepted_at),
            "dpv:hasIndicationMethod": evidence,
        }
    )
    return record


def _version_in_force_for(withdrawal: WithdrawalRequest) -> Acceptance | None:
    return (
        Acceptance.objects.select_related("version")
        .filter(user_id=withdrawal.requester_id, accepted_at__lte=withdrawal.decided_at)
        .order_by("-version__number")
        .first()
    )


def consent_record_of_withdrawal(
    withdrawal: WithdrawalRequest, *, accepted: Acceptance | None = None
) -> dict:
    """Return the (unsigned) record of a granted withdrawal: consent withdrawn for all or some purposes."""
    accepted = accepted or _version_in_force_for(withdrawal)
    record = _base(
        kind="withdrawal",
        pk=withdrawal.pk,
        user_id=withdrawal.requester_id,
        created=withdrawal.decided_at,
        status="dpv:ConsentWithdrawn",
    )
    codes = Purpose.values if withdrawal.scope == WithdrawalRequest.Scope.ALL else withdrawal.purposes
    if accepted is not None:
        record["dpv:hasNotice"] = _notice(accepted.version)
    record.update(
        {
            "dpv:hasPurpose": _purposes(codes),
            "dpv:isIndicatedBy": "dpv:DataSubject",
            "dpv:isIndicatedAtTime": _time(withdrawal.received_at or withdrawal.verified_at),
            "dpv:hasIndicationMethod": {
                "alilo:method": "withdrawal",
                "alilo:channel": withdrawal.channel,
                "alilo:scope": withdrawal.scope,
                "alilo:reference": withdrawal.reference,
                "alilo:grantedAt": _time(withdrawal.decided_at),
            },
        }
    )
    return record


def withdrawals_recorded() -> QuerySet[WithdrawalRequest]:
    """Return the withdrawals that have a record: granted, made from an account."""
    return WithdrawalRequest.objects.filter(
        status=WithdrawalRequest.Status.GRANTED, requester__isnull=False, decided_at__isnull=False
    )


def consent_records_of_user(*, user_id: int) -> list[dict]:
    """Return every signed record of one person, oldest first."""
    acceptances = (
        Acceptance.objects.filter(user_id=user_id).select_related("version").order_by("accepted_at", "pk")
    )
    records = [consent_record_of_acceptance(item) for item in acceptances]
    records += [
        consent_record_of_withdrawal(item) for item in withdrawals_recorded().filter(requester_id=user_id)
    ]
    records.sort(key=lambda record: record["dct:created"] or "")
    return [record_sign(record) for record in records]


def consent_records_of_acceptances(
    acceptances: QuerySet[Acceptance], *, with_withdrawals: bool
) -> Iterator[dict]:
    """Yield the signed records of these acceptances and, if asked, of the granted withdrawals that followed
    them (the records of a version, or of a person, for the authority)."""
    pairs: set[tuple[int, int]] = set()
    for acceptance in acceptances.select_related("version").order_by("pk").iterator(chunk_size=500):
        pairs.add((acceptance.user_id, acceptance.version.number))
        yield record_sign(consent_record_of_acceptance(acceptance))
    if not with_withdrawals or not pairs:
        return
    users = sorted({user_id for user_id, _number in pairs})
    for start in range(0, len(users), 500):
        for withdrawal in (
            withdrawals_recorded().filter(requester_id__in=users[start : start + 500]).order_by("pk")
        ):
            accepted = _version_in_force_for(withdrawal)
            if accepted is not None and (withdrawal.requester_id, accepted.version.number) in pairs:
                yield record_sign(consent_record_of_withdrawal(withdrawal, accepted=accepted))


def consent_record_of_user_acceptance(*, user_id: int, acceptance_id: int) -> dict | None:
    """Return the signed record of one of the person's acceptances, or None."""
    acceptance = (
        Acceptance.objects.select_related("version").filter(pk=acceptance_id, user_id=user_id).first()
    )
    return record_sign(consent_record_of_acceptance(acceptance)) if acceptance else None


def my_privacy_section(request) -> dict | None:
    """The "My privacy" section with the signed records to download and the verifier."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return {"template": "records/my_privacy_section.html", "context": {}}
