import re

import pytest
from django.core import mail
from django.core.cache import cache
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


def test_login_matches_the_email_whatever_its_case(client):
    UserFactory(email="officer@example.kz")
    response = client.post(
        reverse("accounts:login"), {"username": " Officer@Example.KZ ", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert client.get(reverse("accounts:account")).status_code == 200


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


def _reset_work(client, email: str, monkeypatch) -> tuple[list[str], dict[str, int], int]:
    """Ask for a reset of `email`; return the table statements run, the calls made, the emails left."""
    from django.contrib.auth.tokens import default_token_generator
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.notifications import services as outbox

    calls = {"make_token": 0, "outbox_emails_queue": 0}

    def counted(name, function):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(
        default_token_generator, "make_token", counted("make_token", default_token_generator.make_token)
    )
    monkeypatch.setattr(
        outbox, "outbox_emails_queue", counted("outbox_emails_queue", outbox.outbox_emails_queue)
    )
    with CaptureQueriesContext(connection) as queries:
        response = client.post(reverse("accounts:password_reset"), {"email": email})
    assert response.status_code == 302 and response.url == reverse("accounts:password_reset_done")
    monkeypatch.undo()
    statements = [
        re.sub(r"\s+", " ", query["sql"]).split(" WHERE ")[0].split(" VALUES ")[0]
        for query in queries.captured_queries
        if re.match(r"\s*(SELECT|INSERT|UPDATE|DELETE)\b", query["sql"])
    ]
    return statements, calls, OutboxEmail.objects.count()


def test_password_reset_does_the_same_work_whether_or_not_the_address_has_an_account(client, monkeypatch):
    UserFactory(email="a@example.kz")
    known, known_calls, known_emails = _reset_work(client, "a@example.kz", monkeypatch)
    cache.clear()  # the per-email and per-address counters
    unknown, unknown_calls, unknown_emails = _reset_work(client, "nobody@example.kz", monkeypatch)

    assert known_emails == 1 and unknown_emails == 1  # nothing queued for the unknown address
    assert known_calls == unknown_calls == {"make_token": 1, "outbox_emails_queue": 1}
    assert unknown == known  # the same statements on the same tables (their WHERE and VALUES cut off)
    assert any(statement.startswith("INSERT INTO") for statement in unknown)


def test_password_reset_for_an_unknown_address_schedules_no_delivery(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(reverse("accounts:password_reset"), {"email": "nobody@example.kz"})
    assert callbacks == [] and not OutboxEmail.objects.exists()


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
