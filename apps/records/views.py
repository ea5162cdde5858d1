import json

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.decorators import ratelimit

from . import keys
from .forms import RecordUploadForm
from .selectors import consent_record_of_user_acceptance, consent_records_of_user
from .signing import record_verify

REASONS = {
    "malformed": lambda: _("This file is not a consent record of this portal."),
    "no_proof": lambda: _("This file carries no signature of this portal, so it cannot be checked."),
    "unknown_key": lambda: _(
        "This record was signed with a key this portal never published. It is not genuine."
    ),
    "altered": lambda: _(
        "The signature does not match: the record was changed after it was signed, or it is not genuine."
    ),
}


def verification_message(reason: str) -> str:
    return REASONS[reason]()


def _json_download(data, name: str) -> HttpResponse:
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2), content_type="application/ld+json; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@cache_control(public=True, max_age=300)
def jwks(request):
    """The public keys that check consent records (current and retired), as a JWKS (RFC 7517)."""
    return JsonResponse(keys.published_jwks(), content_type="application/jwk-set+json")


@login_required
@require_GET
def acceptance_record(request, pk: int):
    """One acceptance's signed record, for its owner only."""
    record = consent_record_of_user_acceptance(user_id=request.user.pk, acceptance_id=pk)
    if record is None:
        raise Http404
    return _json_download(record, f"consent-record-{record['dct:identifier']}.json")


@login_required
@require_GET
def my_records(request):
    """Every signed record of the signed-in person: acceptances and granted withdrawals."""
    return _json_download(consent_records_of_user(user_id=request.user.pk), "consent-records.json")


@ratelimit(key="ip", rate="30/m", method="POST", block=True)
@require_http_methods(["GET", "POST"])
def verify(request):
    """Check a consent record file: genuine and unchanged, or why not. Anyone may use it."""
    result = None
    if request.method == "POST":
        form = RecordUploadForm(request.POST, request.FILES)
        if form.is_valid():
            document = form.cleaned_data["record"]
            records = document if isinstance(document, list) else [document]
            results = [record_verify(item) for item in records[:100]]
            result = {
                "count": len(records),
                "checked": [
                    {
                        "valid": item.valid,
                        "message": "" if item.valid else verification_message(item.reason),
                        "status": item.record.get("dpv:hasConsentStatus", ""),
                        "created": item.record.get("dct:created", ""),
                        "version": (item.record.get("dpv:hasNotice") or {}).get("dct:hasVersion", ""),
                        "identifier": item.record.get("dct:identifier", ""),
                    }
                    for item in results
                ],
                "all_valid": bool(results) and all(item.valid for item in results),
            }
    else:
        form = RecordUploadForm()
    return render(request, "records/verify.html", {"form": form, "result": result})
