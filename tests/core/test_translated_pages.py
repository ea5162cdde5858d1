"""Pages and emails come out in Kazakh (the default) and Russian, Django's own texts included.

These fail when a catalogue entry or a compiled .mo is missing, or when Django's kk gaps reappear.
"""

# The expected texts are Kazakh and Russian: their Cyrillic letters are meant.
# ruff: noqa: RUF001

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from apps.notifications.models import OutboxEmail
from apps.notifications.services import outbox_emails_deliver
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

SIGNUP = {
    "full_name": "Айгүл Серікқызы",
    "email": "aigul@example.kz",
    "phone": "",
    "password1": "a-long-Secret-42",
    "password2": "a-long-Secret-42",
}


@pytest.fixture
def published(db):
    from apps.policies.selectors import policy_current_cache_refresh
    from tests.policies.factories import PolicyVersionFactory

    version = PolicyVersionFactory(published=True)
    policy_current_cache_refresh()
    return version


def page(client, url, language=None, method="get", data=None):
    if language:
        client.cookies["alilo_language"] = language
    response = getattr(client, method)(url, data or {})
    assert response.status_code == 200
    return response.content.decode()


def deliver(template):
    row = OutboxEmail.objects.get(template=template)
    mail.outbox.clear()
    outbox_emails_deliver(email_ids=[row.pk])
    return mail.outbox[0]


def test_home_is_kazakh_by_default(client):
    html = page(client, reverse("home"))
    assert '<html lang="kk">' in html
    for text in ["Alilo сақтайтын дербес деректеріңіз", "Келісімді кері қайтарып алу", "Тіркелу", "Кіру"]:
        assert text in html
    assert "Your personal data at Alilo" not in html


def test_home_in_russian(client):
    html = page(client, reverse("home"), "ru")
    assert '<html lang="ru">' in html
    for text in ["Ваши персональные данные в Alilo", "Отозвать согласие", "Зарегистрироваться", "Войти"]:
        assert text in html


def test_signup_errors_in_kazakh_include_djangos_own_messages(client):
    bad = {**SIGNUP, "email": "not-an-email", "password1": "123", "password2": "123", "language": "kk"}
    html = page(client, reverse("accounts:signup"), method="post", data=bad)
    for text in [
        "Дұрыс электрондық пошта мекенжайын енгізіңіз.",  # EmailValidator: missing from Django's kk
        "Бұл құпиясөз тым қысқа. Ол кемінде 10 таңбадан тұруы керек.",  # MinimumLengthValidator, plural
        "Бұл құпиясөз тым жиі қолданылады.",  # CommonPasswordValidator
        "Бұл құпиясөз тек цифрлардан тұрады.",  # NumericPasswordValidator
    ]:
        assert text in html
    for english in [
        "Enter a valid email address.",
        "This password is too short",
        "This password is too common.",
    ]:
        assert english not in html


def test_signup_errors_in_russian(client):
    bad = {**SIGNUP, "password1": "aigul@example.kz", "password2": "aigul@example.kz", "language": "ru"}
    html = page(client, reverse("accounts:signup"), "ru", method="post", data=bad)
    assert "Введённый пароль слишком похож на адрес электронной почты." in html


def test_password_change_help_and_errors_in_kazakh(client):
    user = UserFactory(language="kk")
    client.force_login(user)
    html = page(
        client,
        reverse("accounts:password_change"),
        method="post",
        data={
            "old_password": "wrong",
            "new_password1": "a-long-Secret-42",
            "new_password2": "another-Secret-42",
        },
    )
    for text in [
        "Құпиясөзді өзгерту",
        "Құпиясөзіңіз кемінде 10 таңбадан тұруы керек.",  # validators' help texts
        "Құпиясөзіңіз тек цифрлардан тұрмауы керек.",
        "Тексеру үшін жоғарыдағы құпиясөзді қайта енгізіңіз.",
        "Екі құпиясөз өрісі бір-біріне сәйкес келмейді.",
    ]:
        assert text in html


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        (
            "kk",
            ["Нұсқа", "қолданыста", "Жарияланған", "Барлық нұсқалар", "Құпиялылық саясаты", "Алматы уақыты"],
        ),
        (
            "ru",
            [
                "Версия",
                "действует",
                "Опубликована",
                "Все версии",
                "Политика конфиденциальности",
                "время Алматы",
            ],
        ),
    ],
)
def test_policy_page_chrome(client, published, language, texts):
    html = page(client, reverse("policies:current"), language)
    for text in texts:
        assert text in html
    if language == "kk":  # numeric Kazakh dates, not Django's English fallback "N j, Y"
        assert timezone.localtime(published.published_at).strftime("%d.%m.%Y") in html


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        (
            "kk",
            [
                "Дербес деректерді өңдеуге берілген келісімді кері қайтарып алу",
                "21 жұмыс күні ішінде",
                "Өтінішімді жіберу",
            ],
        ),
        (
            "ru",
            [
                "Отзыв согласия на обработку персональных данных",
                "В течение 21 рабочего дня",
                "Отправить заявление",
            ],
        ),
    ],
)
def test_withdrawal_form(client, settings, language, texts):
    settings.WITHDRAWAL_DUE_WORKING_DAYS = 21  # Russian "21 рабочего дня": the singular form of 21
    html = page(client, reverse("withdrawals:form"), language)
    for text in texts:
        assert text in html


def test_withdrawal_form_errors_in_kazakh(client):
    html = page(client, reverse("withdrawals:form"), method="post", data={"email": "bad", "scope": "partial"})
    assert "Төмендегі қателерді түзетіңіз. Әзірге ештеңе жіберілген жоқ." in html
    assert "Дұрыс электрондық пошта мекенжайын енгізіңіз." in html


def test_password_reset_email_in_kazakh(client):
    UserFactory(email="aigul@example.kz", language="kk", full_name="Айгүл Серікқызы")
    client.post(reverse("accounts:password_reset"), {"email": "aigul@example.kz"})
    message = deliver("password_reset")
    assert message.subject == "Alilo құпиясөзін қалпына келтіру"
    assert "Сәлеметсіз бе, Айгүл Серікқызы!" in message.body
    assert "24 сағат жарамды" in message.body


def test_withdrawal_confirmation_email_subject_in_kazakh():
    from tests.withdrawals.factories import submit

    submit(language="kk")
    message = deliver("withdrawal_confirm")
    assert message.subject == "Келісімді кері қайтарып алу туралы өтінішіңізді растаңыз"
    assert "«Өтінішімді растау»" in message.body


def test_admin_login_in_kazakh(client):
    html = page(
        client, "/admin/login/", method="post", data={"username": "nobody@example.kz", "password": "x"}
    )
    assert "Қызметкер тіркелгісінің дұрыс электрондық пошта мекенжайы мен құпиясөзін енгізіңіз." in html
    assert "Skip to main content" not in html
