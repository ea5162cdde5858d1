"""What the portal reads from a request regardless of the app handling it."""

import codecs
import ipaddress
import socket

from django.conf import settings

# What codecs.lookup() names the character sets a request may declare: UTF-8 and its subset ASCII.
UTF8_CHARSETS = frozenset({"utf-8", "ascii"})


def client_ip(request) -> str | None:
    """Return the client address as trusted by the deployment (see TRUSTED_PROXIES).

    A forwarded hop that is not an IP address (a forged or broken header) is not trusted: the socket's
    address is used instead.
    """
    proxies = getattr(settings, "TRUSTED_PROXIES", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies and is_ip_address(hops[-proxies]):
            return str(ipaddress.ip_address(hops[-proxies]))
    return request.META.get("REMOTE_ADDR") or None


def is_ip_address(value: str) -> bool:
    """Whether `value` is an IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def charset_is_utf8(charset: str) -> bool:
    """Return whether a declared character set is UTF-8 (or ASCII) under any of its names."""
    try:
        return codecs.lookup(charset.strip()).name in UTF8_CHARSETS
    except (LookupError, ValueError):  # unknown, or not a name at all (a NUL byte)
        return False


def outbound_host_allowed(host: str) -> bool:
    """Whether the portal may open a connection to `host` on its own initiative (a webhook).

    Every address the name resolves to must be a public one, or inside a network the operator listed in
    WEBHOOK_ALLOWED_NETWORKS (the company's own services); loopback, link-local (cloud metadata), private and
    reserved addresses are refused otherwise, so a registered URL cannot reach the portal's own host or its
    internal network. WEBHOOK_ALLOW_ANY_ADDRESS (development and tests, whose receivers run on localhost)
    allows everything. A name that does not resolve is not allowed.
    """
    if getattr(settings, "WEBHOOK_ALLOW_ANY_ADDRESS", False):
        return True
    networks = [
        ipaddress.ip_network(net, strict=False) for net in getattr(settings, "WEBHOOK_ALLOWED_NETWORKS", [])
    ]
    host = (host or "").strip("[]")
    try:
        infos = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError, ValueError):
        return False
    addresses = {ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos}
    return bool(addresses) and all(
        address.is_global or any(address in network for network in networks) for address in addresses
    )


def attachment_response(data: bytes, *, content_type: str, file_name: str = ""):
    """Return a stored file of personal data as a download: never shown inline, never sniffed as another
    type, never kept by a cache."""
    from django.http import HttpResponse
    from django.utils.http import content_disposition_header

    response = HttpResponse(bytes(data), content_type=content_type)
    response["Content-Disposition"] = (
        content_disposition_header(True, file_name) if file_name else "attachment"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
