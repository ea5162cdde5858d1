"""The link that confirms an account's address: signed, for ACCOUNT_VERIFY_HOURS, once; the account page."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from apps.accounts import emails, services, tokens
from apps.audit.models import AuditEvent
from apps.notifications.models import OutboxEmail
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


def _link(user) -> str:
    return emails.email_verification(user).context["verify_path"]


def test_opening_the_link_changes_nothing_until_the_button_is_pressed(client):
    user = UserFactory(unverified=True)
    page = client.get(_link(user), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and 'class="verify-email"' in page.content.decode()
    user.refresh_from_db()
    assert user.email_verified_at is None


def test_the_link_confirms_the_address_once(client):
    user = UserFactory(unverified=True)
    link = _link(user)
    response = client.post(link)
    assert response.status_code == 302 and response.url == reverse("accounts:login")
    user.refresh_from_db()
    confirmed = user.email_verified_at
    assert confirmed is not None
    assert AuditEvent.objects.filter(action="account.email_verified", target_id=str(user.pk)).count() == 1

    again = client.post(link, HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 404 and "This link does not work" in again.content.decode()
    user.refresh_from_db()
    assert user.email_verified_at == confirmed
    assert AuditEvent.objects.filter(action="account.email_verified").count() == 1


def test_every_link_sent_stops_working_once_one_is_used(client):
    user = UserFactory(unverified=True)
    first = _link(user)
    with time_machine.travel(timezone.now() + timedelta(seconds=5)):
        second = _link(user)
    assert first != second
    assert client.post(second).status_code == 302
    assert client.post(first).status_code == 404


def test_a_link_older_than_the_limit_has_expired(client, settings):
    settings.ACCOUNT_VERIFY_HOURS = 48
    user = UserFactory(unverified=True)
    link = _link(user)
    with time_machine.travel(timezone.now() + timedelta(hours=48, minutes=1)):
        response = client.post(link, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 410 and "This link has expired" in response.content.decode()
    user.refresh_from_db()
    assert user.email_verified_at is None


@pytest.mark.parametrize("change", ["altered", "other-salt", "other-user"])
def test_an_altered_link_confirms_nothing(client, change):
    from django.core import signing

    user = UserFactory(unverified=True)
    other = UserFactory(unverified=True)
    token = tokens.email_verify_token_make(user)
    if change == "altered":
        token = token.replace(f"{user.pk}.", f"{other.pk}.", 1)
    elif change == "other-salt":
        token = signing.TimestampSigner(salt="withdrawals.confirm").sign(f"{user.pk}.{token.split('.')[1]}")
    else:
        token = tokens.email_verify_token_make(other).replace(f"{other.pk}.", f"{user.pk}.", 1)
    assert client.post(reverse("accounts:verify_email", args=[token])).status_code == 404
    assert not get_user_model().objects.filter(email_verified_at__isnull=False).exists()


def test_a_link_for_an_address_the_account_no_longer_has_confirms_nothing():
    user = UserFactory(unverified=True, email="old@example.kz")
    token = tokens.email_verify_token_make(user)
    get_user_model().objects.filter(pk=user.pk).update(email="new@example.kz")
    with pytest.raises(services.VerificationFailed):
        services.user_email_verify(token=token)


def test_account_page_shows_an_unconfirmed_address_and_sends_the_link_again(client, settings):
    settings.RATELIMIT_VERIFY_EMAIL_USER = "2/d"
    user = UserFactory(unverified=True, language="en")
    client.force_login(user)
    page = client.get(reverse("accounts:account"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "not confirmed" in page and reverse("accounts:verify_email_send") in page

    for seconds in (0, 5):  # a second click within the same second writes the same email once
        with time_machine.travel(timezone.now() + timedelta(seconds=seconds)):
            response = client.post(reverse("accounts:verify_email_send"))
        assert response.status_code == 302 and response.url == reverse("accounts:account")
    assert client.post(reverse("accounts:verify_email_send")).status_code == 429
    sent = OutboxEmail.objects.filter(template="account_verify_email")
    assert sent.count() == 2
    assert {(email.to, email.language, email.topic, email.object_id) for email in sent} == {
        (user.email, "en", "account", user.pk)
    }


def test_account_page_of_a_confirmed_address_shows_when_and_sends_nothing(client):
    user = UserFactory(language="en")
    client.force_login(user)
    page = client.get(reverse("accounts:account"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "confirmed on" in page and reverse("accounts:verify_email_send") not in page
    client.post(reverse("accounts:verify_email_send"))
    assert not OutboxEmail.objects.exists()


def test_sending_the_link_again_needs_a_signed_in_post(client):
    assert client.get(reverse("accounts:verify_email_send")).status_code == 302  # to the log-in page
    client.force_login(UserFactory(unverified=True))
    assert client.get(reverse("accounts:verify_email_send")).status_code == 405
    assert not OutboxEmail.objects.exists()


def test_superusers_created_on_the_server_are_verified_and_others_are_not():
    User = get_user_model()
    staff = User.objects.create_superuser(email="root@example.kz", password="x-long-Secret-42", full_name="R")
    member = User.objects.create_user(email="member@example.kz", password="x-long-Secret-42", full_name="M")
    assert staff.email_verified_at is not None and member.email_verified_at is None
