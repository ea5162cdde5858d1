"""Request logs hold no tokens of emailed links and no query-string values (runserver and the app's own)."""

import http.client
import io
import logging
import threading
import uuid

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer

from apps.core.log_filters import RedactPersonalDataFilter
from apps.core.request_logs import redact_url
from apps.withdrawals.tokens import confirm_token_make, status_token_make
from tests.support.servers import wait_for

STATUS_TOKEN = status_token_make(uuid.uuid4())
CONFIRM_TOKEN = confirm_token_make(uuid.uuid4())
RESET_TOKEN = "cd2x1k-0f3e8a5b7c9d1e2f4a6b8c0d2e4f6a8b"
SECRETS = [STATUS_TOKEN, CONFIRM_TOKEN, RESET_TOKEN, "MTIzNA", "someone", "example.kz", "701234"]


def _capture(handler: logging.Handler):
    stream = io.StringIO()
    previous = handler.setStream(stream)
    return stream, previous


@pytest.fixture
def dev_server():
    """Django's development server (runserver's request handler and log) on a free port, in this process."""
    (handler,) = logging.getLogger("django.server").handlers
    stream, previous = _capture(handler)
    server = WSGIServer(("127.0.0.1", 0), WSGIRequestHandler, ipv6=False)
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], stream
    finally:
        server.shutdown()
        server.server_close()
        handler.setStream(previous)


@pytest.fixture
def root_output():
    """What the root handler of settings.LOGGING writes (Django's "Not Found: /path" and the like)."""
    handler = next(
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(f, RedactPersonalDataFilter) for f in handler.filters)
    )
    stream, previous = _capture(handler)
    yield stream
    handler.setStream(previous)


@pytest.mark.django_db(transaction=True)
def test_runserver_request_log_has_no_tokens_or_query_values(dev_server):
    port, log = dev_server
    paths = [
        f"/privacy/withdraw/status/{STATUS_TOKEN}/?lang=ru",
        f"/privacy/withdraw/status/{STATUS_TOKEN}/answer/",
        f"/privacy/withdraw/confirm/{CONFIRM_TOKEN}/",
        f"/accounts/reset/MTIzNA/{RESET_TOKEN}/",
        "/api/v1/consent-status?email=someone%40example.kz&phone=%2B77012345678",
        # A link cut or mangled on the way matches no URL pattern; its token is still hidden.
        f"/privacy/withdraw/status/{STATUS_TOKEN}/more/than/it/should",
        "/privacy_policy/v/1/",
    ]
    for path in paths:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", path)
        connection.getresponse().read()
        connection.close()
    # The server logs each request after answering it.
    wait_for(lambda: log.getvalue().count('"GET ') == len(paths), timeout=10, interval=0.05)
    output = log.getvalue()
    for secret in SECRETS:
        assert secret not in output
    assert '"GET /privacy/withdraw/status/[redacted]/?lang=[redacted] HTTP/1.1"' in output
    assert '"GET /privacy/withdraw/status/[redacted]/answer/ HTTP/1.1"' in output
    assert '"GET /privacy/withdraw/confirm/[redacted]/ HTTP/1.1"' in output
    assert '"GET /accounts/reset/[redacted]/[redacted]/ HTTP/1.1"' in output
    assert '"GET /api/v1/consent-status?email=[redacted]&phone=[redacted] HTTP/1.1"' in output
    assert '"GET /privacy/withdraw/status/[redacted]/more/than/it/should HTTP/1.1" 404' in output
    assert '"GET /privacy_policy/v/1/ HTTP/1.1"' in output


@pytest.mark.django_db
def test_not_found_log_of_the_app_has_no_token(client, root_output):
    forged = STATUS_TOKEN[:-4] + "AAAA"
    assert client.get(f"/privacy/withdraw/status/{forged}/").status_code == 404
    assert client.get(f"/accounts/reset/MTIzNA/{RESET_TOKEN}/extra").status_code == 404
    output = root_output.getvalue()
    assert "Not Found: /privacy/withdraw/status/[redacted]/" in output
    assert "Not Found: /accounts/reset/MTIzNA/[redacted]/extra" in output
    assert forged not in output and RESET_TOKEN not in output


@pytest.mark.parametrize(
    ("url", "logged"),
    [
        ("/", "/"),
        ("/privacy_policy/diff/1/2/", "/privacy_policy/diff/1/2/"),
        ("/accounts/reset/sent/", "/accounts/reset/sent/"),
        ("/accounts/reset/complete/", "/accounts/reset/complete/"),
        ("/accounts/reset/MQ/set-password/", "/accounts/reset/[redacted]/[redacted]/"),
        ("/static/css/portal.3f2a9c8e1b7d4a5c.css", "/static/css/portal.3f2a9c8e1b7d4a5c.css"),
        ("/privacy/withdraw/?next=/x&flag", "/privacy/withdraw/?next=[redacted]&[redacted]"),
        ("/privacy/withdraw/?a%40b.kz=1", "/privacy/withdraw/?[redacted]"),
        (
            f"/privacy/withdraw/status/{STATUS_TOKEN.replace(':', '%3A')}/",
            "/privacy/withdraw/status/[redacted]/",
        ),
    ],
)
def test_redact_url(url, logged):
    assert redact_url(url) == logged
