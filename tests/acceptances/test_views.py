from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.acceptances import services
from apps.acceptances.models import Acceptance
from apps.audit.models import AuditEvent
from tests.accounts.factories import UserFactory

from .conftest import publish

pytestmark = pytest.mark.django_db

BANNER = 'class="policy-banner'


def _signed_in(client, user):
    client.force_login(user)
    return client


def test_accept_page_requires_login(client, version):
    response = client.get(reverse("acceptances:accept", args=[version.number]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_accept_page_shows_text_summary_and_button(client, user, version):
    response = _signed_in(client, user).get(reverse("acceptances:accept", args=[version.number]))
    body = response.content.decode()
    en = version.texts.get(language="en")
    assert response.status_code == 200
    assert en.summary in body and "EN general provisions of version" in body and en.body_sha256 in body
    assert 'name="text_sha256"' in body and BANNER not in body


def test_unknown_or_draft_version_is_404(client, user, version):
    from tests.policies.factories import PolicyVersionFactory

    draft = PolicyVersionFactory()
    _signed_in(client, user)
    assert client.get(reverse("acceptances:accept", args=[draft.number])).status_code == 404
    assert client.get(reverse("acceptances:accept", args=[999])).status_code == 404


def test_post_accepts_once_and_redirects_to_next(client, user, version):
    _signed_in(client, user)
    url = reverse("acceptances:accept", args=[version.number])
    response = client.post(url, {"next": "/accounts/"}, HTTP_USER_AGENT="Chrome", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 302 and response["Location"] == "/accounts/"
    response = client.post(url, {"next": "https://evil.example/"})
    assert response["Location"] == reverse("acceptances:my_privacy")
    acceptance = Acceptance.objects.get()
    assert (
        acceptance.method == "explicit" and acceptance.ip == "10.1.2.3" and acceptance.user_agent == "Chrome"
    )
    assert AuditEvent.objects.filter(action="acceptance.record").count() == 1


def test_post_for_superseded_version_records_nothing(client, user, version):
    newer = publish()
    response = _signed_in(client, user).post(reverse("acceptances:accept", args=[version.number]))
    assert response.status_code == 302
    assert response["Location"] == reverse("acceptances:accept", args=[newer.number])
    assert not Acceptance.objects.exists()


def test_post_with_foreign_text_hash_records_nothing(client, user, version):
    response = _signed_in(client, user).post(
        reverse("acceptances:accept", args=[version.number]), {"text_sha256": "0" * 64}
    )
    assert response.status_code == 302 and not Acceptance.objects.exists()


def test_get_is_not_acceptance(client, user, version):
    _signed_in(client, user).get(reverse("acceptances:accept", args=[version.number]))
    assert not Acceptance.objects.exists()


# --- Banner ------------------------------------------------------------------------------------


def test_banner_shows_until_the_user_accepts(client, user, version):
    _signed_in(client, user)
    body = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert BANNER in body and f"Accept version {version.number}" in body
    assert reverse("acceptances:accept", args=[version.number]) in body
    client.post(reverse("acceptances:accept", args=[version.number]), {"next": "/"})
    assert BANNER not in client.get("/").content.decode()


def test_banner_appears_when_a_new_version_is_published(client, user, version):
    services.acceptance_record_explicit(user=user, version=version, language="kk", ip=None, user_agent="")
    _signed_in(client, user)
    assert BANNER not in client.get("/").content.decode()
    newer = publish()
    body = client.get("/").content.decode()
    assert BANNER in body and f"/privacy_policy/diff/{version.number}/{newer.number}/" in body


def test_banner_after_deadline_explains_continued_use(client, user):
    version = publish(published_at=timezone.now() - timedelta(days=10))
    assert version.implicit_acceptance_at < timezone.now()
    body = _signed_in(client, user).get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "your continued use of the service has counted as acceptance" in body


def test_no_banner_once_the_agreement_has_ended(client, version):
    ended = UserFactory(agreement_status="ended", agreement_ended_at=timezone.now(), language="en")
    assert BANNER not in _signed_in(client, ended).get("/").content.decode()


def test_banner_for_a_withdrawn_user_does_not_claim_continued_use(client):
    publish(published_at=timezone.now() - timedelta(days=10))
    withdrawn = UserFactory(consent_withdrawn_at=timezone.now(), language="en")
    body = _signed_in(client, withdrawn).get("/").content.decode()
    assert BANNER in body and "continued use" not in body


def test_superseded_version_page_points_to_the_version_in_force(client, user, version):
    newer = publish()
    body = _signed_in(client, user).get(reverse("acceptances:accept", args=[version.number])).content.decode()
    assert "This version is no longer in force." in body
    assert reverse("acceptances:accept", args=[newer.number]) in body and 'name="text_sha256"' not in body


def test_no_banner_for_anonymous_or_without_a_version(client, user, db):
    assert BANNER not in client.get("/").content.decode()
    _signed_in(client, user)
    assert BANNER not in client.get("/").content.decode()


def test_acceptance_made_elsewhere_hides_the_banner_after_the_recheck(client, user, version, settings):
    settings.USE_TRACKING_INTERVAL_SECONDS = 0
    _signed_in(client, user)
    assert BANNER in client.get("/").content.decode()
    services.acceptance_record_explicit(user=user, version=version, language="kk", ip=None, user_agent="")
    assert BANNER not in client.get("/").content.decode()


# --- Zero-query steady state --------------------------------------------------------------------


def _page_view_queries(user, *, middleware: list[str]) -> int:
    """Return the queries of a signed-in home page view once the session and throttle are warm."""
    with override_settings(MIDDLEWARE=middleware):
        client = Client()  # a new client builds its handler with these middleware
        client.force_login(user)
        client.get("/")
        client.get("/")
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/").status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("accepted", [True, False])
def test_steady_state_page_view_costs_no_extra_query(
    user, version, accepted, settings, django_assert_num_queries
):
    if accepted:
        services.acceptance_record_explicit(user=user, version=version, language="kk", ip=None, user_agent="")
    ours = "apps.acceptances.middleware.PolicyAcceptanceMiddleware"
    assert ours in settings.MIDDLEWARE
    without = [m for m in settings.MIDDLEWARE if m != ours]
    baseline = _page_view_queries(user, middleware=without)
    assert baseline <= 3  # session and user only
    client = Client()
    client.force_login(user)
    client.get("/")
    client.get("/")
    with django_assert_num_queries(baseline):
        assert client.get("/").status_code == 200


def test_use_is_marked_on_first_view_then_throttled(client, user, version, django_assert_num_queries):
    _signed_in(client, user)
    client.get("/")
    user.refresh_from_db()
    first = user.last_used_at
    assert first is not None
    client.get("/")
    user.refresh_from_db()
    assert user.last_used_at == first


# --- My privacy and receipts --------------------------------------------------------------------


def test_my_privacy_lists_history_with_evidence(client, user, version):
    acceptance, _ = services.acceptance_record_explicit(
        user=user, version=version, language="en", ip="10.0.0.7", user_agent="UA"
    )
    body = (
        _signed_in(client, user)
        .get(reverse("acceptances:my_privacy"), HTTP_ACCEPT_LANGUAGE="en")
        .content.decode()
    )
    assert "Accept button" in body and "10.0.0.7" in body and "email address confirmed" in body
    assert reverse("acceptances:receipt", args=[acceptance.pk]) in body
    assert f"Version {version.number}" in body and "Accepted on" in body


def test_acceptance_of_an_unconfirmed_address_says_so_in_my_privacy_and_the_receipt(client, version):
    user = UserFactory(unverified=True, language="en")
    acceptance, _ = services.acceptance_record_explicit(
        user=user, version=version, language="en", ip="10.0.0.7", user_agent="UA"
    )
    client.force_login(user)
    mine = client.get(reverse("acceptances:my_privacy")).content.decode()
    assert "email address not confirmed" in mine
    receipt = client.get(reverse("acceptances:receipt", args=[acceptance.pk])).content.decode()
    assert "not confirmed by the user" in receipt


def test_my_privacy_shows_pending_version_with_accept_link(client, user, version):
    body = (
        _signed_in(client, user)
        .get(reverse("acceptances:my_privacy"), HTTP_ACCEPT_LANGUAGE="en")
        .content.decode()
    )
    assert "Not accepted yet." in body and reverse("acceptances:accept", args=[version.number]) in body


def my_section(request):
    return {"template": "acceptances/tests_section.html", "context": {"word": "withdrawal-xyz"}}


def no_section(request):
    return None


def test_my_privacy_renders_registered_sections(client, user, version, settings, tmp_path):
    (tmp_path / "acceptances").mkdir()
    (tmp_path / "acceptances" / "tests_section.html").write_text(
        "<section>{{ word }} {{ user.email }}</section>"
    )
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path]}]
    settings.MY_PRIVACY_SECTIONS = [
        "tests.acceptances.test_views.no_section",
        "tests.acceptances.test_views.my_section",
    ]
    body = _signed_in(client, user).get(reverse("acceptances:my_privacy")).content.decode()
    assert f"<section>withdrawal-xyz {user.email}</section>" in body


def test_receipt_shows_operator_hash_time_method_only_to_owner(client, user, version, settings):
    acceptance, _ = services.acceptance_record_explicit(
        user=user, version=version, language="ru", ip="10.0.0.7", user_agent="UA"
    )
    url = reverse("acceptances:receipt", args=[acceptance.pk])
    user.language = "en"
    user.save(update_fields=["language"])
    body = _signed_in(client, user).get(url).content.decode()
    assert settings.ORGANISATION_NAME_EN in body.replace("&laquo;", "«").replace("&raquo;", "»")
    assert acceptance.text_sha256 in body and "Accept button" in body
    assert "confirmed by the user" in body and "not confirmed by the user" not in body
    assert timezone.localtime(acceptance.accepted_at).isoformat()[:19] in body
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


def test_nav_links_to_my_privacy_for_signed_in_users_and_the_card_asks_visitors_to_log_in(client, user, db):
    signed_out = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # The navigation offers it only when signed in; the home page's card asks a visitor to log in.
    assert f'<a href="{reverse("acceptances:my_privacy")}">My privacy</a>' not in signed_out
    assert f'href="{reverse("acceptances:my_privacy")}">Log in to see My privacy</a>' in signed_out
    assert reverse("acceptances:my_privacy") in _signed_in(client, user).get("/").content.decode()
