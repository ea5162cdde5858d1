import re

import pytest
from django.core import mail
from django.urls import reverse

from apps.notifications.models import OutboxEmail
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_login_with_wrong_password_is_refused_with_message(client):
    UserFactory(email="a@example.kz")
    response = client.post(
        reverse("accounts:login"), {"username": "a@example.kz", "password": "nope"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert "The email or password is wrong." in response.content.decode()


def test_login_then_logout(client):
    UserFactory(email="a@example.kz")
    response = client.post(
        reverse("accounts:login"), {"username": "a@example.kz", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert client.get(reverse("accounts:account")).status_code == 200
    client.post(reverse("accounts:logout"))
    assert client.get(reverse("accounts:account")).status_code == 302


def test_login_redirect_to_another_site_is_ignored(client):
    UserFactory(email="a@example.kz")
    response = client.post(
        reverse("accounts:login") + "?next=https://evil.example/",
        {"username": "a@example.kz", "password": "correct-horse-battery", "next": "https://evil.example/"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:account")


def test_password_reset_goes_through_outbox_in_users_language(client, django_capture_on_commit_callbacks):
    user = UserFactory(email="a@example.kz", language="ru")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("accounts:password_reset"), {"email": "A@example.kz"})
    assert response.status_code == 302
    row = OutboxEmail.objects.get()
    assert row.template == "password_reset" and row.language == "ru" and row.to == "a@example.kz"
    assert row.user == user
    assert len(callbacks) == 1

    from apps.notifications.services import outbox_emails_deliver

    outbox_emails_deliver(email_ids=[row.pk])
    message = mail.outbox[0]
    assert message.subject == "Сброс пароля Alilo"  # noqa: RUF001 (Russian text)
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body).group(1)
    response = client.get(link, follow=True)
    assert response.status_code == 200
    response = client.post(
        response.redirect_chain[-1][0],
        {"new_password1": "brand-New-secret-7", "new_password2": "brand-New-secret-7"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("brand-New-secret-7")


def test_password_reset_for_unknown_email_sends_nothing_and_says_the_same(client):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.kz"})
    assert response.status_code == 302
    assert not OutboxEmail.objects.exists()


def test_password_change_requires_old_password(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": "wrong",
            "new_password1": "brand-New-secret-7",
            "new_password2": "brand-New-secret-7",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.check_password("correct-horse-battery")


def test_account_page_updates_details_and_rejects_bad_phone(client):
    user = UserFactory(language="kk")
    client.force_login(user)
    bad = client.post(
        reverse("accounts:account"), {"full_name": "New Name", "phone": "abc", "language": "en"}
    )
    assert bad.status_code == 200
    user.refresh_from_db()
    assert user.full_name != "New Name"
    good = client.post(
        reverse("accounts:account"), {"full_name": "New Name", "phone": "+77011112233", "language": "en"}
    )
    assert good.status_code == 302
    user.refresh_from_db()
    assert (user.full_name, str(user.phone), user.language) == ("New Name", "+77011112233", "en")


def test_language_choice_is_remembered_for_signed_in_user(client):
    user = UserFactory(language="kk")
    client.force_login(user)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    user.refresh_from_db()
    assert user.language == "en"
    client.cookies.clear()
    client.force_login(user)
    response = client.get("/")
    assert '<html lang="en">' in response.content.decode()


def test_anonymous_default_language_is_kazakh(client):
    response = client.get("/")
    assert '<html lang="kk">' in response.content.decode()
