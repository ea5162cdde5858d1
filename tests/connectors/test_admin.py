"""The admin: the Privacy officer registers services (the secret written, never shown; the URL checked against
SSRF) and sees the calls, audited, and marks one done by hand with a note."""

import pytest
from django.db import transaction
from django.urls import reverse

from apps.accounts.roles import POLICY_EDITOR, PRIVACY_OFFICER, SUPPORT
from apps.audit.models import AuditEvent
from apps.connectors.models import ConnectedService, ServiceCall
from apps.connectors.services import service_call_attempt, service_calls_start
from tests.connectors.factories import ConnectedServiceFactory
from tests.roles.conftest import member
from tests.withdrawals.factories import verified

pytestmark = pytest.mark.django_db

SECRET = "cssec_a-secret-long-enough-for-the-form-0123"


@pytest.fixture
def officer(db):
    return member(PRIVACY_OFFICER, email="officer@alilo.kz")


def service_form(**values):
    data = {
        "name": "Shop",
        "active": "on",
        "endpoint_url": "https://shop.example.kz/alilo/calls",
        "new_secret": "",
        "timeout_seconds": "10",
        "fields": ["email", "orders"],
        "actions": ["export", "destroy"],
        "data_held_kk": "Тапсырыстар",
    }
    data.update(values)
    return data


@pytest.fixture
def public_dns(monkeypatch):
    """shop.example.kz resolves to a public address; 127.0.0.1 and metadata addresses stay what they are."""
    import socket

    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host == "shop.example.kz":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 0))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_the_officer_registers_a_service_and_its_made_secret_is_shown_once(client, officer, public_dns):
    client.force_login(officer)
    response = client.post(reverse("admin:connectors_connectedservice_add"), service_form(), follow=True)
    assert response.status_code == 200
    service = ConnectedService.objects.get(name="Shop")
    assert service.signing_secret.startswith("cssec_")
    assert service.signing_secret in response.content.decode()  # shown this once
    assert service.fields == ["email", "orders"] and service.actions == ["destroy", "export"]
    change = client.get(reverse("admin:connectors_connectedservice_change", args=[service.pk]))
    assert change.status_code == 200
    assert service.signing_secret not in change.content.decode()
    event = AuditEvent.objects.get(action="connected_service.create")
    assert event.actor == officer and service.signing_secret not in str(event.details)


def test_an_empty_secret_keeps_the_secret_and_a_new_one_replaces_it(client, officer, public_dns):
    service = ConnectedServiceFactory(name="Shop", endpoint_url="https://shop.example.kz/alilo/calls")
    old = service.signing_secret
    client.force_login(officer)
    url = reverse("admin:connectors_connectedservice_change", args=[service.pk])
    assert client.post(url, service_form(timeout_seconds="20")).status_code == 302
    service.refresh_from_db()
    assert service.signing_secret == old and service.timeout_seconds == 20
    assert client.post(url, service_form(new_secret=SECRET)).status_code == 302
    service.refresh_from_db()
    assert service.signing_secret == SECRET
    event = AuditEvent.objects.filter(action="connected_service.update").latest("pk")
    assert event.details["secret_changed"] is True and SECRET not in str(event.details)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/admin/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/",
        "http://localhost/",
        "http://no-such-host.invalid/",
        "ftp://shop.example.kz/",
    ],
)
def test_an_internal_or_odd_endpoint_url_is_refused(client, officer, settings, public_dns, url):
    settings.WEBHOOK_ALLOW_ANY_ADDRESS = False
    client.force_login(officer)
    response = client.post(
        reverse("admin:connectors_connectedservice_add"), service_form(endpoint_url=url, new_secret=SECRET)
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not ConnectedService.objects.exists()


def test_https_is_required_where_the_settings_say_so(client, officer, settings, public_dns):
    settings.WEBHOOK_REQUIRE_HTTPS = True
    client.force_login(officer)
    response = client.post(
        reverse("admin:connectors_connectedservice_add"),
        service_form(endpoint_url="http://shop.example.kz/", new_secret=SECRET),
    )
    assert "endpoint_url" in response.context["adminform"].form.errors
    assert not ConnectedService.objects.exists()


def test_a_short_secret_is_refused(client, officer, public_dns):
    client.force_login(officer)
    response = client.post(reverse("admin:connectors_connectedservice_add"), service_form(new_secret="short"))
    assert "new_secret" in response.context["adminform"].form.errors


@pytest.mark.parametrize("role", [SUPPORT, POLICY_EDITOR])
def test_other_roles_cannot_open_the_registry_or_the_calls(client, role):
    client.force_login(member(role))
    for name in ("connectedservice_changelist", "connectedservice_add", "servicecall_changelist"):
        assert client.get(reverse(f"admin:connectors_{name}")).status_code == 403


@pytest.fixture
def unanswered(reference_services):
    reference_services(mode="down")
    with transaction.atomic():
        (call,) = service_calls_start(request=verified(), action="export")
    service_call_attempt(call_pk=call.pk)
    return call


def test_the_calls_list_and_page_are_audited_and_show_the_attempts(client, officer, unanswered):
    client.force_login(officer)
    listing = client.get(reverse("admin:connectors_servicecall_changelist"))
    assert listing.status_code == 200
    listed = AuditEvent.objects.get(action="admin.list", target_type="connectors.servicecall")
    assert listed.details["ids"] == [unanswered.pk]
    page = client.get(reverse("admin:connectors_servicecall_change", args=[unanswered.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "HTTP 500" in html and "Mark done by hand" in html
    assert AuditEvent.objects.filter(
        action="admin.view", target_type="connectors.servicecall", target_id=str(unanswered.pk)
    ).exists()
    assert 'name="_save"' not in html


def test_marking_done_by_hand_needs_a_note(client, officer, unanswered):
    client.force_login(officer)
    url = reverse("admin:connectors_servicecall_mark_done", args=[unanswered.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"note": "   "})
    assert response.status_code == 200 and response.context["form"].errors
    assert ServiceCall.objects.get(pk=unanswered.pk).state == "queued"
    response = client.post(url, {"note": "The shop's team deleted the data by hand (ticket 41)."})
    assert response.status_code == 302
    call = ServiceCall.objects.get(pk=unanswered.pk)
    assert call.state == "done_by_hand" and call.marked_by == officer
    assert AuditEvent.objects.get(action="service_call.done_by_hand").actor == officer
    # Done: no button any more, and the form refuses.
    page = client.get(reverse("admin:connectors_servicecall_change", args=[call.pk]))
    assert "Mark done by hand" not in page.content.decode()
    assert client.post(url, {"note": "again"}).status_code == 302
    assert ServiceCall.objects.get(pk=call.pk).note.startswith("The shop's team")


def test_marking_done_needs_its_permission(client, unanswered):
    from django.contrib.auth.models import Permission

    clerk = member(SUPPORT)
    clerk.user_permissions.add(Permission.objects.get(codename="view_servicecall"))
    client.force_login(clerk)
    assert client.get(reverse("admin:connectors_servicecall_change", args=[unanswered.pk])).status_code == 200
    url = reverse("admin:connectors_servicecall_mark_done", args=[unanswered.pk])
    assert client.post(url, {"note": "I did it"}).status_code == 403
    assert ServiceCall.objects.get(pk=unanswered.pk).state == "queued"
