"""Consent records: each acceptance method and each granted withdrawal gives an ISO/IEC 27560 record in
JSON-LD that verifies; a changed record, a foreign key or a non-record fails; old keys keep verifying."""

import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone, translation

from apps.acceptances import services as acceptance_services
from apps.acceptances.models import Acceptance
from apps.records import keys
from apps.records.selectors import (
    consent_record_of_acceptance,
    consent_records_of_user,
    subject_pseudonym,
)
from apps.records.signing import record_sign, record_verify
from apps.withdrawals import services as withdrawal_services
from tests.acceptances.conftest import publish
from tests.accounts.factories import StaffFactory, UserFactory
from tests.withdrawals.factories import verified

pytestmark = pytest.mark.django_db


def _acceptance(method: str, user, version) -> Acceptance:
    if method == "explicit":
        return acceptance_services.acceptance_record_explicit(
            user=user, version=version, language="kk", ip="198.51.100.1", user_agent="UA"
        )[0]
    if method == "signup":
        return acceptance_services.acceptance_record(
            user=user, version=version, method="signup", channel="web", language="kk"
        )[0]
    if method == "api":
        token, _raw = acceptance_services.service_token_create(name="Shop")
        return acceptance_services.acceptance_record_api(
            user=user,
            version=version,
            channel="app",
            language="kk",
            ip=None,
            user_agent="App/1",
            text_sha256="",
            token=token,
        )[0]
    # Implicit: as the sweep writes it, from a use after the deadline.
    return Acceptance.objects.create(
        user=user,
        version=version,
        method="implicit",
        channel="web",
        accepted_at=timezone.now(),
        used_at=timezone.now() - timedelta(minutes=1),
        language="kk",
    )


@pytest.mark.parametrize("method", ["explicit", "signup", "api", "implicit"])
def test_every_acceptance_method_gives_a_record_that_verifies(signing_key, settings, method):
    settings.ORGANISATION_BIN = "123456789012"
    version = publish(number=1)
    user = UserFactory(email="aigul@example.kz")
    acceptance = _acceptance(method, user, version)

    signed = record_sign(consent_record_of_acceptance(acceptance))
    document = json.loads(json.dumps(signed))  # as downloaded and read back

    result = record_verify(document)
    assert result.valid and result.kid == signing_key.thumbprint()
    assert document["@type"] == "dpv:ConsentRecord"
    assert document["dct:conformsTo"] == "https://w3id.org/dpv/schema/iso-27560#record"
    assert document["dpv:hasConsentStatus"] == "dpv:ConsentGiven"
    assert document["dpv:hasIndicationMethod"]["alilo:method"] == method
    assert document["dpv:hasNotice"]["dct:hasVersion"] == 1
    assert document["dpv:hasNotice"].get("schema:sha256", "") == acceptance.text_sha256
    assert document["dpv:hasDataController"]["schema:taxID"] == "123456789012"
    assert document["dpv:hasDataSubject"]["@id"] == subject_pseudonym(user.pk)
    assert "aigul@example.kz" not in json.dumps(document)
    expected = "dpv:ImpliedConsent" if method == "implicit" else "dpv:ExplicitlyExpressedConsent"
    assert document["dpv:hasConsentType"] == expected


def test_a_granted_withdrawal_gives_a_withdrawn_record(signing_key):
    version = publish(number=1)
    user = UserFactory(email="aigul@example.kz")
    _acceptance("explicit", user, version)
    withdrawal = verified(requester=user, email=user.email, scope="partial", purposes=["marketing"])
    staff = StaffFactory()
    withdrawal_services.withdrawal_request_review_start(withdrawal=withdrawal, actor=staff)
    withdrawal_services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff)

    records = consent_records_of_user(user_id=user.pk)

    assert [record["dpv:hasConsentStatus"] for record in records] == [
        "dpv:ConsentGiven",
        "dpv:ConsentWithdrawn",
    ]
    withdrawn = records[1]
    assert [purpose["dct:identifier"] for purpose in withdrawn["dpv:hasPurpose"]] == ["marketing"]
    assert withdrawn["dpv:hasNotice"]["dct:hasVersion"] == 1
    assert all(record_verify(record).valid for record in records)


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r.update({"dct:created": "2020-01-01T00:00:00Z"}),
        lambda r: r["dpv:hasNotice"].update({"dct:hasVersion": 2}),
        lambda r: r.update({"dpv:hasConsentStatus": "dpv:ConsentWithdrawn"}),
        lambda r: r.update({"extra": "added"}),
        lambda r: r["proof"].update({"jws": r["proof"]["jws"][:-4] + "AAAA"}),
    ],
)
def test_a_tampered_record_fails(signing_key, change):
    version = publish(number=1)
    signed = record_sign(consent_record_of_acceptance(_acceptance("explicit", UserFactory(), version)))
    change(signed)
    result = record_verify(json.loads(json.dumps(signed)))
    assert not result.valid and result.reason == "altered"


def test_a_record_signed_by_another_key_or_without_proof_is_not_genuine(signing_key, settings):
    version = publish(number=1)
    record = consent_record_of_acceptance(_acceptance("explicit", UserFactory(), version))
    settings.CONSENT_SIGNING_KEY = keys.key_private_json(keys.key_generate())
    foreign = record_sign(record)
    settings.CONSENT_SIGNING_KEY = keys.key_private_json(signing_key)
    assert record_verify(foreign).reason == "unknown_key"
    assert record_verify(record).reason == "no_proof"
    assert record_verify([1, 2]).reason == "malformed"


def test_after_a_rotation_old_records_verify_and_new_ones_use_the_new_key(signing_key, settings, client):
    version = publish(number=1)
    old = record_sign(consent_record_of_acceptance(_acceptance("explicit", UserFactory(), version)))
    old_public = keys.published_jwks()

    new_key = keys.key_generate()
    settings.CONSENT_SIGNING_KEY = keys.key_private_json(new_key)
    settings.CONSENT_RETIRED_PUBLIC_KEYS = json.dumps(old_public)
    new = record_sign(consent_record_of_acceptance(_acceptance("explicit", UserFactory(), version)))

    assert record_verify(old).valid and record_verify(old).kid == signing_key.thumbprint()
    assert record_verify(new).valid and record_verify(new).kid == new_key.thumbprint()
    published = client.get("/.well-known/jwks.json").json()
    assert [key["kid"] for key in published["keys"]] == [new_key.thumbprint(), signing_key.thumbprint()]
    assert all("d" not in key for key in published["keys"])

    settings.CONSENT_RETIRED_PUBLIC_KEYS = ""  # the old key no longer published
    assert record_verify(old).reason == "unknown_key"


def test_the_pseudonymous_id_is_stable_and_depends_on_the_secret(settings):
    first = subject_pseudonym(7)
    assert subject_pseudonym(7) == first != subject_pseudonym(8)
    settings.CONSENT_SUBJECT_ID_SECRET = "another"
    assert subject_pseudonym(7) != first


def test_a_development_key_is_generated_once_under_var_dir(settings, tmp_path):
    settings.CONSENT_SIGNING_KEY = ""
    settings.CONSENT_SIGNING_KEY_FILE = str(tmp_path / "key.json")
    first = keys.signing_key().thumbprint()
    assert (tmp_path / "key.json").stat().st_mode & 0o777 == 0o600
    assert keys.signing_key().thumbprint() == first


def test_the_command_verifies_a_file_and_refuses_a_changed_one(signing_key, tmp_path, capsys):
    version = publish(number=1)
    user = UserFactory()
    _acceptance("explicit", user, version)
    path = tmp_path / "records.json"
    path.write_text(json.dumps(consent_records_of_user(user_id=user.pk)), encoding="utf-8")
    call_command("verify_consent_record", str(path))
    assert "genuine and unchanged" in capsys.readouterr().out

    path.write_text(path.read_text().replace('"dct:hasVersion": 1', '"dct:hasVersion": 2'), encoding="utf-8")
    with pytest.raises(CommandError, match="1 of 1 records did not verify"):
        call_command("verify_consent_record", str(path))
    path.write_text("not json")
    with translation.override("en"), pytest.raises(CommandError, match="not a consent record"):
        call_command("verify_consent_record", str(path))


def test_the_owner_downloads_records_and_no_one_else(signing_key, client):
    version = publish(number=1)
    owner, other = UserFactory(), UserFactory()
    acceptance = _acceptance("explicit", owner, version)
    client.force_login(other)
    assert client.get(reverse("records:acceptance", args=[acceptance.pk])).status_code == 404
    client.force_login(owner)
    response = client.get(reverse("records:acceptance", args=[acceptance.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("application/ld+json")
    assert record_verify(json.loads(response.content)).valid
    assert "attachment" in response["Content-Disposition"]
    page = client.get(reverse("acceptances:my_privacy")).content.decode()
    assert reverse("records:acceptance", args=[acceptance.pk]) in page and reverse("records:mine") in page


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe not utf-8", "must be the JSON file downloaded"),
        (b"{not json", "must be the JSON file downloaded"),
        (b"[" * 100000 + b"]" * 100000, "must be the JSON file downloaded"),
        (b"NaN", "must be the JSON file downloaded"),
        (b'{"a": 1}', "carries no signature"),
        (b'"a string"', "not a consent record of this portal"),
        (b" " * (600 * 1024), "too large"),
    ],
)
def test_the_verifier_page_answers_bad_files_with_a_clear_error(client, signing_key, content, message):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        reverse("records:verify"),
        {"record": SimpleUploadedFile("record.json", content, "application/json")},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert message in response.content.decode()


def test_the_verifier_page_says_genuine_or_changed(client, signing_key):
    from django.core.files.uploadedfile import SimpleUploadedFile

    version = publish(number=1)
    signed = record_sign(consent_record_of_acceptance(_acceptance("explicit", UserFactory(), version)))
    good = client.post(
        reverse("records:verify"),
        {"record": SimpleUploadedFile("r.json", json.dumps(signed).encode(), "application/json")},
        HTTP_ACCEPT_LANGUAGE="en",
    ).content.decode()
    assert 'data-verify-result="valid"' in good and "Genuine and unchanged" in good
    signed["dct:created"] = "2020-01-01T00:00:00Z"
    bad = client.post(
        reverse("records:verify"),
        {"record": SimpleUploadedFile("r.json", json.dumps(signed).encode(), "application/json")},
        HTTP_ACCEPT_LANGUAGE="en",
    ).content.decode()
    assert 'data-verify-result="invalid"' in bad and "changed after it was signed" in bad


def test_services_read_a_persons_records_through_the_api(client, signing_key):
    version = publish(number=1)
    user = UserFactory(email="aigul@example.kz")
    _acceptance("explicit", user, version)
    _token, raw = acceptance_services.service_token_create(name="Reader")
    response = client.get(
        "/api/v1/consent-records", {"email": "aigul@example.kz"}, HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert response.status_code == 200
    body = response.json()
    assert len(body["records"]) == 1 and record_verify(body["records"][0]).valid
    assert body["jwks_url"].endswith("/.well-known/jwks.json")
    assert client.get("/api/v1/consent-records", {"user_id": 1}).status_code == 401
    missing = client.get("/api/v1/consent-records", {"user_id": 999999}, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert missing.status_code == 404
