"""Downloading the access package: the status page offers it once the request is granted; "Download" emails a
one-time link to the request's address (the person confirms it again); following it opens the JSON, HTML and
ZIP downloads in that browser for a short while; every download is audited; after 7 days it has expired."""

import io
import json
import re
import zipfile
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.notifications.models import OutboxEmail
from apps.withdrawals import services
from apps.withdrawals.models import AccessPackage, AccessPackageLink, TimelineEntry
from apps.withdrawals.tokens import package_link_token_make, status_token_make
from apps.withdrawals.views import PACKAGE_SESSION_KEY
from tests.accounts.factories import StaffFactory
from tests.withdrawals.factories import access_request, verified

pytestmark = pytest.mark.django_db

IP = "203.0.113.9"


@pytest.fixture
def staff(db):
    return StaffFactory(email="officer@alilo.kz", language="en")


@pytest.fixture
def granted(staff):
    withdrawal = access_request(email="aigerim@example.kz", language="en")
    services.withdrawal_request_review_start(withdrawal=withdrawal, actor=staff)
    return services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff)


@pytest.fixture
def client():
    return Client(REMOTE_ADDR=IP, HTTP_ACCEPT_LANGUAGE="en")


def status_url(withdrawal) -> str:
    return reverse("requests:status", args=[status_token_make(withdrawal.public_id)])


def send_link_url(withdrawal) -> str:
    return reverse("requests:package_send_link", args=[status_token_make(withdrawal.public_id)])


def download_url(withdrawal, file_format) -> str:
    return reverse("requests:package_download", args=[status_token_make(withdrawal.public_id), file_format])


def emailed_link(client, withdrawal) -> str:
    """Press Download on the status page; return the path of the link emailed to the request's address."""
    response = client.post(send_link_url(withdrawal))
    assert response.status_code == 302 and response["Location"].endswith("#package")
    email = OutboxEmail.objects.filter(template="access_package_link").latest("id")
    assert email.to == withdrawal.email
    return email.context["link_path"]


def open_downloads(client, withdrawal) -> str:
    link = emailed_link(client, withdrawal)
    response = client.post(link)
    assert response.status_code == 302
    return link


def test_the_status_page_before_and_after_the_grant(client, staff):
    withdrawal = access_request(email="aigerim@example.kz")
    page = client.get(status_url(withdrawal)).content.decode()
    assert 'id="package"' in page and "Once your request is granted" in page
    assert send_link_url(withdrawal) not in page
    services.withdrawal_request_review_start(withdrawal=withdrawal, actor=staff)
    services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff)
    page = client.get(status_url(withdrawal)).content.decode()
    assert send_link_url(withdrawal) in page and "Download my data" in page
    assert download_url(withdrawal, "json") not in page


def test_a_withdrawal_request_has_no_package_section(client):
    withdrawal = verified(email="aigerim@example.kz")
    assert 'id="package"' not in client.get(status_url(withdrawal)).content.decode()


def test_download_works_only_after_the_emailed_link_is_followed(client, granted):
    refused = client.get(download_url(granted, "json"))
    assert refused.status_code == 302 and refused["Location"].endswith("#package")
    assert not AuditEvent.objects.filter(action="withdrawal.package_download").exists()

    link = emailed_link(client, granted)
    assert AuditEvent.objects.get(action="withdrawal.package_link_send").ip == IP
    # Opening the link shows a button; a scanner's GET spends nothing.
    page = client.get(link)
    assert page.status_code == 200 and b"Open my downloads" in page.content
    assert AccessPackageLink.objects.get().used_at is None
    opened = client.post(link)
    assert opened.status_code == 302 and opened["Location"] == status_url(granted) + "#package"
    assert AccessPackageLink.objects.get().used_at is not None
    page = client.get(status_url(granted)).content.decode()
    for file_format in ("html", "json", "zip"):
        assert download_url(granted, file_format) in page

    package = AccessPackage.objects.get(request=granted)
    response = client.get(download_url(granted, "json"))
    assert response.status_code == 200
    assert (
        response["Content-Disposition"].startswith("attachment")
        and granted.reference in response["Content-Disposition"]
    )
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert json.loads(response.content) == package.document
    html = client.get(download_url(granted, "html"))
    assert html["Content-Type"].startswith("text/html") and html.content.decode() == package.html
    archive = zipfile.ZipFile(io.BytesIO(client.get(download_url(granted, "zip")).content))
    assert sorted(archive.namelist()) == [
        f"alilo-data-{granted.reference}.html",
        f"alilo-data-{granted.reference}.json",
    ]

    downloads = AuditEvent.objects.filter(action="withdrawal.package_download").order_by("pk")
    assert [(event.details["format"], event.ip, event.actor) for event in downloads] == [
        ("json", IP, None),
        ("html", IP, None),
        ("zip", IP, None),
    ]
    link_id = str(AccessPackageLink.objects.get().pk)
    assert {event.details["link"] for event in downloads} == {link_id}
    assert list(
        TimelineEntry.objects.filter(request=granted, kind="package_downloaded").values_list(
            "text", flat=True
        )
    ) == ["JSON", "HTML", "ZIP"]
    assert all(
        entry.visible_to_requester for entry in TimelineEntry.objects.filter(kind="package_downloaded")
    )


def test_the_link_works_once_and_only_in_the_browser_that_used_it(client, granted):
    link = open_downloads(client, granted)
    # The same browser following it again is taken to its open downloads.
    again = client.get(link)
    assert again.status_code == 302 and again["Location"].endswith("#package")
    other = Client(REMOTE_ADDR="198.51.100.1", HTTP_ACCEPT_LANGUAGE="en")
    page = other.get(link)
    assert page.status_code == 410 and b"used already" in page.content
    assert other.post(link).status_code == 410
    assert other.get(download_url(granted, "json")).status_code == 302
    assert AuditEvent.objects.filter(action="withdrawal.package_link_use").count() == 1


def test_the_link_expires_after_an_hour_and_the_downloads_after_a_few_minutes(client, granted):
    start = timezone.now()
    link = emailed_link(client, granted)
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        page = client.get(link)
        assert page.status_code == 410 and b"expired" in page.content
        assert client.post(link).status_code == 410
    link = emailed_link(client, granted)
    client.post(link)
    assert client.get(download_url(granted, "json")).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=False):
        assert client.get(download_url(granted, "json")).status_code == 302


def test_after_seven_days_the_page_link_and_download_say_it_expired(client, granted):
    package = AccessPackage.objects.get(request=granted)
    with time_machine.travel(package.expires_at - timedelta(minutes=5), tick=False):
        open_downloads(client, granted)
        assert client.get(download_url(granted, "json")).status_code == 200
    with time_machine.travel(package.expires_at + timedelta(seconds=1), tick=False):
        refused = client.get(download_url(granted, "json"))
        assert refused.status_code == 302
        page = client.get(status_url(granted)).content.decode()
        assert "The download period ended on" in page and reverse("requests:form", args=["access"]) in page
        assert send_link_url(granted) not in page
        sent = client.post(send_link_url(granted), follow=True)
        assert b"download period of this data package is over" in sent.content
        fresh = AccessPackageLink.objects.create(package=package)
        page = client.get(reverse("requests:package_link", args=[package_link_token_make(fresh.pk)]))
        assert page.status_code == 410 and b"The download period is over" in page.content
        assert b"File a new request" in page.content
    assert AuditEvent.objects.filter(action="withdrawal.package_download").count() == 1


def test_download_links_are_limited_per_request(client, granted, settings):
    settings.ACCESS_PACKAGE_LINK_RATE = "2/h"
    assert client.post(send_link_url(granted)).status_code == 302
    assert Client(REMOTE_ADDR="198.51.100.2").post(send_link_url(granted)).status_code == 302
    assert Client(REMOTE_ADDR="198.51.100.3").post(send_link_url(granted)).status_code == 429
    assert OutboxEmail.objects.filter(template="access_package_link").count() == 2


def test_each_link_email_is_in_the_persons_language_and_names_only_the_reference(client, staff):
    withdrawal = access_request(email="aigerim@example.kz", language="ru", full_name="Айгерім Нұрланқызы")
    services.withdrawal_request_review_start(withdrawal=withdrawal, actor=staff)
    services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff)
    emailed_link(client, withdrawal)
    email = OutboxEmail.objects.get(template="access_package_link")
    assert email.language == "ru"
    assert set(email.context) == {"reference", "link_path", "minutes"}
    assert re.fullmatch(r"/privacy/requests/package/[^/]+/", email.context["link_path"])


@pytest.mark.parametrize(
    "path",
    [
        "/privacy/requests/package/garbage/",
        "/privacy/requests/package/%00%ff/",
        "/privacy/requests/package/" + "a" * 3000 + "/",
        "/privacy/requests/package/abc:def:ghi/",
        "/privacy/requests/status/garbage/package/json/",
        "/privacy/requests/status/garbage/package/link/",
    ],
)
def test_bad_tokens_are_refused_without_a_server_error(client, path):
    for method in (client.get, client.post):
        assert method(path).status_code in (404, 405)


def test_a_tampered_link_and_an_unknown_format_are_not_found(client, granted):
    link = emailed_link(client, granted)
    assert client.get(link[:-3] + "x/").status_code == 404
    assert client.post(link[:-3] + "x/").status_code == 404
    token = package_link_token_make(AccessPackageLink().pk)  # a genuine signature, no such link
    assert client.get(reverse("requests:package_link", args=[token])).status_code == 404
    client.post(link)
    assert client.get(download_url(granted, "pdf")).status_code == 404
    assert client.get(download_url(granted, "JSON")).status_code == 404


def test_a_broken_session_value_is_treated_as_no_download_window(client, granted):
    session = client.session
    package = AccessPackage.objects.get(request=granted)
    for broken in (
        "nonsense",
        {str(package.pk): "nonsense"},
        {str(package.pk): {"until": "soon", "link": "x"}},
        {str(package.pk): {"until": 1e20, "link": "x"}},
        {str(package.pk): {"until": 1.0, "link": None}},
    ):
        session[PACKAGE_SESSION_KEY] = broken
        session.save()
        assert client.get(download_url(granted, "json")).status_code == 302
        assert client.get(status_url(granted)).status_code == 200
    # Opening the downloads with a link replaces what was there.
    open_downloads(client, granted)
    assert client.get(download_url(granted, "json")).status_code == 200
