import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from apps.acceptances import services
from apps.acceptances.models import Acceptance, ServiceToken, UseReport
from tests.accounts.factories import UserFactory

from .conftest import publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(db):
    return services.service_token_create(name="mobile-app")


@pytest.fixture
def api(client, token):
    _token, raw = token

    class Api:
        """Asks for English, so the messages checked below are the source strings."""

        def get(self, path, **params):
            return client.get(
                f"/api/v1{path}", params, HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en"
            )

        def post(self, path, body, raw_body=None):
            return client.post(
                f"/api/v1{path}",
                raw_body if raw_body is not None else body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {raw}",
                HTTP_ACCEPT_LANGUAGE="en",
            )

    return Api()


def test_token_is_stored_hashed_and_shown_once(token):
    row, raw = token
    assert raw.startswith("alp_") and len(raw) > 40
    stored = ServiceToken.objects.get(pk=row.pk)
    assert stored.token_sha256 == ServiceToken.hash(raw) and raw not in str(stored.__dict__)


@pytest.mark.parametrize("header", [None, "Bearer nope", "Bearer alp_wrong", "Basic abc"])
def test_missing_or_invalid_token_gets_401_json(client, header, db):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/api/v1/consent-status", {"user_id": 1}, HTTP_ACCEPT_LANGUAGE="en", **extra)
    assert response.status_code == 401
    assert "service token" in response.json()["detail"]


def test_revoked_token_is_refused(client, token, user):
    row, raw = token
    services.service_token_revoke(token=row)
    response = client.get("/api/v1/consent-status", {"user_id": user.pk}, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 401


def test_token_use_is_noted(api, token, user):
    api.get("/consent-status", user_id=user.pk)
    token[0].refresh_from_db()
    assert token[0].last_used_at is not None


def test_consent_status_by_id_and_email(api, user, version):
    body = api.get("/consent-status", user_id=user.pk).json()
    assert body["accepted"] is False and body["acceptance"] is None
    assert body["current_version"]["number"] == version.number
    assert body["deadline"] is not None and body["implicit_acceptance_enabled"] is True
    services.acceptance_record_explicit(user=user, version=version, language="kk", ip=None, user_agent="")
    body = api.get("/consent-status", email=user.email.upper()).json()
    assert body["accepted"] is True and body["acceptance"]["method"] == "explicit"
    assert body["user_id"] == user.pk


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"user_id": 999999}, 404),
        ({"email": "nobody@example.kz"}, 404),
        ({}, 422),
        ({"user_id": "x"}, 422),
        ({"user_id": 2**64}, 422),
    ],
)
def test_consent_status_errors(api, user, params, status):
    response = api.get("/consent-status", **params)
    assert response.status_code == status
    body = response.json()
    assert body["detail"]
    if status == 404:
        assert body["unknown"] == [str(next(iter(params.values())))]


def _acceptance_body(user, policy, **change):
    return {
        "user_id": user.pk,
        "version": policy.number,
        "channel": "app",
        "language": "ru",
        "ip": "192.0.2.4",
        "user_agent": "AliloApp/3.1 Android",
        **change,
    }


def test_api_acceptance_is_recorded_once(api, user, version):
    response = api.post("/acceptances", _acceptance_body(user, version))
    assert response.status_code == 201
    assert response.json()["created"] is True and response.json()["acceptance"]["method"] == "api"
    assert response.json()["acceptance"]["email_verified"] is True
    again = api.post("/acceptances", _acceptance_body(user, version, ip="192.0.2.99"))
    assert again.status_code == 200 and again.json()["created"] is False
    acceptance = Acceptance.objects.get()
    assert acceptance.channel == "app" and acceptance.ip == "192.0.2.4"
    assert acceptance.user_agent == "AliloApp/3.1 Android"
    assert acceptance.text_sha256 == version.texts.get(language="ru").body_sha256


def test_api_acceptance_of_an_account_with_an_unconfirmed_address_says_so(api, version):
    user = UserFactory(unverified=True)
    response = api.post("/acceptances", _acceptance_body(user, version))
    assert response.status_code == 201 and response.json()["acceptance"]["email_verified"] is False
    status = api.get("/consent-status", user_id=user.pk).json()
    assert status["acceptance"]["email_verified"] is False


@pytest.mark.parametrize(
    "change",
    [
        {"channel": "web"},
        {"language": "de"},
        {"ip": "not-an-ip"},
        {"text_sha256": "xyz"},
        {"user_id": None},
        {"email": "a@example.kz"},
        {"version": 0},
        {"version": 2**40},
    ],
)
def test_malformed_acceptance_is_422_and_records_nothing(api, user, version, change):
    response = api.post("/acceptances", _acceptance_body(user, version, **change))
    assert response.status_code == 422
    assert response.json()["detail"] == "The request is malformed." and response.json()["errors"]
    assert not Acceptance.objects.exists()


def test_invalid_json_is_a_clear_4xx(api, user, version):
    response = api.post("/acceptances", None, raw_body="{not json")
    assert 400 <= response.status_code < 500 and "detail" in response.json()


def test_acceptance_of_an_old_or_unknown_version_is_refused(api, user, version):
    newer = publish()
    response = api.post("/acceptances", _acceptance_body(user, version))
    assert response.status_code == 409 and response.json()["current_version"] == newer.number
    assert api.post("/acceptances", _acceptance_body(user, version, version=99)).status_code == 404
    unknown = api.post("/acceptances", _acceptance_body(user, newer, user_id=424242))
    assert unknown.status_code == 404 and unknown.json()["unknown"] == ["424242"]
    assert not Acceptance.objects.exists()


def test_acceptance_with_a_foreign_text_hash_is_refused(api, user, version):
    response = api.post("/acceptances", _acceptance_body(user, version, text_sha256="a" * 64))
    assert response.status_code == 422 and not Acceptance.objects.exists()


def test_use_batch_is_stored_and_repeats_are_kept_once(api, user, token):
    other = UserFactory(email="b@example.kz")
    now = timezone.now().replace(microsecond=0)
    uses = [
        {"user_id": user.pk, "used_at": now.isoformat(), "channel": "app"},
        {"email": "B@example.kz", "used_at": (now - timedelta(hours=1)).isoformat(), "channel": "api"},
    ]
    response = api.post("/uses", {"uses": uses})
    assert response.status_code == 200 and response.json() == {"recorded": 2}
    api.post("/uses", {"uses": uses})
    assert UseReport.objects.count() == 2
    report = UseReport.objects.get(user=other)
    assert report.channel == "api" and report.token == token[0]


def test_use_batch_with_an_unknown_user_is_refused_whole(api, user):
    now = timezone.now().isoformat()
    response = api.post(
        "/uses",
        {
            "uses": [
                {"user_id": user.pk, "used_at": now, "channel": "app"},
                {"email": "ghost@example.kz", "used_at": now, "channel": "app"},
                {"user_id": 31337, "used_at": now, "channel": "app"},
            ]
        },
    )
    assert response.status_code == 404
    assert response.json()["unknown"] == ["ghost@example.kz", "31337"]
    assert not UseReport.objects.exists()


@pytest.mark.parametrize(
    "use",
    [
        {"used_at": "2026-01-01T10:00:00", "channel": "app"},  # no time zone
        {"used_at": "yesterday", "channel": "app"},
        {"used_at": "2026-01-01T10:00:00+05:00", "channel": "fax"},
        {"used_at": "2999-01-01T10:00:00+05:00", "channel": "app"},
        {"used_at": "0001-01-01T00:00:00+14:00", "channel": "app"},  # before year 1 in UTC
        {"used_at": "2001-01-01T10:00:00+05:00", "channel": "app"},  # more than a year ago
    ],
)
def test_malformed_use_refuses_the_whole_batch(api, user, use):
    good = {"user_id": user.pk, "used_at": timezone.now().isoformat(), "channel": "app"}
    response = api.post("/uses", {"uses": [good, {"user_id": user.pk, **use}]})
    assert response.status_code == 422 and response.json()["errors"]
    assert not UseReport.objects.exists()


# --- strict input: JSON integers, JSON bodies, times within a sane window -----------------------------


@pytest.mark.parametrize(
    "as_sent",
    [lambda pk: True, lambda pk: str(pk), lambda pk: float(pk), lambda pk: [pk], lambda pk: {"id": pk}],
    ids=["true", "string", "float", "list", "object"],
)
def test_ids_must_be_json_integers(api, user, version, as_sent):
    response = api.post("/acceptances", _acceptance_body(user, version, user_id=as_sent(user.pk)))
    assert response.status_code == 422 and response.json()["errors"][0]["location"].endswith("user_id")
    response = api.post("/acceptances", _acceptance_body(user, version, version=as_sent(version.number)))
    assert response.status_code == 422 and response.json()["errors"][0]["location"].endswith("version")
    use = {"user_id": as_sent(user.pk), "used_at": timezone.now().isoformat(), "channel": "app"}
    assert api.post("/uses", {"uses": [use]}).status_code == 422
    assert not Acceptance.objects.exists() and not UseReport.objects.exists()


def test_ids_in_the_query_string_are_read_from_their_digits(api, user, version):
    assert api.get("/consent-status", user_id=str(user.pk)).status_code == 200
    assert api.get("/consent-status", user_id="true").status_code == 422


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
        "application/merge-patch+json",
        "",
    ],
)
def test_bodies_must_be_declared_as_json(client, token, user, version, content_type):
    _token, raw = token
    body = json.dumps(_acceptance_body(user, version))
    response = client.generic(
        "POST",
        "/api/v1/acceptances",
        body,
        content_type=content_type,
        HTTP_AUTHORIZATION=f"Bearer {raw}",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 415
    assert response.json()["detail"] == (
        "Send the body as JSON, with the header 'Content-Type: application/json'."
    )
    # A form, as a browser would send it.
    response = client.post(
        "/api/v1/acceptances", _acceptance_body(user, version), HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert response.status_code == 415
    assert not Acceptance.objects.exists()


@pytest.mark.parametrize(
    "raw_body",
    [
        b'{"uses": [}',
        json.dumps({"uses": []}).encode("utf-16"),
        b'{"uses": [{"user_id": NaN}]}',
        b'{"uses": [{"used_at": Infinity}]}',
        b'{"uses": "\xff"}',
    ],
    ids=["broken", "utf-16", "NaN", "Infinity", "not-utf-8"],
)
def test_a_body_that_is_not_standard_json_in_utf8_is_a_400(api, user, raw_body):
    response = api.post("/uses", None, raw_body=raw_body)
    assert response.status_code == 400
    assert response.json()["detail"] == "The body is not valid JSON in UTF-8."


def _use_at(api, user, moment: str):
    return api.post("/uses", {"uses": [{"user_id": user.pk, "used_at": moment, "channel": "app"}]})


@pytest.mark.parametrize(
    ("moment", "message"),
    [
        ("0001-01-01T00:00:00+00:00", "The time of use is before the portal existed."),
        ("1970-01-01T00:00:00+00:00", "The time of use is before the portal existed."),
        ("9999-12-31T23:59:59+00:00", "The time of use is in the future."),
    ],
)
def test_use_times_outside_the_service_life_are_refused(api, user, moment, message):
    response = _use_at(api, user, moment)
    assert response.status_code == 422
    assert message in [error["message"].removeprefix("Value error, ") for error in response.json()["errors"]]
    assert not UseReport.objects.exists()


def test_use_times_must_fall_after_the_portal_epoch_and_within_a_year(api, user):
    # Early in 2020 a use of December 2019 is within a year, but before the portal existed.
    with time_machine.travel(datetime(2020, 3, 1, tzinfo=UTC)):
        assert _use_at(api, user, "2019-12-31T12:00:00+00:00").status_code == 422
        assert _use_at(api, user, "2020-01-02T12:00:00+00:00").status_code == 200


def test_use_times_ahead_of_the_clock_are_refused_beyond_five_minutes(api, user):
    # Stricter than a day ahead: a use counts towards an implicit acceptance once it has happened.
    now = timezone.now()
    assert _use_at(api, user, (now + timedelta(hours=2)).isoformat()).status_code == 422
    assert _use_at(api, user, (now + timedelta(days=2)).isoformat()).status_code == 422
    assert _use_at(api, user, (now + timedelta(minutes=2)).isoformat()).status_code == 200


def test_batch_size_is_limited(api, user, settings):
    settings.API_USE_BATCH_MAX = 3
    use = {"user_id": user.pk, "used_at": timezone.now().isoformat(), "channel": "app"}
    response = api.post("/uses", {"uses": [use] * 4})
    assert response.status_code == 422 and "At most 3" in response.content.decode()
    assert api.post("/uses", {"uses": []}).status_code == 422
    assert not UseReport.objects.exists()


def test_openapi_schema_is_published(client, db):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/consent-status", "/api/v1/acceptances", "/api/v1/uses"} <= set(paths)


def test_docs_page_needs_no_cdn(client, db):
    response = client.get("/api/v1/docs")
    body = response.content.decode()
    assert response.status_code == 200 and "cdn" not in body.lower()
