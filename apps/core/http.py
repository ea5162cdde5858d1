"""What the portal reads from a request regardless of the app handling it."""

from django.conf import settings


def client_ip(request) -> str | None:
    """Return the client address as trusted by the deployment (see TRUSTED_PROXIES)."""
    proxies = getattr(settings, "TRUSTED_PROXIES", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR") or None
