"""The 400, 403, 404 and 500 pages: translated, JSON under the API, and never failing themselves."""

import pytest
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404
from django.test import Client
from django.urls import path

from config.urls import urlpatterns as portal_urls

pytestmark = pytest.mark.django_db


def _bad(request):
    raise BadRequest("bad")


def _denied(request):
    raise PermissionDenied


def _missing(request):
    raise Http404


def _bug(request):
    raise RuntimeError("a bug")


urlpatterns = [
    path("bad/", _bad),
    path("denied/", _denied),
    path("missing/", _missing),
    path("bug/", _bug),
    path("api/v1/bug/", _bug),
    *portal_urls,
]
handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"

PAGES = [
    ("/bad/", 400, "The request could not be read"),
    ("/denied/", 403, "Access denied"),
    ("/missing/", 404, "Page not found"),
    ("/no/such/page/", 404, "Page not found"),
    ("/bug/", 500, "Something went wrong"),
]


def failing_context_processor(request):
    raise RuntimeError("a context processor that needs the lost database")


@pytest.fixture
def client():
    return Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(("url", "status", "title"), PAGES)
def test_error_pages_are_the_portals_own(client, url, status, title):
    response = client.get(url)
    assert response.status_code == status
    page = response.content.decode()
    assert f"<h1>{title}</h1>" in page and 'class="site-header"' in page


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(("url", "status", "title"), PAGES)
def test_error_pages_fall_back_to_a_plain_page_when_a_context_processor_fails(
    client, settings, url, status, title
):
    settings.TEMPLATES = [
        {
            **settings.TEMPLATES[0],
            "OPTIONS": {
                **settings.TEMPLATES[0]["OPTIONS"],
                "context_processors": [
                    *settings.TEMPLATES[0]["OPTIONS"]["context_processors"],
                    "tests.core.test_error_pages.failing_context_processor",
                ],
            },
        }
    ]
    response = client.get(url)
    assert response.status_code == status
    page = response.content.decode()
    assert f"<h1>{title}</h1>" in page
    # The 500 page is rendered without the request, so without context processors.
    assert ('class="site-header"' in page) == (status == 500)


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(("url", "status", "title"), PAGES)
def test_error_pages_fall_back_to_a_plain_page_when_the_template_fails(
    client, monkeypatch, url, status, title
):
    def broken():
        raise RuntimeError("a template that cannot be loaded")

    monkeypatch.setattr("config.views._error_page", broken)
    response = client.get(url)
    assert response.status_code == status
    page = response.content.decode()
    assert f"<h1>{title}</h1>" in page and 'class="site-header"' not in page


@pytest.mark.urls(__name__)
def test_an_error_page_that_cannot_even_build_its_plain_page_answers_bare(client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("broken")

    monkeypatch.setattr("config.views._error_page", broken)
    monkeypatch.setattr("config.views.format_html", broken)
    response = client.get("/bug/")
    assert response.status_code == 500 and b"<h1>Error</h1>" in response.content


@pytest.mark.urls(__name__)
def test_error_pages_are_translated(client):
    response = client.get("/no/such/page/", HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 404 and '<html lang="ru">' in response.content.decode()


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(("url", "status"), [("/api/v1/nothing-here", 404), ("/api/v1/bug/", 500)])
def test_api_errors_are_json(client, url, status):
    response = client.get(url)
    assert response.status_code == status and response["Content-Type"] == "application/json"
    assert response.json()["detail"]


def test_the_portal_installs_the_handlers():
    from config import urls

    assert (urls.handler400, urls.handler403, urls.handler404, urls.handler500) == (
        "config.views.bad_request",
        "config.views.permission_denied",
        "config.views.page_not_found",
        "config.views.server_error",
    )
