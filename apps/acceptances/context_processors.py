from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language

from .selectors import policy_summary_cached


def policy_banner(request):
    """Offer the banner to a signed-in user who has not accepted the version in force."""
    current = getattr(request, "policy_pending", None)
    if current is None:
        return {"policy_banner": None}
    match = getattr(request, "resolver_match", None)
    if match is not None and match.view_name == "acceptances:accept":
        return {"policy_banner": None}
    deadline = current.implicit_acceptance_at
    previous = current.number - 1
    return {
        "policy_banner": {
            "number": current.number,
            "published_at": current.published_at,
            "deadline": deadline,
            "deadline_passed": bool(deadline and timezone.now() >= deadline),
            "summary": policy_summary_cached(version_id=current.id, language=get_language()),
            "text_url": reverse("policies:current"),
            "diff_url": reverse("policies:diff", args=[previous, current.number]) if previous >= 1 else "",
            "withdrawn": request.user.consent_withdrawn_at is not None,
        }
    }
