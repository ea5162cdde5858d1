"""Sign-up with acceptance, the Accept button of a new version, My privacy and its printable receipts."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from apps.acceptances.models import Acceptance
from apps.audit.models import AuditEvent
from apps.policies.models import PolicyText

from .support import PASSWORD, Visitor, log_in_member, publish_version, sign_up

pytestmark = pytest.mark.django_db(transaction=True)

BANNER = "Our privacy policy has changed"


def test_visitor_signs_up_accepting_the_version_in_force_and_prints_the_receipt(policy_in_force):
    visitor = Visitor()
    form = visitor.get("/accounts/signup/")
    assert "I have read and accept the privacy policy (version 1)" in form
    refused = visitor.submit(
        form,
        has='name="accept_policy"',
        full_name="Aigerim Nurlanova",
        email="Aigerim@Example.kz",
        language="en",
        password1=PASSWORD,
        password2=PASSWORD,
    )
    assert "You must accept the privacy policy to create an account." in refused
    assert not get_user_model().objects.exists()

    page = visitor.submit(
        refused, has='name="accept_policy"', password1=PASSWORD, password2=PASSWORD, accept_policy="on"
    )

    assert page.path == "/accounts/" and "Welcome! Your account is ready." in page
    assert "not confirmed" in page and "We have sent an email to aigerim@example.kz." in page
    user = get_user_model().objects.get()
    assert (user.email, user.full_name, user.language) == ("aigerim@example.kz", "Aigerim Nurlanova", "en")
    acceptance = Acceptance.objects.get()
    kazakh = PolicyText.objects.get(version=policy_in_force, language="kk")
    assert (acceptance.user, acceptance.version, acceptance.method, acceptance.channel) == (
        user,
        policy_in_force,
        "signup",
        "web",
    )
    # The shipped policy is Kazakh only: the evidence names the text the visitor was shown.
    assert (acceptance.language, acceptance.text_sha256) == ("kk", kazakh.body_sha256)
    assert acceptance.ip == "127.0.0.1" and acceptance.user_agent == visitor.user_agent
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {"account.signup", "acceptance.record"}
    assert BANNER not in visitor.get("/")

    mine = visitor.get("/privacy/me/")
    assert "Accepted on" in mine and "At sign-up" in mine
    assert "email address not confirmed" in mine  # the account had not confirmed its address yet
    assert mine.links("/privacy/me/receipt/") == [f"/privacy/me/receipt/{acceptance.pk}/"]
    receipt = visitor.get(f"/privacy/me/receipt/{acceptance.pk}/")
    for fact in (
        "Receipt: acceptance of the privacy policy",
        settings.ORGANISATION_NAME_EN,  # an English page names the organisation in English
        "Aigerim Nurlanova <aigerim@example.kz>",
        "At sign-up",
        "not confirmed by the user",
        kazakh.body_sha256,
        "127.0.0.1",
        f"{settings.SITE_URL}/privacy_policy/v/1/",
        "Use your browser's Print command",
    ):
        assert fact in receipt, fact

    stranger, _user = log_in_member("stranger@example.kz", full_name="Someone Else")
    assert stranger.get(f"/privacy/me/receipt/{acceptance.pk}/").status == 404


def test_member_accepts_a_newly_published_version_from_the_banner_once(policy_in_force):
    visitor, user = sign_up("aigul@example.kz", full_name="Aigul Seitkali")
    version = publish_version(2, summary="Clause 2.1 now lists deliveries")
    english = PolicyText.objects.get(version=version, language="en")

    home = visitor.get("/")
    assert f"{BANNER}: version 2" in home and "Clause 2.1 now lists deliveries (en)" in home
    assert "If you keep using the service from" in home
    page = visitor.submit(home, action="/privacy/accept/2/")

    assert page.path == "/" and "Thank you. You accepted version 2." in page
    assert BANNER not in page
    acceptance = Acceptance.objects.get(version=version)
    assert (acceptance.user, acceptance.method, acceptance.channel) == (user, "explicit", "web")
    assert (acceptance.language, acceptance.text_sha256) == ("en", english.body_sha256)
    assert acceptance.ip == "127.0.0.1" and acceptance.user_agent == visitor.user_agent
    assert AuditEvent.objects.filter(action="acceptance.record", target_id=str(acceptance.pk)).count() == 1

    again = visitor.submit(home, action="/privacy/accept/2/")
    assert "You had already accepted version 2" in again
    assert Acceptance.objects.filter(user=user).count() == 2  # version 1 at sign-up, version 2 once

    mine = visitor.get("/privacy/me/")
    assert "Accept button" in mine and "At sign-up" in mine
    assert "Read and accept version 2" not in mine
    receipts = mine.links("/privacy/me/receipt/")
    assert len(receipts) == 2
    receipt = visitor.get(f"/privacy/me/receipt/{acceptance.pk}/")
    assert "Accept button" in receipt and english.body_sha256 in receipt
