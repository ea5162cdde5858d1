import logging
import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import engines
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from apps.core.organisation import organisation_name

logger = logging.getLogger(__name__)

# What a lost or refused database connection raises (psycopg's errors arrive wrapped in these).
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
# Where config/urls.py mounts the API: its errors are JSON.
API_PATH = "/api/"

ERRORS = {
    400: (
        gettext_lazy("The request could not be read"),
        gettext_lazy(
            "Your browser sent something the portal cannot read. Go back, reload the page and try again."
        ),
    ),
    403: (
        gettext_lazy("Access denied"),
        gettext_lazy("You do not have permission to open this page. Log in with another account or go back."),
    ),
    404: (
        gettext_lazy("Page not found"),
        gettext_lazy("There is no page at this address. Check the link, or start again from the home page."),
    ),
    500: (
        gettext_lazy("Something went wrong"),
        gettext_lazy("The portal could not complete your request. Please try again in a few minutes."),
    ),
    503: (
        gettext_lazy("Please try again in a minute"),
        gettext_lazy(
            "The portal cannot reach its database just now, so nothing you sent was saved. "
            "Please go back and send it again in a minute."
        ),
    ),
}
ERROR_PAGE = """{% extends "base.html" %}
{% block title %}{{ title }} · {{ block.super }}{% endblock %}
{% block content %}<h1>{{ title }}</h1><p>{{ message }}</p>{% endblock %}"""
# When even the plain page fails (no settings, no translations): nothing left that can fail.
LAST_RESORT = b"<!doctype html><html><head><title>Error</title></head><body><h1>Error</h1></body></html>"


def home(request):
    return render(request, "home.html")


@never_cache
def healthz(request):
    """Report whether the database and the broker answer (for container health checks)."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        from config.celery import app

        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        checks["broker"] = "ok"
    except Exception as exc:
        checks["broker"] = f"error: {type(exc).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks, "version": settings.PORTAL_VERSION},
        status=200 if healthy else 503,
    )


def ratelimited(request, exception=None):
    """Answer a rate-limited request with 429 and a translated explanation."""
    response = render(request, "429.html", status=429)
    response["Retry-After"] = "60"
    return response


# --- Error handlers (config/urls.py) ----------------------------------------------------------------
# Unlike Django's defaults, they never read the request's body (the error may be that it cannot be read), and
# each falls back to a plain page when its own page fails: a template, a context processor or the database.


def bad_request(request, exception=None):
    return _error_response(request, 400)


def permission_denied(request, exception=None):
    return _error_response(request, 403)


def page_not_found(request, exception=None):
    return _error_response(request, 404)


def server_error(request):
    """Answer an unhandled error; a database that cannot be reached gets a 503 asking to try again.

    Each write is one transaction, so a request that failed for want of the database stored nothing of its
    own. The page is rendered without the request, so it needs neither the session nor the database.
    """
    if isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE):
        response = _error_response(request, 503, template="503.html", with_request=False)
        response["Retry-After"] = "30"
        return response
    return _error_response(request, 500, with_request=False)


def _error_page():
    return engines["django"].from_string(ERROR_PAGE)


def _error_response(request, status: int, *, template: str = "", with_request: bool = True) -> HttpResponse:
    """Return the error page in the active language (JSON for the API), or a plainer one if it fails."""
    try:
        return _error_page_response(request, status, template=template, with_request=with_request)
    except Exception:
        logger.exception("The %s page failed; answering with a plain page", status)
    try:
        title, message = ERRORS[status]
        body = format_html(
            '<!doctype html><html lang="{}"><head><meta charset="utf-8"><title>{}</title></head>'
            '<body><h1>{}</h1><p>{}</p><p><a href="/">{}</a></p></body></html>',
            get_language() or settings.LANGUAGE_CODE,
            title,
            title,
            message,
            _("Alilo Privacy Portal"),
        )
        return HttpResponse(body, status=status)
    except Exception:
        logger.exception("The plain %s page failed; answering with a bare page", status)
    return HttpResponse(LAST_RESORT, status=status)


def _error_page_response(request, status: int, *, template: str, with_request: bool) -> HttpResponse:
    title, message = (str(text) for text in ERRORS[status])
    if request.path.startswith(API_PATH):
        return JsonResponse({"detail": message}, status=status)
    context = {
        "title": title,
        "message": message,
        "ORGANISATION_NAME": organisation_name(),
        "PRIVACY_MAILBOX": settings.PRIVACY_MAILBOX,
    }
    page_request = request if with_request else None
    if template:
        body = render_to_string(template, context, request=page_request)
    else:
        body = _error_page().render(context, request=page_request)
    return HttpResponse(body, status=status)
