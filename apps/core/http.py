"""What the portal reads from a request regardless of the app handling it."""

import codecs
import contextlib
import ipaddress
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

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


@dataclass(frozen=True)
class OutboundAnswer:
    """How a receiver answered one POST: its HTTP status (None when there was no answer), the start of its
    body, and what went wrong in words (empty for a 2xx)."""

    status: int | None
    body: bytes = b""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a 2xx: the receiver's URL must be the one registered."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def outbound_post(
    url: str, *, body: bytes, headers: dict[str, str], timeout: float, read_limit: int = 0
) -> OutboundAnswer:
    """POST `body` to a URL the portal was given (a webhook, a connected service), once, and return the
    answer; read at most `read_limit` bytes of its body (none when 0).

    Only http(s) URLs whose host outbound_host_allowed() accepts are posted to; the host is checked at each
    POST, as a name may point elsewhere since it was registered. Redirects are not followed. A refused
    connection, a timeout or a malformed URL is an answer without a status.
    """
    if not (url or "").lower().startswith(("https://", "http://")):
        return OutboundAnswer(None, error="Only http:// and https:// URLs are posted to.")
    try:
        host = urllib.parse.urlsplit(url).hostname or ""
    except ValueError:
        host = ""
    if not outbound_host_allowed(host):
        return OutboundAnswer(
            None,
            error="The URL's host is not a public address (nor in WEBHOOK_ALLOWED_NETWORKS): not posted.",
        )
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            data = response.read(read_limit + 1) if read_limit else b""
            if read_limit and len(data) > read_limit:
                return OutboundAnswer(
                    response.status, data[:read_limit], f"The answer is longer than {read_limit} bytes."
                )
            return OutboundAnswer(response.status, data)
    except urllib.error.HTTPError as exc:
        data = b""
        with contextlib.suppress(Exception):  # the status is the answer; its body is a courtesy
            data = exc.read(min(read_limit, 2000)) if read_limit else b""
        exc.close()
        return OutboundAnswer(exc.code, data, f"HTTP {exc.code}")
    except Exception as exc:  # refused, unreachable, timed out, a malformed URL: all one failed attempt
        return OutboundAnswer(None, error=f"{type(exc).__name__}: {exc}"[:500])


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
