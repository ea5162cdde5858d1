"""`next` redirects never leave the site."""

import pytest
from django.urls import reverse

from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

OFFSITE = ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"]


@pytest.mark.parametrize("target", OFFSITE)
def test_login_next_to_another_site_goes_to_the_account_instead(client, target):
    UserFactory(email="a@example.kz")
    response = client.post(
        reverse("accounts:login"),
        {"username": "a@example.kz", "password": "correct-horse-battery", "next": target},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:account")


def test_login_next_on_the_site_is_followed(client):
    UserFactory(email="a@example.kz")
    response = client.post(
        reverse("accounts:login"),
        {"username": "a@example.kz", "password": "correct-horse-battery", "next": "/accounts/password/"},
    )
    assert response["Location"] == "/accounts/password/"


@pytest.mark.parametrize("target", OFFSITE)
def test_set_language_next_to_another_site_stays_here(client, target):
    response = client.post(reverse("set_language"), {"language": "ru", "next": target}, HTTP_REFERER=target)
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_set_language_next_on_the_site_is_followed(client):
    response = client.post(reverse("set_language"), {"language": "ru", "next": "/accounts/login/"})
    assert response["Location"] == "/accounts/login/"
