import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from apps.audit.models import AuditEvent
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


def test_signup_creates_account_with_e164_phone_and_logs_in(client):
    response = client.post(reverse("accounts:signup"), GOOD)
    assert response.status_code == 302
    user = get_user_model().objects.get()
    assert user.email == "aigul@example.kz"
    assert str(user.phone) == "+77012345678"
    assert user.language == "ru"
    assert user.agreement_status == "active"
    assert client.get(reverse("accounts:account")).status_code == 200
    assert AuditEvent.objects.filter(action="account.signup", target_id=str(user.pk)).exists()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"phone": "12345"}, "phone", "Enter a valid phone number, for example +7 701 234 5678."),
        ({"password1": "123", "password2": "123"}, "password1", "This password is too short."),
        ({"password2": "different-Secret-42"}, "password2", "The two passwords differ."),
        ({"full_name": "   "}, "full_name", "This field is required."),
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


def test_signup_with_taken_email_in_other_case_is_refused(client):
    UserFactory(email="aigul@example.kz")
    response = client.post(reverse("accounts:signup"), GOOD)
    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    assert get_user_model().objects.count() == 1


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
