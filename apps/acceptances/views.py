from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.module_loading import import_string
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from apps.core.http import client_ip
from apps.core.organisation import organisation_name
from apps.policies.models import PolicyVersion
from apps.policies.selectors import (
    implicit_acceptance_passed,
    policy_text_for,
    policy_version_current,
    policy_version_is_current,
)

from . import services
from .middleware import session_state_set
from .models import Acceptance
from .selectors import acceptance_get, acceptance_history, consent_status, purpose_labels


def _safe_next(request) -> str | None:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


@login_required
@require_http_methods(["GET", "POST"])
def accept(request, number: int):
    """Show a published version and let the signed-in user accept it (POST, idempotent)."""
    version = get_object_or_404(PolicyVersion, number=number, status=PolicyVersion.Status.PUBLISHED)
    is_current = policy_version_is_current(version=version)
    current = version if is_current else policy_version_current()
    if request.method == "POST":
        if not is_current:
            messages.error(request, _("This version is no longer in force. Please read the current version."))
            return redirect("acceptances:accept", number=current.number) if current else redirect("home")
        try:
            acceptance, created = services.acceptance_record_explicit(
                user=request.user,
                version=version,
                language=get_language(),
                ip=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
                text_sha256=(request.POST.get("text_sha256") or "")[:64],
            )
        except services.VersionNotCurrent:
            messages.error(request, _("This version is no longer in force. Please read the current version."))
            return redirect("home")
        except services.AcceptanceError:
            messages.error(request, _("The text you saw does not match this version. Please read it again."))
            return redirect("acceptances:accept", number=number)
        session_state_set(request, number=version.number, accepted=True)
        if created:
            messages.success(
                request, _("Thank you. You accepted version %(number)s.") % {"number": version.number}
            )
        else:
            messages.info(
                request,
                _("You had already accepted version %(number)s on %(date)s.")
                % {
                    "number": version.number,
                    "date": timezone.localtime(acceptance.accepted_at).strftime("%d.%m.%Y %H:%M"),
                },
            )
        return redirect(_safe_next(request) or "acceptances:my_privacy")
    text, fell_back = policy_text_for(version=version, language=get_language())
    context = {
        "version": version,
        "text": text,
        "fell_back": fell_back,
        "is_current": is_current,
        "current": current,
        "acceptance": acceptance_get(user_id=request.user.pk, version_id=version.pk),
        "deadline_passed": implicit_acceptance_passed(deadline=version.implicit_acceptance_at),
        "next": request.GET.get("next", ""),
        "diff_url": reverse("policies:diff", args=[version.number - 1, version.number])
        if version.number > 1
        else "",
    }
    return render(request, "acceptances/accept.html", context)


def _sections(request) -> list[str]:
    """Render the sections other apps register in MY_PRIVACY_SECTIONS, in order."""
    rendered = []
    for path in getattr(settings, "MY_PRIVACY_SECTIONS", []):
        section = import_string(path)(request)
        if section:
            rendered.append(
                render_to_string(section["template"], section.get("context") or {}, request=request)
            )
    return rendered


@login_required
def my_privacy(request):
    """The signed-in user's version in force, acceptance history with evidence, and other sections."""
    status = consent_status(user=request.user)
    history = list(acceptance_history(user=request.user))
    context = {
        "status": status,
        "history": history,
        "latest_accepted": history[0] if history else None,
        "deadline_passed": bool(
            status.current and implicit_acceptance_passed(deadline=status.current.implicit_acceptance_at)
        ),
        "withdrawn_purposes": list(
            zip(
                purpose_labels([item.purpose for item in status.purposes_withdrawn]),
                status.purposes_withdrawn,
                strict=True,
            )
        ),
        "sections": _sections(request),
        "policy_link": reverse("policies:current"),
    }
    return render(request, "acceptances/my_privacy.html", context)


@login_required
def receipt(request, pk: int):
    """A printable receipt of one acceptance; only its owner may open it."""
    acceptance = (
        Acceptance.objects.select_related("version", "user", "use_report__token")
        .filter(pk=pk, user=request.user)
        .first()
    )
    if acceptance is None:
        raise Http404
    return render(
        request,
        "acceptances/receipt.html",
        {
            "acceptance": acceptance,
            "organisation_name": organisation_name(),
            "version_url": request.build_absolute_uri(
                reverse("policies:version", args=[acceptance.version.number])
            ),
        },
    )
