import pytest

from apps.acceptances.models import Acceptance
from apps.policies.selectors import policy_current_cache_refresh
from tests.accounts.factories import UserFactory
from tests.policies.factories import PolicyVersionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_user_sees_banner_after_publication_and_accepts(page):
    user = UserFactory(email="reader@example.kz", language="en")
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "reader@example.kz")
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("main button[type=submit]")
    page.goto("/")
    assert page.locator(".policy-banner").count() == 0

    version = PolicyVersionFactory(published=True)
    policy_current_cache_refresh()
    page.goto("/")
    banner = page.locator(".policy-banner")
    banner.wait_for()
    assert f"Summary {version.number} (en)" in banner.inner_text()
    banner.get_by_role("button", name=f"Accept version {version.number}").click()

    page.wait_for_url("**/")
    assert page.locator(".policy-banner").count() == 0
    assert "You accepted version" in page.locator(".messages").inner_text()
    acceptance = Acceptance.objects.get(user=user)
    assert acceptance.method == "explicit" and acceptance.channel == "web"
    assert acceptance.text_sha256 == version.texts.get(language="en").body_sha256
    assert "Chrome" in acceptance.user_agent

    page.goto("/privacy/me/")
    page.get_by_role("link", name="Receipt").first.click()
    assert acceptance.text_sha256 in page.content()
