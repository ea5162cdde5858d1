"""The sign-up form's error summary says what each missing answer is, in the page's language."""

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "messages"),
    [
        (
            "en",
            [
                "Enter your full name.",
                "Enter your email address.",
                "Choose a password.",
                "Enter the same password again.",
            ],
        ),
        ("ru", ["Укажите ваши ФИО.", "Придумайте пароль."]),
    ],
)
def test_an_empty_sign_up_names_every_missing_answer(client, language, messages):
    client.cookies["alilo_language"] = language
    page = client.post("/accounts/signup/", {"language": language}).content.decode()
    assert 'class="error-summary"' in page
    for message in messages:
        assert message in page, message
    assert not get_user_model().objects.exists()
