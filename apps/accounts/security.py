"""Log-in protection helpers: staff session lifetime, rate-limit keys and rates, lockout usernames."""

import ipaddress
import time

from django.conf import settings

from apps.core.http import client_ip

STAFF_LOGIN_AT = "staff_login_at"


def staff_session_start(sender, request, user, **kwargs):
    """Start the clock of a staff session at each log-in (see StaffSessionExpiryMiddleware)."""
    if request is None or not hasattr(request, "session"):
        return
    if user.is_staff:
        request.session[STAFF_LOGIN_AT] = int(time.time())
        request.session.set_expiry(settings.STAFF_SESSION_HOURS * 3600)
    else:
        request.session.pop(STAFF_LOGIN_AT, None)


def staff_session_expired(request) -> bool:
    """Tell whether the staff member signed in longer ago than STAFF_SESSION_HOURS."""
    started = request.session.get(STAFF_LOGIN_AT)
    if started is None:
        request.session[STAFF_LOGIN_AT] = int(time.time())
        return False
    return time.time() - started > settings.STAFF_SESSION_HOURS * 3600


def rate(setting_name: str):
    """Return a django-ratelimit rate callable that reads the named setting on each request."""

    def read(group, request):
        return getattr(settings, setting_name)

    read.__name__ = f"rate_{setting_name.lower()}"
    return read


def _email_key(field: str):
    def key(group, request):
        return (request.POST.get(field) or "").strip().lower()

    key.__name__ = f"post_{field}_lower"
    return key


username_key = _email_key("username")
email_key = _email_key("email")

# A log-in limit per email counts attempts from one network only: an attacker who fails from many networks
# must not lock the owner out of every other one. Home and mobile providers hand one customer addresses
# within a /24 (IPv4) or a /64 (IPv6), so rotating within those does not escape the count.
NETWORK_PREFIX = {4: 24, 6: 64}


def client_network(request) -> str:
    """Return the /24 (IPv4) or /64 (IPv6) network of the client address, or the address as given."""
    address = client_ip(request) or ""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    network_class = ipaddress.IPv4Network if ip.version == 4 else ipaddress.IPv6Network
    return str(network_class((int(ip), NETWORK_PREFIX[ip.version]), strict=False))


def username_network_key(group, request) -> str:
    """Key a log-in attempt by its email (any case) and the client's network."""
    return f"{username_key(group, request)} {client_network(request)}"


def axes_username(request, credentials) -> str:
    """Count failures per email whatever its case, as log-in itself ignores case."""
    value = (credentials or {}).get(settings.AXES_USERNAME_FORM_FIELD)
    if value is None and request is not None:
        value = request.POST.get(settings.AXES_USERNAME_FORM_FIELD)
    return (value or "").strip().lower()
