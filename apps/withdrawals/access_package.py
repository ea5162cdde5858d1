"""What an access package holds (Law on Personal Data, Art. 24; docs/access-package.md): what the portal
holds about the person and what each connected service returned, with the purposes, sources, recipients and
retention of the processing, as one document. The JSON file is the document; the readable page is rendered
from the same document, in the person's language."""

import io
import json
import zipfile
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.acceptances.selectors import acceptance_history
from apps.accounts.models import PurposeWithdrawal
from apps.accounts.selectors import purposes_withdrawn
from apps.core.organisation import organisation_name
from apps.notifications.labels import template_label
from apps.notifications.selectors import outbox_emails_to
from apps.notifications.services import ERASED_EMAIL, outbox_email_subject

from . import selectors
from .models import Purpose, RequestType, ThirdParty, WithdrawalRequest

FORMAT = "alilo-access-package"
FORMAT_VERSION = 1
# What each connected service says about itself in an access answer (ConnectedService.texts()).
SERVICE_TEXTS = ("data_held", "purposes", "sources", "recipients", "retention")
# A service's answer is shown in the readable page to this depth; deeper parts are shown as JSON text.
HTML_DEPTH = 6


def _time(moment: datetime | None) -> str | None:
    """Return a moment as ISO 8601 in UTC, the form every time in the document takes."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if moment else None


def _label(choices, value: str) -> str:
    return str(dict(choices).get(value, value))


def _account(user) -> dict | None:
    if user is None:
        return None
    withdrawn = purposes_withdrawn(user_ids=[user.pk])[user.pk]
    return {
        "email": user.email,
        "email_confirmed_at": _time(user.email_verified_at),
        "full_name": user.full_name,
        "phone": str(user.phone or ""),
        "language": user.language,
        "joined_at": _time(user.date_joined),
        "last_login_at": _time(user.last_login),
        "last_used_at": _time(user.last_used_at),
        "agreement": {
            "status": user.agreement_status,
            "status_label": str(user.get_agreement_status_display()),
            "ended_at": _time(user.agreement_ended_at),
        },
        "consent_withdrawn_at": _time(user.consent_withdrawn_at),
        "purposes_withdrawn": [
            {
                "purpose": row.purpose,
                "label": _("All purposes")
                if row.purpose == PurposeWithdrawal.ALL
                else _label(Purpose.choices, row.purpose),
                "withdrawn_at": _time(row.withdrawn_at),
                "request": row.reference,
            }
            for row in withdrawn
        ],
    }


def _acceptances(user) -> list[dict]:
    if user is None:
        return []
    return [
        {
            "policy_version": acceptance.version.number,
            "accepted_at": _time(acceptance.accepted_at),
            "recorded_at": _time(acceptance.recorded_at),
            "method": acceptance.method,
            "method_label": str(acceptance.get_method_display()),
            "channel": acceptance.channel,
            "channel_label": str(acceptance.get_channel_display()),
            "text_language": acceptance.language,
            "text_sha256": acceptance.text_sha256,
            "ip": acceptance.ip,
            "user_agent": acceptance.user_agent,
            "email_confirmed": acceptance.email_verified,
            "use_counted_at": _time(acceptance.used_at),
            "use_source": acceptance.use_source,
        }
        for acceptance in acceptance_history(user=user).order_by("accepted_at", "pk")
    ]


def _requests_of(withdrawal: WithdrawalRequest, user) -> list[WithdrawalRequest]:
    """The registered requests of the person: from their account, or from the request's address."""
    theirs = Q(pk=withdrawal.pk)
    if user is not None:
        theirs |= Q(requester=user)
    if withdrawal.email:
        theirs |= Q(email=withdrawal.email)
    return list(
        WithdrawalRequest.objects.filter(theirs)
        .exclude(status=WithdrawalRequest.Status.UNVERIFIED)
        .order_by("received_at", "pk")
    )


def _request(item: WithdrawalRequest) -> dict:
    last_day = selectors.withdrawal_last_day(item)
    return {
        "reference": item.reference,
        "type": item.request_type,
        "type_label": _label(RequestType.choices, item.request_type),
        "status": item.status,
        "status_label": str(item.get_status_display()),
        "channel": item.channel,
        "channel_label": str(item.get_channel_display()),
        "received_at": _time(item.received_at),
        "registered_at": _time(item.verified_at),
        "due_date": last_day.isoformat() if last_day else None,
        "decided_at": _time(item.decided_at),
        "decision_reason": item.decision_reason,
        "cancelled_at": _time(item.cancelled_at),
        "full_name": item.full_name,
        "email": item.email,
        "phone": str(item.phone or ""),
        "postal_address": item.postal_address,
        "language": item.language,
        "scope": item.scope,
        "purposes": [{"purpose": code, "label": _label(Purpose.choices, code)} for code in item.purposes],
        "reason": item.reason,
        "details": item.details,
        "ip": item.ip,
        "user_agent": item.user_agent,
        "timeline": [
            {
                "at": _time(entry.created_at),
                "event": entry.kind,
                "event_label": str(entry.get_kind_display()),
                "text": entry.text,
            }
            for entry in selectors.withdrawal_timeline_for_requester(item)
        ],
    }


# Emails a staff member gets in that role (about other people's requests and breaches): not their own
# personal data, and not theirs to see in a package.
STAFF_TEMPLATES = (
    "withdrawal_application",
    "withdrawal_staff_update",
    "withdrawal_third_party",
    "withdrawal_due_digest",
    "breach_recorded",
    "breach_digest",
)


def _emails(user, requests: list[WithdrawalRequest]) -> list[dict]:
    addresses = {item.email for item in requests if item.email} - {ERASED_EMAIL}
    if user is not None:
        addresses.add(user.email)
    rows = (
        outbox_emails_to(user_id=user.pk if user else None, emails=sorted(addresses))
        .exclude(to=ERASED_EMAIL)
        .exclude(template__in=STAFF_TEMPLATES)
    )
    return [
        {
            "subject": outbox_email_subject(email),
            "kind": email.template,
            "kind_label": template_label(email.template),
            "to": email.to,
            "language": email.language,
            "created_at": _time(email.created_at),
            "sent_at": _time(email.sent_at),
            "status": email.status,
            "status_label": str(email.get_status_display()),
            "delivery_report": email.tracking_status,
        }
        for email in rows
    ]


def _services(calls: list, language: str) -> list[dict]:
    rows = []
    for call in calls:
        texts = call.service.texts(language)
        rows.append(
            {
                "name": call.service.name,
                "state": call.state,
                "state_label": str(call.get_state_display()),
                "answered_at": _time(call.answered_at),
                "message": call.message,
                **{part: texts.get(part, "") for part in SERVICE_TEXTS},
                "data": call.result if call.state == "done" else None,
            }
        )
    return rows


def _processing(services: list[dict]) -> dict:
    """The purposes, sources, recipients and retention of the processing (Art. 24: what the operator tells
    the person), from the policy and the services' own descriptions."""
    return {
        "legal_basis": _(
            "Your consent to the collection and processing of personal data under the privacy policy, "
            "given when you accepted it (Law on Personal Data, Art. 7)."
        ),
        "purposes": [{"purpose": code, "label": str(label)} for code, label in Purpose.choices],
        "purposes_clause": "2.1",
        "sources": [
            _("You: what you entered in the portal's forms (sign-up, your account, your requests)."),
            _(
                "Your browser: the IP address and browser name recorded when you accepted the policy or "
                "filed a request, kept as evidence."
            ),
            _("Alilo's services you use, as each describes below."),
        ],
        "recipients": {
            "third_parties": [
                {"name": party.name} for party in ThirdParty.objects.filter(active=True).order_by("name")
            ],
            "services": [
                {"service": item["name"], "recipients": item["recipients"]}
                for item in services
                if item["recipients"]
            ],
        },
        "retention": {
            "years_after_agreement_ends": settings.RETENTION_YEARS,
            "clause": "2.4",
            "text": _(
                "Your personal data is kept for %(years)s years after the user agreement ends, unless the "
                "law sets a shorter term, and then erased (privacy policy, clause 2.4)."
            )
            % {"years": settings.RETENTION_YEARS},
            "package_erased_after_days": settings.ACCESS_PACKAGE_KEEP_DAYS,
        },
        "storage": _("The portal's database is located in the Republic of Kazakhstan (Art. 12(2))."),
    }


def access_package_document(
    *, withdrawal: WithdrawalRequest, account, calls: list, now: datetime | None = None
) -> dict[str, Any]:
    """Return the package's document, JSON-safe, with its texts in the request's language.

    `account` is the account the request concerns (or None); `calls` are the request's export calls to the
    connected services, each with its service, state and answer.
    """
    now = now or timezone.now()
    language = withdrawal.language
    with translation.override(language):
        requests = _requests_of(withdrawal, account)
        services = _services(calls, language)
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "language": language,
            "generated_at": _time(now),
            "controller": {
                "name": organisation_name(language),
                "legal_name": settings.ORGANISATION_LEGAL_NAME,
                "bin": settings.ORGANISATION_BIN,
                "email": settings.PRIVACY_MAILBOX,
                "website": settings.SITE_URL,
            },
            "request": {
                "reference": withdrawal.reference,
                "received_at": _time(withdrawal.received_at),
                "registered_at": _time(withdrawal.verified_at),
                "full_name": withdrawal.full_name,
                "email": withdrawal.email,
            },
            "portal": {
                "account": _account(account),
                "acceptances": _acceptances(account),
                "requests": [_request(item) for item in requests],
                "emails": _emails(account, requests),
            },
            "services": services,
            "processing": _processing(services),
        }


def _parse_time(value: Any) -> Any:
    """Return an ISO time of the document as a datetime; anything else as it is."""
    if not isinstance(value, str) or not value:
        return value
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value


def _tree(value: Any, depth: int = 0) -> dict:
    """Return a service's answer as nested nodes the readable page shows as lists and tables."""
    if depth >= HTML_DEPTH and isinstance(value, (dict, list)):
        return {"kind": "text", "text": json.dumps(value, ensure_ascii=False)}
    if isinstance(value, dict):
        return {"kind": "map", "items": [(str(key), _tree(item, depth + 1)) for key, item in value.items()]}
    if isinstance(value, list):
        return {"kind": "list", "items": [_tree(item, depth + 1) for item in value]}
    if value is None:
        return {"kind": "text", "text": "—"}
    if isinstance(value, bool):
        return {"kind": "text", "text": _("yes") if value else _("no")}
    return {"kind": "text", "text": str(value)}


TIME_KEYS = {
    "email_confirmed_at",
    "joined_at",
    "last_login_at",
    "last_used_at",
    "ended_at",
    "consent_withdrawn_at",
    "withdrawn_at",
    "accepted_at",
    "recorded_at",
    "use_counted_at",
    "received_at",
    "registered_at",
    "decided_at",
    "cancelled_at",
    "at",
    "created_at",
    "sent_at",
    "answered_at",
    "generated_at",
}


# What the requester or a service wrote, shown as it came.
AS_WRITTEN_KEYS = {"data", "details"}


def _with_times(value: Any) -> Any:
    """Return the document with its ISO times as datetimes, for the template's date filters."""
    if isinstance(value, dict):
        return {
            key: item
            if key in AS_WRITTEN_KEYS
            else _parse_time(item)
            if key in TIME_KEYS
            else _with_times(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_with_times(item) for item in value]
    return value


def access_package_html(document: dict[str, Any]) -> str:
    """Return the readable page of a package's document: standalone (no outside files), printable, in the
    document's language."""
    language = document.get("language") or settings.LANGUAGE_CODE
    shown = _with_times(document)
    for service in shown.get("services", []):
        service["tree"] = _tree(service["data"]) if service.get("data") is not None else None
    for item in shown.get("portal", {}).get("requests", []):
        item["details_rows"] = [
            (key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
            for key, value in (item.get("details") or {}).items()
        ]
    with translation.override(language), timezone.override(settings.TIME_ZONE):
        return render_to_string("documents/access_package.html", {"doc": shown, "language": language})


def access_package_file(package, file_format: str) -> tuple[bytes, str, str]:
    """Return a package as a file to download: (content, content type, file name). `file_format` is "json",
    "html" or "zip" (both, in one archive)."""
    name = f"alilo-data-{package.request.reference}"
    as_json = json.dumps(package.document, ensure_ascii=False, indent=2).encode("utf-8")
    as_html = package.html.encode("utf-8")
    if file_format == "json":
        return as_json, "application/json; charset=utf-8", f"{name}.json"
    if file_format == "html":
        return as_html, "text/html; charset=utf-8", f"{name}.html"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{name}.json", as_json)
        archive.writestr(f"{name}.html", as_html)
    return buffer.getvalue(), "application/zip", f"{name}.zip"
