"""Links to the public policy pages, which live in the policies app."""

from django.urls import NoReverseMatch, reverse

FALLBACK_PATHS = {
    "policies:current": "/privacy_policy/",
    "policies:version": "/privacy_policy/v/{0}/",
    "policies:diff": "/privacy_policy/diff/{0}/{1}/",
}


def policy_url(name: str, *args) -> str:
    """Reverse a policies URL; fall back to its public path while that app has no such route."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return FALLBACK_PATHS[name].format(*args)
