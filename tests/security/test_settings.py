"""Production settings pass Django's deployment checks and send the security headers."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from apps.records.keys import key_generate, key_private_json

ROOT = Path(__file__).resolve().parent.parent.parent

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "privacy.alilo.kz",
    "SITE_URL": "https://privacy.alilo.kz",
    "EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
    "ANYMAIL_POSTMARK_SERVER_TOKEN": "server-token",
    "ANYMAIL_WEBHOOK_SECRET": "hook:long-random-secret",
    "CONSENT_SIGNING_KEY": key_private_json(key_generate()),
    "ORGANISATION_BIN": "123456789012",
}


def _environ(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANYMAIL_")}
    # DJANGO_ALLOW_ASYNC_UNSAFE is set by the browser tests' fixture, never in a deployment.
    for key in (
        "DEBUG",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "TRUSTED_PROXIES",
        "ADMIN_REQUIRE_2FA",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    ):
        env.pop(key, None)
    return {**env, **PRODUCTION_ENV, **extra}


def _run(args: list[str], **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=_environ(**extra), capture_output=True, text=True, timeout=120
    )


def _production_settings(*names: str, **extra: str) -> dict:
    code = (
        "import json, config.settings.production as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {list(names)!r}}}, default=str))"
    )
    result = _run(["-c", code], **extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_check_deploy_on_production_settings_reports_nothing():
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(
    ("unsafe", "error"),
    [
        ({"ADMIN_REQUIRE_2FA": "false"}, "accounts.E001"),
        ({"ANYMAIL_WEBHOOK_SECRET": ""}, "notifications.E001"),
        # The webhook is mounted whatever the email backend: the default one does not excuse a missing secret.
        (
            {
                "ANYMAIL_WEBHOOK_SECRET": "",
                "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            },
            "notifications.E001",
        ),
        ({"SITE_URL": "http://privacy.alilo.kz"}, "core.E001"),
        ({"CONSENT_SIGNING_KEY": ""}, "records.E001"),
        ({"ORGANISATION_BIN": ""}, "records.E002"),
    ],
    ids=[
        "staff-two-factor-off",
        "webhook-without-secret",
        "webhook-without-secret-default-backend",
        "http-site-url",
        "consent-records-without-a-key",
        "consent-records-without-a-bin",
    ],
)
def test_check_deploy_fails_on_an_unsafe_production_setting(unsafe, error):
    result = _run(["manage.py", "check", "--deploy"], **unsafe)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    errors = output.partition("ERRORS:")[2].partition("WARNINGS:")[0]
    assert f"({error})" in errors, output


def test_production_forces_https_and_secure_cookies():
    values = _production_settings(
        "DEBUG",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SESSION_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SESSION_COOKIE_SAMESITE",
        "CSRF_COOKIE_SECURE",
        "CSRF_COOKIE_HTTPONLY",
        "LANGUAGE_COOKIE_SECURE",
        "X_FRAME_OPTIONS",
        "SECURE_CONTENT_TYPE_NOSNIFF",
        "SECURE_REFERRER_POLICY",
        "ADMIN_REQUIRE_2FA",
        "SECURE_PROXY_SSL_HEADER",
    )
    assert values == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SECURE": True,
        "CSRF_COOKIE_HTTPONLY": True,
        "LANGUAGE_COOKIE_SECURE": True,
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        "ADMIN_REQUIRE_2FA": True,
        # No proxy configured: X-Forwarded-Proto is not believed.
        "SECURE_PROXY_SSL_HEADER": None,
    }


def test_hsts_is_configurable_and_proxy_header_trusted_only_with_trusted_proxies():
    values = _production_settings(
        "SECURE_HSTS_SECONDS", "SECURE_PROXY_SSL_HEADER", SECURE_HSTS_SECONDS="600", TRUSTED_PROXIES="1"
    )
    assert values == {
        "SECURE_HSTS_SECONDS": 600,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }


def test_production_refuses_to_start_without_a_secret_key():
    if (ROOT / ".env").is_file():
        pytest.skip("a local .env supplies SECRET_KEY")
    env = _environ()
    del env["SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings.production"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_pages_carry_a_strict_content_security_policy_and_security_headers(client):
    for url in ["/", reverse("accounts:login"), reverse("accounts:signup"), reverse("admin:login")]:
        response = client.get(url)
        assert response.status_code == 200, url
        policy = dict(
            part.strip().split(" ", 1)
            for part in response["Content-Security-Policy"].split(";")
            if part.strip()
        )
        assert policy["default-src"] == "'self'"
        assert policy["script-src"] == "'self'"
        assert policy["style-src"] == "'self'"
        assert policy["frame-ancestors"] == "'none'"
        assert policy["object-src"] == "'none'"
        assert "unsafe" not in response["Content-Security-Policy"]
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
def test_plain_http_is_redirected_and_hsts_sent_over_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    response = client.get("/accounts/login/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/accounts/login/"
    secure = client.get("/accounts/login/", secure=True)
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"].startswith("max-age=3600")


@pytest.mark.django_db
def test_forwarded_proto_is_believed_only_from_a_trusted_proxy(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = None  # TRUSTED_PROXIES=0
    assert client.get("/", HTTP_X_FORWARDED_PROTO="https").status_code == 301


# Emails and documents (files a person downloads and opens from their own disk, such as the access package)
# carry their styles inside them; they are not pages served under the policy.
PAGE_TEMPLATES = [
    path
    for path in (ROOT / "templates").rglob("*.html")
    if not {"emails", "documents"} & set(path.relative_to(ROOT / "templates").parts)
]
INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style\b", re.I), "<style> block"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "event handler attribute"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


@pytest.mark.parametrize("path", PAGE_TEMPLATES, ids=lambda p: str(p.relative_to(ROOT / "templates")))
def test_page_templates_have_no_inline_script_or_style(path):
    text = path.read_text()
    found = [label for pattern, label in INLINE if pattern.search(text)]
    assert not found, f"{path.name}: {found} would be blocked by the Content-Security-Policy"


@pytest.mark.django_db
def test_health_check_is_not_redirected_so_container_checks_work(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = _production_settings("SECURE_REDIRECT_EXEMPT")["SECURE_REDIRECT_EXEMPT"]
    assert client.get("/healthz").status_code in (200, 503)
    assert client.get("/").status_code == 301


@pytest.mark.django_db
def test_cookies_set_at_log_in_carry_the_secure_flags(client, settings):
    from tests.accounts.factories import UserFactory

    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = settings.LANGUAGE_COOKIE_SECURE = True
    settings.LANGUAGE_COOKIE_HTTPONLY = True
    UserFactory(email="a@example.kz", language="ru")
    client.get(reverse("accounts:login"), secure=True)
    response = client.post(
        reverse("accounts:login"),
        {"username": "a@example.kz", "password": "correct-horse-battery"},
        secure=True,
    )
    assert response.status_code == 302
    for name in ("sessionid", "alilo_language"):
        cookie = response.cookies[name]
        assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax", name
    assert response.cookies["alilo_language"].value == "ru"
