"""A request may declare any character set: all but UTF-8 are a 400, never a 500, on every page and the API.

The client keeps `raise_request_exception` on: an error raised while answering (even inside the error
handler) fails the test instead of turning into a 500 page.
"""

import json
import uuid

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client, RequestFactory
from django.test.client import FakePayload

from apps.acceptances.models import Acceptance
from apps.acceptances.services import service_token_create
from apps.withdrawals.models import WithdrawalRequest
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

FORM_PAGES = [
    "/privacy/withdraw/",
    "/privacy/withdraw/status/not-a-token/answer/",
    "/privacy/withdraw/status/not-a-token/cancel/",
    "/privacy/withdraw/confirm/not-a-token/",
    "/privacy/accept/1/",
    "/accounts/",
    "/accounts/signup/",
    "/accounts/login/",
    "/accounts/logout/",
    "/accounts/password/",
    "/accounts/reset/",
    "/accounts/two-factor/",
    "/language/",
    "/admin/login/",
]
API = ["/api/v1/acceptances", "/api/v1/uses"]
# Python knows most of these names, but none is UTF-8: some decode every body into other letters, some are no
# text encoding at all (rot13, base64, zlib), some cannot replace bad bytes (idna), and one is unknown.
CHARSETS = [
    "utf-16",
    "utf-32",
    "latin-1",
    "cp1251",
    "utf-7",
    "rot13",
    "base64",
    "zlib",
    "idna",
    "punycode",
    "x-nope",
]
BODY = "full_name=Aigerim&email=a%40example.kz&reason=%FF%FE&csrfmiddlewaretoken=x"


def _multipart(charset: str) -> tuple[bytes, str]:
    body = (
        b'--b\r\nContent-Disposition: form-data; name="full_name"\r\n\r\nA\xff\xfe\r\n'
        b'--b\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\nx\r\n--b--\r\n'
    )
    return body, f"multipart/form-data; boundary=b; charset={charset}"


@pytest.fixture
def browser():
    """A client that checks CSRF tokens, as a browser meets the portal."""
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    client.get("/privacy/withdraw/")  # sets the CSRF cookie
    return client


@pytest.mark.parametrize("charset", CHARSETS)
@pytest.mark.parametrize("path", FORM_PAGES)
def test_a_form_post_in_another_charset_is_a_400(browser, path, charset):
    urlencoded = browser.generic(
        "POST", path, BODY.encode(), content_type=f"application/x-www-form-urlencoded; charset={charset}"
    )
    assert urlencoded.status_code == 400
    assert "The request could not be read" in urlencoded.content.decode()
    body, content_type = _multipart(charset)
    assert browser.generic("POST", path, body, content_type=content_type).status_code == 400
    assert not WithdrawalRequest.objects.exists()


def _serve(method: str, path: str, query: str, content_type: str, body: bytes = b"") -> tuple[str, bytes]:
    """Send one request through config.wsgi, as gunicorn does; return the status line and the body."""
    from config.wsgi import application

    environ = RequestFactory()._base_environ(
        REQUEST_METHOD=method,
        PATH_INFO=path,
        QUERY_STRING=query,
        CONTENT_TYPE=content_type,
        CONTENT_LENGTH=str(len(body)),
        HTTP_ACCEPT_LANGUAGE="en",
        **{"wsgi.input": FakePayload(body)},
    )
    started = []
    # As the test client does: the test's transaction must survive the end of the request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = application(environ, lambda status, headers, exc_info=None: started.append(status))
        content = b"".join(response)
        response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return started[0], content


@pytest.mark.parametrize("charset", ["rot13", "base64", "idna", "utf-16", "x-nope"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_declared_charset_with_a_query_string_is_a_400_not_a_crash(method, charset):
    # Django decodes the query string in the declared charset while it builds the request, before any
    # middleware: a codec that is no text encoding used to make the server answer a bare 500.
    status, content = _serve(
        method, "/privacy/withdraw/", "next=%FF%FE", f"text/plain; charset={charset}", b"a=1"
    )
    assert status.startswith("400 ")
    assert b"The request could not be read" in content


@pytest.mark.parametrize("charset", CHARSETS)
@pytest.mark.parametrize("path", API)
def test_an_api_body_in_another_charset_is_a_400_in_json(client, path, charset):
    _token, raw = service_token_create(name="charsets")
    user = UserFactory()
    body = json.dumps({"user_id": user.pk, "version": 1, "channel": "app", "language": "kk"}).encode()
    for content_type in (f"application/json; charset={charset}", _multipart(charset)[1]):
        response = client.generic(
            "POST",
            path,
            body,
            content_type=content_type,
            HTTP_AUTHORIZATION=f"Bearer {raw}",
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert response.status_code == 400
        assert response["Content-Type"] == "application/json"
        assert response.json()["detail"].startswith("Your browser sent something")
    assert not Acceptance.objects.exists()


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", '"utf-8"'])
def test_utf8_and_ascii_are_still_read(client, charset):
    data = (
        "full_name=%D0%90%D0%B9%D0%B3%D0%B5%D1%80%D1%96%D0%BC&email=v%40example.kz&scope=all"
        f"&acknowledgement=on&submission_token={uuid.uuid4()}"
    )
    response = client.generic(
        "POST",
        "/privacy/withdraw/",
        data.encode(),
        content_type=f"application/x-www-form-urlencoded; charset={charset}",
    )
    assert response.status_code == 302
    assert WithdrawalRequest.objects.get().full_name == "Айгерім"


def test_the_400_page_is_in_the_visitors_language(client):
    response = client.generic(
        "POST",
        "/privacy/withdraw/",
        BODY.encode(),
        content_type="application/x-www-form-urlencoded; charset=utf-16",
        HTTP_ACCEPT_LANGUAGE="ru",
    )
    assert response.status_code == 400
    assert '<html lang="ru">' in response.content.decode()
