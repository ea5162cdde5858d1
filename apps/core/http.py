"""What the portal reads from a request regardless of the app handling it."""

import ipaddress

from django.conf import settings


def client_ip(request) -> str | None:
    """Return the client address as trusted by the deployment (see TRUSTED_PROXIES).

    A forwarded hop that is not an IP address (a forged or broken header) is not trusted: the socket's
    address is used instead.
    """
    proxies = getattr(settings, "TRUSTED_PROXIES", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies and _is_ip(hops[-proxies]):
            return str(ipaddress.ip_address(hops[-proxies]))
    return request.META.get("REMOTE_ADDR") or None


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
