"""Keep secrets out of request logs: the tokens of emailed links in paths, and the values of query strings."""

import logging
import re
from urllib.parse import unquote

from django.apps import apps
from django.conf import settings
from django.urls import resolve

from .log_filters import record_message

REDACTED = "[redacted]"
# Keyword arguments of URL patterns that carry a secret: the links emailed for a withdrawal's status and
# confirmation, for a password reset (whose uidb64 also names the account) and for an email confirmation.
SECRET_URL_KWARGS = frozenset({"token", "uidb64", "key", "signature"})
# Where no URL pattern matches (a mistyped or cut-off link), a segment that looks like a token: 20 or more
# characters of a signed value's alphabet, a digit among them.
TOKEN_SEGMENT = re.compile(r"(?=[^/]*\d)[\w:.=-]{20,}")
QUERY_NAME = re.compile(r"[\w.\[\]-]{1,50}")
# A URL path in a log message: "GET /path?query HTTP/1.1", "Not Found: /path". "HTTP/1.1" is not one.
PATH_IN_TEXT = re.compile(r"(?<![\w.~/-])/[^\s\"'<>]*")


def _secret_values(path: str) -> set[str]:
    if not apps.ready:  # a record logged while apps load must not import the URLconf
        return set()
    try:
        match = resolve(path)
    except Exception:  # a path that matches nothing, or anything else: logging must go on
        return set()
    return {str(value) for name, value in match.kwargs.items() if name in SECRET_URL_KWARGS}


def _redact_path(path: str) -> str:
    if path.startswith(settings.STATIC_URL):  # hashed file names, never a secret
        return path
    secrets = _secret_values(unquote(path))
    return "/".join(
        REDACTED if (segment := unquote(raw)) in secrets or TOKEN_SEGMENT.fullmatch(segment) else raw
        for raw in path.split("/")
    )


def _redact_query(query: str) -> str:
    parts = []
    for part in query.split("&"):
        name, has_value, _value = part.partition("=")
        if not part:
            parts.append(part)
        elif has_value and QUERY_NAME.fullmatch(name):
            parts.append(f"{name}={REDACTED}")
        else:
            parts.append(REDACTED)
    return "&".join(parts)


def redact_url(url: str) -> str:
    """Return the path with secret segments and every query value replaced by [redacted]."""
    path, has_query, query = url.partition("?")
    redacted = _redact_path(path)
    return f"{redacted}?{_redact_query(query)}" if has_query else redacted


class RedactUrlSecretsFilter(logging.Filter):
    """Rewrite the URL paths in each record's message without tokens or query values."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record_message(record)
        redacted = PATH_IN_TEXT.sub(lambda match: redact_url(match.group(0)), message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
