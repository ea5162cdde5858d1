import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views import defaults
from django.views.decorators.cache import never_cache

# What a lost or refused database connection raises (psycopg's errors arrive wrapped in these).
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


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


def server_error(request):
    """Answer an unhandled error; a database that cannot be reached gets a 503 asking to try again.

    Each write is one transaction, so a request that failed for want of the database stored nothing of its
    own. The page is rendered without the request, so it needs neither the session nor the database.
    """
    error = sys.exc_info()[1]
    if isinstance(error, DATABASE_UNAVAILABLE):
        body = render_to_string(
            "503.html",
            {"ORGANISATION_NAME": settings.ORGANISATION_NAME, "PRIVACY_MAILBOX": settings.PRIVACY_MAILBOX},
        )
        response = HttpResponse(body, status=503)
        response["Retry-After"] = "30"
        return response
    return defaults.server_error(request)
