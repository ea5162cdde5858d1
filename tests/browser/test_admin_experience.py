"""The admin as each role uses it, in a real browser: axe-core finds nothing, Kazakh and Russian are complete
(django-axes, django-otp, the role names, Django's own strings corrected), the dashboard and the workflow."""

import re

import pytest
from django.urls import reverse

from apps.accounts.roles import POLICY_EDITOR, PRIVACY_OFFICER, SUPPORT
from tests.browser.support import axe_violations, screenshot, sign_in
from tests.roles.conftest import member, roles_ensure
from tests.roles.test_role_matrix import EDITOR_PAGES, OFFICER_PAGES, SUPPORT_PAGES, pages

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROLES = [(PRIVACY_OFFICER, OFFICER_PAGES), (POLICY_EDITOR, EDITOR_PAGES), (SUPPORT, SUPPORT_PAGES)]
# English (or untranslated) text a Kazakh or Russian admin page must not show, and Django's wrong kk strings.
NOT_IN_KK_OR_RU = [
    "AXES",
    "OTP_TOTP",
    "TOTP devices",
    "Privacy officer",
    "Policy editor",
    "withdrawal_received",
    "withdrawal.verify",
]
WRONG_DJANGO_KK = ["Өзгетру", "өзгету", " кос", "үщін", "Сүзгіз", "Өшіру/Уақыт", "Жорнал"]


def _desktop(page):
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_each_roles_admin_pages_pass_axe_and_speak_the_staff_members_language(
    page, live_server, client, world, language
):
    _desktop(page)
    urls = pages(world)
    found, leftovers = [], []
    for role, allowed in ROLES:
        staff = member(role, email=f"{role.split()[0].lower()}-{language}@alilo.kz", language=language)
        page.context.clear_cookies()
        sign_in(page, client, live_server, staff)
        page.context.add_cookies([{"name": "alilo_language", "value": language, "url": live_server.url}])
        for name in ["index", *sorted(allowed)]:
            url = reverse("admin:index") if name == "index" else urls[name]
            response = page.goto(url)
            assert response.status == 200, (role, name)
            assert page.locator("html").get_attribute("lang") == language
            found += axe_violations(page)
            if language != "en":
                text = page.locator("body").inner_text()
                leftovers += [(role, name, word) for word in NOT_IN_KK_OR_RU if word in text]
                if language == "kk":
                    leftovers += [(role, name, word) for word in WRONG_DJANGO_KK if word in text]
    assert found + leftovers == [], "\n".join(map(str, found + leftovers))


def test_kazakh_admin_names_axes_otp_and_the_roles_in_kazakh(page, live_server, client, superuser):
    _desktop(page)
    superuser.language = "kk"
    superuser.save()
    sign_in(page, client, live_server, superuser)
    page.context.add_cookies([{"name": "alilo_language", "value": "kk", "url": live_server.url}])
    page.goto(reverse("admin:index"))
    text = page.locator("#content-main").inner_text()
    assert not re.search(r"\bAXES\b|OTP_TOTP|TOTP devices", text)
    page.goto(reverse("admin:otp_totp_totpdevice_add"))
    form = page.locator("#content-main").inner_text()
    for english in ["Identity", "Timestamps", "Configuration", "Throttling", "The human-readable name"]:
        assert english not in form
    roles_ensure()
    page.goto(reverse("admin:auth_group_changelist"))
    groups = page.locator("#result_list").inner_text()
    assert "Privacy officer" not in groups and "Support" not in groups
    found = axe_violations(page)
    assert found == []


def test_dashboard_says_no_acceptances_yet_instead_of_an_empty_chart(page, live_server, client, superuser):
    from tests.acceptances.conftest import publish

    publish(number=1)
    _desktop(page)
    sign_in(page, client, live_server, superuser)
    page.goto(reverse("admin:index"))
    block = page.locator("#dash-acceptances")
    assert block.locator("svg").count() == 0
    assert "No acceptances yet" in block.locator("[data-chart-empty]").inner_text()
    assert axe_violations(page) == []


def test_dashboard_title_uses_one_font_for_every_kazakh_letter(page, live_server, client, world, superuser):
    superuser.language = "kk"
    superuser.save()
    _desktop(page)
    sign_in(page, client, live_server, superuser)
    page.context.add_cookies([{"name": "alilo_language", "value": "kk", "url": live_server.url}])
    page.goto(reverse("admin:index"))
    title = page.locator("#dash-acceptances-title")
    assert re.search("[әғқңөұүһі]", title.inner_text().lower())
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "#dash-acceptances-title"})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    assert len({font["familyName"] for font in fonts}) == 1, fonts


def test_officer_works_a_request_on_the_desktop(page, live_server, client, world, tmp_path):
    """The request's admin page: the workflow, the emails with readable names, the grant tick box checked
    by the server (no browser tooltip), and pictures of the dashboard and the workflow."""
    _desktop(page)
    officer = member(PRIVACY_OFFICER, email="officer-desk@alilo.kz")
    sign_in(page, client, live_server, officer)
    page.goto(reverse("admin:index"))
    screenshot(page, "desktop-admin-dashboard", tmp_path, full_page=False)
    withdrawal = world["withdrawal"]
    page.goto(reverse("admin:withdrawals_withdrawalrequest_change", args=[withdrawal.pk]))
    emails = page.locator(".wd-emails").inner_text()
    assert "withdrawal_received" not in emails and "Withdrawal request received" in emails
    page.get_by_role("button", name="Start review").click()
    page.wait_for_load_state()
    page.get_by_role("button", name="Grant the withdrawal").click()
    page.wait_for_load_state()
    assert (
        "Tick the box to confirm that the withdrawal should be applied."
        in page.locator(".messagelist").inner_text()
    )
    assert axe_violations(page) == []
    screenshot(page, "desktop-request-workflow", tmp_path, full_page=False)
