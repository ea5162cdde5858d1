"""The dashboard in a real browser: figures, the chart, the link to a list, no CSP violation, phone width."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from apps.acceptances.models import Acceptance
from apps.policies.selectors import policy_current_cache_refresh
from tests.accounts.factories import StaffFactory, UserFactory
from tests.policies.factories import PolicyVersionFactory
from tests.withdrawals.factories import verified

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_staff_reads_the_dashboard_and_follows_a_figure_to_its_list(page, live_server, client):
    staff = StaffFactory(email="root@alilo.kz")
    now = timezone.now()
    version = PolicyVersionFactory(published=True, number=1, published_at=now - timedelta(days=3))
    policy_current_cache_refresh()
    for days_ago, method in [(2, "explicit"), (2, "explicit"), (1, "signup")]:
        Acceptance.objects.create(
            user=UserFactory(),
            version=version,
            method=method,
            accepted_at=now - timedelta(days=days_ago),
            language="kk",
            channel="web",
        )
    first, second = verified(email="a@example.kz"), verified(email="b@example.kz")
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)

    client.force_login(staff)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page.goto("/admin/")
    block = page.locator("#dash-withdrawals")
    assert block.is_visible()
    assert block.locator("[data-figure=status-submitted]").inner_text() == "2"
    acceptances = page.locator("#dash-acceptances")
    assert acceptances.locator("[data-figure=method-explicit]").inner_text() == "2"
    assert acceptances.locator("[data-figure=method-signup]").inner_text() == "1"
    bars = acceptances.locator("rect.portal-dash-bar")
    assert bars.count() == 4
    # The stylesheet applied: the bars take their colour from it, and the chart has a height.
    assert bars.nth(0).evaluate("el => getComputedStyle(el).fill") == "rgb(65, 118, 144)"
    assert acceptances.locator("svg").bounding_box()["height"] == 120
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    block.locator("[data-figure=status-submitted]").click()
    page.wait_for_url("**/admin/withdrawals/withdrawalrequest/?status__exact=submitted")
    listed = page.locator("#result_list tbody tr")
    assert listed.count() == 2
    assert {first.reference, second.reference} <= set(page.locator("#result_list").inner_text().split())
    assert violations == []
