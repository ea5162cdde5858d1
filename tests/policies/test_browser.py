import pytest
from django.urls import reverse

from apps.policies.models import PolicyVersion
from tests.accounts.factories import StaffFactory
from tests.policies.factories import PolicyVersionFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_staff_publishes_a_draft_in_the_admin_and_the_public_page_shows_it(page, live_server):
    staff = StaffFactory(email="editor@alilo.example")
    draft = PolicyVersionFactory(number=1)
    draft.texts.filter(language="kk").update(title="Жаңа саясат", body="1. Бөлім\n\n2.6. Келісімді қайтару.")

    page.goto(reverse("admin:login"))
    page.fill("input[name=username]", staff.email)
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")

    page.goto(reverse("admin:policies_policyversion_change", args=[draft.pk]))
    page.click(f"a[href='{reverse('admin:policies_policyversion_publish', args=[draft.pk])}']")
    page.wait_for_selector("input[name=confirm]")
    page.click("input[name=confirm]")
    page.wait_for_url(f"**{reverse('admin:policies_policyversion_change', args=[draft.pk])}")
    assert PolicyVersion.objects.get(pk=draft.pk).is_published

    page.goto(reverse("policies:current"))
    assert page.locator("h1").inner_text() == "Жаңа саясат"
    clause = page.locator("[id='2.6']")
    assert "Келісімді қайтару." in clause.inner_text()
    page.goto(reverse("policies:current") + "#2.6")
    assert page.evaluate("document.querySelector(':target') && document.querySelector(':target').id") == "2.6"
    # Readable on a phone: nothing wider than the viewport.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
