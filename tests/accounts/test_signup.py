import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.notifications.models import OutboxEmail
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

GOOD = {
    "full_name": "Айгүл Серікқызы",
    "email": "Aigul@Example.kz",
    "phone": "8 701 234 5678",
    "language": "ru",
    "password1": "a-long-Secret-42",
    "password2": "a-long-Secret-42",
}


def test_signup_creates_an_unverified_account_signs_it_in_and_emails_the_confirm_link(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("accounts:signup"), GOOD)
    assert response.status_code == 302 and response.url == reverse("accounts:account")
    user = get_user_model().objects.get()
    assert user.email == "aigul@example.kz"
    assert str(user.phone) == "+77012345678"
    assert user.language == "ru"
    assert user.agreement_status == "active"
    assert user.email_verified_at is None
    assert client.session["_auth_user_id"] == str(user.pk)
    assert AuditEvent.objects.filter(action="account.signup", target_id=str(user.pk)).exists()
    email = OutboxEmail.objects.get()
    assert (email.template, email.to, email.language) == ("account_verify_email", user.email, "ru")
    assert (email.topic, email.object_id, email.user) == ("account", user.pk, user)
    assert email.context["verify_path"].startswith("/accounts/verify/")
    assert "full_name" not in email.context  # the greeting never carries a name typed by a stranger


def test_signup_lands_on_the_account_page_which_says_the_link_was_sent_and_sends_it_again(client):
    response = client.post(
        reverse("accounts:signup"), {**GOOD, "language": "en"}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.redirect_chain == [(reverse("accounts:account"), 302)]
    page = response.content.decode()
    assert "Welcome! Your account is ready." in page
    assert "We have sent an email to aigul@example.kz. Open the link in it to confirm your address." in page
    assert reverse("accounts:verify_email_send") in page and "Send the link again" in page


def test_signup_with_a_taken_address_makes_nothing_signs_nobody_in_and_never_says_it_exists(client):
    UserFactory(email="aigul@example.kz")
    response = client.post(
        reverse("accounts:signup"),
        {**GOOD, "email": "AIGUL@example.kz"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.redirect_chain == [(reverse("accounts:login"), 302)]
    assert "_auth_user_id" not in client.session
    page = response.content.decode()
    assert "If this address is new to us, check your email" in page
    assert "already exists" not in page and "aigul@example.kz" not in page.lower()
    assert get_user_model().objects.filter(email="aigul@example.kz").count() == 1


def test_signup_with_a_taken_address_emails_its_owner_in_their_language_once_a_day(client):
    owner = UserFactory(email="aigul@example.kz", language="ru")
    for _attempt in range(3):
        client.post(reverse("accounts:signup"), {**GOOD, "email": "Aigul@Example.kz", "language": "en"})
    email = OutboxEmail.objects.get()
    assert (email.template, email.to, email.language) == ("account_signup_attempt", owner.email, "ru")
    assert (email.topic, email.object_id) == ("account", owner.pk)
    assert get_user_model().objects.get() == owner and owner.acceptances.count() == 0
    attempts = AuditEvent.objects.filter(action="account.signup_attempt", target_id=str(owner.pk))
    assert attempts.count() == 3 and not AuditEvent.objects.filter(action="account.signup").exists()


def test_signup_with_a_taken_address_hashes_the_password_as_a_new_one_does(client, monkeypatch):
    from django.contrib.auth import base_user

    UserFactory(email="aigul@example.kz")
    hashed = []
    real = base_user.make_password
    monkeypatch.setattr(base_user, "make_password", lambda raw: hashed.append(raw) or real(raw))
    client.post(reverse("accounts:signup"), GOOD)
    Client().post(reverse("accounts:signup"), {**GOOD, "email": "new@example.kz"})
    assert hashed == [GOOD["password1"], GOOD["password1"]]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"phone": "12345"}, "phone", "Enter a valid phone number, for example +7 701 234 5678."),
        ({"password1": "123", "password2": "123"}, "password1", "This password is too short."),
        ({"password2": "different-Secret-42"}, "password2", "The two passwords differ."),
        ({"full_name": "   "}, "full_name", "Enter your full name."),
    ],
)
def test_signup_with_bad_input_shows_error_and_creates_nothing(client, change, field, message):
    response = client.post(
        reverse("accounts:signup"), {**GOOD, **change, "language": "en"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    errors = response.context["form"].errors[field]
    assert any(message in error for error in errors), errors
    assert not get_user_model().objects.exists()
    assert not AuditEvent.objects.exists()


def test_signup_error_messages_are_translated(client):
    client.post(reverse("set_language"), {"language": "ru", "next": "/"})
    response = client.post(reverse("accounts:signup"), {**GOOD, "email": "x"})
    assert "Введите правильный адрес электронной почты." in response.content.decode()


# --- Acceptance of the privacy policy at sign-up -------------------------------------------------


@pytest.fixture
def published(db):
    from apps.policies.selectors import policy_current_cache_refresh
    from tests.policies.factories import PolicyVersionFactory

    version = PolicyVersionFactory(published=True)
    policy_current_cache_refresh()
    return version


def test_signup_form_has_no_policy_checkbox_without_a_published_version(client):
    form = client.get(reverse("accounts:signup")).context["form"]
    assert "accept_policy" not in form.fields


def test_signup_form_offers_the_version_in_force_with_a_link(client, published):
    body = client.get(reverse("accounts:signup"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"(version {published.number})" in body
    assert 'href="/privacy_policy/"' in body and 'name="accept_policy"' in body


def test_signup_records_signup_acceptance_in_the_same_transaction(client, published):
    from apps.acceptances.models import Acceptance

    response = client.post(
        reverse("accounts:signup"),
        {**GOOD, "accept_policy": "on", "policy_version": published.number},
        HTTP_USER_AGENT="Safari",
        REMOTE_ADDR="10.5.5.5",
    )
    assert response.status_code == 302
    user = get_user_model().objects.get()
    acceptance = Acceptance.objects.get(user=user)
    assert acceptance.version == published and acceptance.method == "signup" and acceptance.channel == "web"
    assert acceptance.ip == "10.5.5.5" and acceptance.user_agent == "Safari" and acceptance.text_sha256
    assert acceptance.email_verified is False  # the evidence says the address was not confirmed yet


def test_signup_without_ticking_the_box_creates_nothing(client, published):
    from apps.acceptances.models import Acceptance

    response = client.post(
        reverse("accounts:signup"), {**GOOD, "policy_version": published.number}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert "You must accept the privacy policy" in response.content.decode()
    assert not get_user_model().objects.exists() and not Acceptance.objects.exists()


def test_signup_after_a_new_version_was_published_asks_again(client, published):
    from apps.acceptances.models import Acceptance
    from apps.policies.selectors import policy_current_cache_refresh
    from tests.policies.factories import PolicyVersionFactory

    PolicyVersionFactory(published=True)
    policy_current_cache_refresh()
    response = client.post(
        reverse("accounts:signup"), {**GOOD, "accept_policy": "on", "policy_version": published.number}
    )
    assert response.status_code == 200
    assert "policy_version" in response.context["form"].errors
    assert not get_user_model().objects.exists() and not Acceptance.objects.exists()


def test_failed_acceptance_rolls_back_the_new_account(client, published, monkeypatch):
    from apps.acceptances import services as acceptance_services

    def refuse(**kwargs):
        raise acceptance_services.VersionNotCurrent("gone")

    monkeypatch.setattr(acceptance_services, "acceptance_record", refuse)
    response = client.post(
        reverse("accounts:signup"), {**GOOD, "accept_policy": "on", "policy_version": published.number}
    )
    assert response.status_code == 200 and "accept_policy" in response.context["form"].errors
    assert not get_user_model().objects.exists()
    assert not AuditEvent.objects.exists()
