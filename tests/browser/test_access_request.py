"""Real Chromium, in Kazakh and Russian: a person's access request is confirmed from the email; the export
calls go to two connected services (one answers later by callback, one times out and staff mark it done by
hand); staff grant it in the admin; the person confirms their address again and downloads the package."""

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.connectors.models import ServiceCall
from apps.connectors.services import service_call_attempt
from apps.notifications.models import OutboxEmail
from apps.notifications.services import outbox_emails_deliver
from apps.withdrawals.models import AccessPackage, WithdrawalRequest
from apps.withdrawals.selectors import withdrawal_confirm_path
from tests.browser.support import axe_violations, screenshot, sideways_overflow, sign_in
from tests.support.servers import wait_for
from tests.withdrawals.factories import access_request

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HELD = {
    "kk": "Тапсырыстар, жеткізу мекенжайлары, орналасу, іздеу тарихы",
    "ru": "Заказы, адреса доставки, геолокация, история поиска",
}


def delivered_link(template: str, pattern: str) -> str:
    """Deliver the newest outbox email of this template (as the worker does) and return the path of the
    link in its text."""
    row = OutboxEmail.objects.filter(template=template).latest("id")
    mail.outbox.clear()
    outbox_emails_deliver(email_ids=[row.pk])
    [message] = mail.outbox
    assert message.extra_headers["Content-Language"] == row.language
    return re.search(pattern, message.body).group(1)


def fits_a_small_phone(page) -> bool:
    """Whether the page scrolls sideways at 320 CSS px (WCAG 1.4.10); the viewport is put back."""
    size = page.viewport_size
    page.set_viewport_size({"width": 320, "height": 700})
    overflow = sideways_overflow(page)
    page.set_viewport_size(size)
    return overflow == 0


def save_download(page, link, folder: Path) -> Path:
    with page.expect_download() as info:
        link.click()
    target = folder / info.value.suggested_filename
    info.value.save_as(target)
    return target


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_access_request_from_email_confirmation_to_download(
    language, page, live_server, client, superuser, reference_services, tmp_path
):
    page.context.add_cookies([{"name": "alilo_language", "value": language, "url": live_server.url}])
    shop = reference_services(
        name="Shop", mode="later", auto_callback=True, callback_base=live_server.url, callback_delay=0.2
    )
    reference_services(name="Maps", mode="timeout", timeout_seconds=1)

    # The person's request as the form leaves it; they confirm it from the emailed link.
    withdrawal = access_request(email="aigerim@example.kz", language=language, confirm=False)
    page.goto(withdrawal_confirm_path(withdrawal))
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/privacy/requests/status/"))
    withdrawal.refresh_from_db()
    assert withdrawal.status == "submitted" and withdrawal.reference.startswith("AR-")
    assert page.locator("html").get_attribute("lang") == language
    assert page.locator("#package").is_visible()
    assert page.locator("#package form").count() == 0  # nothing to download before the grant
    page.reload()  # without the one-time "registered" message
    assert axe_violations(page) == []

    # The export calls, posted as the worker posts them: the shop accepts and calls back, the maps time out.
    calls = {call.service.name: call for call in ServiceCall.objects.filter(request=withdrawal)}
    service_call_attempt(call_pk=calls["Shop"].pk)
    service_call_attempt(call_pk=calls["Maps"].pk)
    wait_for(lambda: ServiceCall.objects.get(pk=calls["Shop"].pk).state == "done", timeout=15)
    assert ServiceCall.objects.get(pk=calls["Maps"].pk).state == "queued"
    assert not AccessPackage.objects.exists()

    # Staff: the page says what the package waits for; the grant is refused until it is built.
    superuser.language = language
    superuser.save()
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, client, live_server, superuser)
    change = reverse("admin:withdrawals_withdrawalrequest_change", args=[withdrawal.pk])
    page.goto(change)
    assert page.locator(".wd-package-waiting").is_visible()
    assert "1" in page.locator(".wd-package-waiting").inner_text()
    page.locator("form[action$='/workflow/review/'] button").click()
    page.wait_for_load_state()
    page.locator("form[action$='/workflow/grant/'] input[name=confirm]").check()
    page.locator("form[action$='/workflow/grant/'] button").click()
    page.locator(".messagelist .error").wait_for()
    assert WithdrawalRequest.objects.get(pk=withdrawal.pk).status == "in_review"
    # The silent service, marked done by hand from the package's list of services still owed an answer.
    page.goto(change)
    page.locator(".wd-package-unanswered a").click()
    page.locator("a[href$='/mark-done/']").click()
    page.locator("textarea[name=note]").fill("The maps team confirmed: no data kept.")
    page.locator("form input[type=submit]").click()
    page.wait_for_load_state()
    assert ServiceCall.objects.get(pk=calls["Maps"].pk).state == "done_by_hand"
    page.goto(change)
    assert page.locator(".wd-package-built").is_visible()
    with page.expect_popup() as preview:
        page.locator(".wd-package-admin a[target=_blank]").click()
    preview.value.wait_for_load_state()
    assert preview.value.locator("html").get_attribute("lang") == language
    preview.value.close()
    page.locator("form[action$='/workflow/grant/'] input[name=confirm]").check()
    page.locator("form[action$='/workflow/grant/'] button").click()
    page.locator(".wd-package-released").wait_for()
    assert WithdrawalRequest.objects.get(pk=withdrawal.pk).status == "granted"
    screenshot(page, f"access-request-admin-{language}", tmp_path, full_page=False)
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "alilo_language", "value": language, "url": live_server.url}])
    page.set_viewport_size({"width": 412, "height": 860})

    # The person: the email leads to the request's page, where Download emails a one-time link.
    status_path = delivered_link(
        "access_package_released", r"https?://[^/\s]+(/privacy/requests/status/\S+/)"
    )
    page.goto(status_path)
    page.locator("#package form button[type=submit]").click()
    page.wait_for_url(re.compile(r"#package$"))
    assert page.locator(".messages .success").is_visible()
    assert page.locator("a[href$='/package/json/']").count() == 0
    link_path = delivered_link("access_package_link", r"https?://[^/\s]+(/privacy/requests/package/\S+/)")
    page.goto(link_path)
    assert axe_violations(page) == [] and fits_a_small_phone(page)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/privacy/requests/status/.+#package$"))
    page.reload()
    assert page.locator("a[href$='/package/json/']").is_visible()
    assert axe_violations(page) == [] and fits_a_small_phone(page)
    screenshot(page, f"access-request-downloads-{language}", tmp_path)

    as_json = json.loads(save_download(page, page.locator("a[href$='/package/json/']"), tmp_path).read_text())
    assert as_json["language"] == language and as_json["request"]["reference"] == withdrawal.reference
    services = {item["name"]: item for item in as_json["services"]}
    assert services["Shop"]["data"]["orders"] == shop.store["aigerim@example.kz"]["orders"]
    assert services["Shop"]["data_held"] == HELD[language]
    assert services["Maps"]["state"] == "done_by_hand"
    html_file = save_download(page, page.locator("a[href$='/package/html/']"), tmp_path)
    archive = zipfile.ZipFile(
        io.BytesIO(save_download(page, page.locator("a[href$='/package/zip/']"), tmp_path).read_bytes())
    )
    assert len(archive.namelist()) == 2

    # The readable page opens on its own, in the person's language, and is accessible.
    page.goto(html_file.as_uri())
    assert page.locator("html").get_attribute("lang") == language
    assert page.get_by_text(HELD[language]).first.is_visible()
    for order in shop.store["aigerim@example.kz"]["orders"]:
        assert page.get_by_text(order["number"]).first.is_visible()
    assert axe_violations(page) == [] and fits_a_small_phone(page)
    screenshot(page, f"access-package-{language}", tmp_path)

    downloads = AuditEvent.objects.filter(action="withdrawal.package_download", target_id=str(withdrawal.pk))
    assert sorted(event.details["format"] for event in downloads) == ["html", "json", "zip"]
    assert {event.ip for event in downloads} == {"127.0.0.1"}
    # The link was used: a second opening elsewhere is refused.
    assert client.get(link_path).status_code == 410
