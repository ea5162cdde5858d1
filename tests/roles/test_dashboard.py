"""The admin index dashboard: figures against known data, the lists behind them, who sees what."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.db import transaction
from django.urls import reverse

from apps.acceptances.models import Acceptance
from apps.acceptances.selectors import acceptances_per_day
from apps.connectors.services import service_calls_start
from apps.policies.selectors import policy_current_cache_refresh
from apps.withdrawals import services
from apps.withdrawals.selectors import withdrawal_dashboard_figures
from tests.accounts.factories import UserFactory
from tests.connectors.factories import ConnectedServiceFactory
from tests.policies.factories import PolicyVersionFactory
from tests.roles.conftest import member
from tests.withdrawals.factories import RequestFactory, verified

pytestmark = pytest.mark.django_db

ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=ALMATY)


def at(*args):
    return datetime(*args, tzinfo=ALMATY)


def decided(staff, *, verified_at, decided_at, refuse=False):
    with time_machine.travel(verified_at, tick=False):
        withdrawal = verified()
        services.withdrawal_request_review_start(withdrawal=withdrawal, actor=staff)
    with time_machine.travel(decided_at, tick=False):
        if refuse:
            services.withdrawal_request_refuse(
                withdrawal=withdrawal, actor=staff, reason="The law requires it."
            )
        else:
            services.withdrawal_request_grant(withdrawal=withdrawal, actor=staff)
    return withdrawal


@pytest.fixture
def requests_data(db):
    staff = UserFactory(is_staff=True, email="clerk@alilo.kz", language="en")
    with time_machine.travel(at(2026, 10, 1, 10), tick=False):
        overdue = verified()
    with time_machine.travel(at(2026, 11, 25, 10), tick=False):
        fresh = verified()
    with time_machine.travel(at(2026, 11, 24, 10), tick=False):
        reviewing = verified()
        services.withdrawal_request_review_start(withdrawal=reviewing, actor=staff)
        waiting = verified()
        services.withdrawal_request_review_start(withdrawal=waiting, actor=staff)
        services.withdrawal_request_information_ask(withdrawal=waiting, actor=staff, message="Which account?")
    with time_machine.travel(at(2026, 11, 24, 11), tick=False):
        verified(email="never@example.kz").__class__.objects.filter(email="never@example.kz").update(
            status="cancelled", cancelled_at=at(2026, 11, 24, 11)
        )
    with time_machine.travel(at(2026, 11, 24, 10), tick=False):
        # A correction, due the next working day: overdue, and a connected service has not answered it.
        correction = RequestFactory(request_type="correction", email="fix@example.kz")
        ConnectedServiceFactory(name="Shop", actions=["export"])
        with transaction.atomic():
            service_calls_start(request=correction, action="export")
    fast = decided(staff, verified_at=at(2026, 11, 2, 10), decided_at=at(2026, 11, 4, 10))
    middle = decided(staff, verified_at=at(2026, 11, 2, 10), decided_at=at(2026, 11, 6, 10), refuse=True)
    slow = decided(staff, verified_at=at(2026, 11, 2, 10), decided_at=at(2026, 11, 12, 10))
    old = decided(staff, verified_at=at(2026, 7, 1, 10), decided_at=at(2026, 7, 5, 10))
    return {
        "overdue": overdue,
        "correction": correction,
        "fresh": fresh,
        "reviewing": reviewing,
        "waiting": waiting,
        "recent_decisions": {fast.pk, middle.pk, slow.pk},
        "old": old,
    }


@pytest.fixture
def acceptance_data(db):
    version = PolicyVersionFactory(published=True, number=3, published_at=at(2026, 11, 20, 10))
    PolicyVersionFactory(published=True, number=2, published_at=at(2026, 6, 1, 10))
    policy_current_cache_refresh()
    people = [UserFactory() for _ in range(6)]
    plan = [
        ("explicit", at(2026, 11, 21, 9)),
        ("explicit", at(2026, 11, 21, 23, 30)),
        ("signup", at(2026, 11, 21, 12)),
        ("explicit", at(2026, 11, 23, 8)),
        ("implicit", at(2026, 11, 23, 0, 10)),
        ("api", at(2026, 11, 25, 15)),
    ]
    for user, (method, moment) in zip(people, plan, strict=True):
        Acceptance.objects.create(
            user=user,
            version=version,
            method=method,
            accepted_at=moment,
            language="kk",
            channel="api" if method == "api" else "web",
            used_at=moment if method == "implicit" else None,
        )
    pending = [UserFactory() for _ in range(2)]
    UserFactory(agreement_status="ended", agreement_ended_at=at(2026, 1, 1))  # not pending: agreement ended
    return {"version": version, "pending": pending}


def figures_in(html: str) -> dict[str, tuple[str, str]]:
    """Return {figure: (href, value)} from the dashboard links."""
    found = re.findall(r'<a href="([^"]+)" data-figure="([\w-]+)">([^<]*)</a>', html)
    return {name: (href.replace("&amp;", "&"), value.strip()) for href, name, value in found}


def test_request_figures_against_known_data(requests_data, django_assert_num_queries):
    with django_assert_num_queries(4):
        figures = withdrawal_dashboard_figures(now=NOW)
    assert figures.open_by_status == {"submitted": 3, "in_review": 1, "awaiting_information": 1}
    assert figures.open_by_type == {
        "withdrawal": 4,
        "access": 0,
        "correction": 1,
        "blocking": 0,
        "destruction": 0,
        "objection": 0,
    }
    assert figures.overdue_by_type["withdrawal"] == figures.overdue_by_type["correction"] == 1
    assert figures.services_unanswered == 1
    assert figures.overdue == 2
    assert figures.waiting_near_due == 0  # asked on 24 November, due in December
    assert figures.third_parties_unconfirmed == 0
    assert figures.decided == 3
    assert figures.median_days_to_decide == 4.0


def test_median_is_empty_without_decisions(db):
    assert withdrawal_dashboard_figures(now=NOW).median_days_to_decide is None


def test_acceptances_per_day_since_publication_in_one_query(acceptance_data, django_assert_num_queries):
    with django_assert_num_queries(1):
        days = acceptances_per_day(version=acceptance_data["version"], today=NOW.date())
    assert [(day.isoformat(), n) for day, n in days] == [
        ("2026-11-20", 0),
        ("2026-11-21", 3),
        ("2026-11-22", 0),
        ("2026-11-23", 2),
        ("2026-11-24", 0),
        ("2026-11-25", 1),
        ("2026-11-26", 0),
    ]


def test_officer_sees_every_figure_and_each_links_to_its_list(client, requests_data, acceptance_data):
    officer = member("Privacy officer", email="officer@alilo.kz")
    client.force_login(officer)
    with time_machine.travel(NOW, tick=False):
        page = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en")
        html = page.content.decode()
        figures = figures_in(html)
        assert {name: value for name, (_href, value) in figures.items()} == {
            "status-submitted": "3",
            "status-in_review": "1",
            "status-awaiting_information": "1",
            "overdue": "2",
            "waiting-near-due": "0",
            "services-unanswered": "1",
            "third-parties-unconfirmed": "0",
            "type-withdrawal": "4",
            "type-access": "0",
            "type-correction": "1",
            "type-blocking": "0",
            "type-destruction": "0",
            "type-objection": "0",
            "median": "4.0",
            "method-explicit": "3",
            "method-implicit": "1",
            "method-signup": "1",
            "method-api": "1",
            "total": "6",
            "pending": "4",  # two customers, the clerk and the officer
        }
        assert "3 decisions" in html and "Acceptance of policy version 3" in html

        def listed(name):
            response = client.get(figures[name][0])
            assert response.status_code == 200, name
            return {obj.pk for obj in response.context["cl"].queryset}

        correction = requests_data["correction"].pk
        assert listed("status-submitted") == {
            requests_data["overdue"].pk,
            requests_data["fresh"].pk,
            correction,
        }
        assert listed("status-in_review") == {requests_data["reviewing"].pk}
        assert listed("status-awaiting_information") == {requests_data["waiting"].pk}
        assert listed("overdue") == {requests_data["overdue"].pk, correction}
        assert listed("type-correction") == listed("services-unanswered") == {correction}
        assert len(listed("type-withdrawal")) == 4 and listed("type-objection") == set()
        assert listed("median") == requests_data["recent_decisions"]
        version = acceptance_data["version"]
        explicit = Acceptance.objects.filter(version=version, method="explicit")
        assert listed("method-explicit") == set(explicit.values_list("pk", flat=True))
        assert listed("total") == set(Acceptance.objects.filter(version=version).values_list("pk", flat=True))
        clerk = type(officer).objects.get(email="clerk@alilo.kz")
        assert listed("pending") == {user.pk for user in acceptance_data["pending"]} | {officer.pk, clerk.pk}

    bars = re.findall(
        r'<a href="([^"]+)"[^>]*><rect class="portal-dash-bar"[^>]*data-day="([\d-]+)" data-count="(\d+)"',
        html,
    )
    assert [(day, int(count)) for _href, day, count in bars] == [
        ("2026-11-20", 0),
        ("2026-11-21", 3),
        ("2026-11-22", 0),
        ("2026-11-23", 2),
        ("2026-11-24", 0),
        ("2026-11-25", 1),
        ("2026-11-26", 0),
    ]
    with time_machine.travel(NOW, tick=False):
        busiest = client.get(bars[1][0].replace("&amp;", "&"))
    assert {
        obj.accepted_at.astimezone(ALMATY).date().isoformat() for obj in busiest.context["cl"].queryset
    } == {"2026-11-21"}
    assert busiest.context["cl"].result_count == 3
    assert "<script" not in html.split('id="content-main"')[1].split("</svg>")[0]
    assert 'style="' not in html


def test_svg_coordinates_are_not_localised(client, acceptance_data):
    client.force_login(member("Privacy officer"))
    with time_machine.travel(NOW, tick=False):
        html = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    heights = re.findall(
        r'<rect class="portal-dash-bar" x="([^"]+)" y="([^"]+)" width="([^"]+)" height="([^"]+)"', html
    )
    assert heights and all("," not in value for row in heights for value in row)
    assert max(float(row[3]) for row in heights) == 120.0


@pytest.mark.parametrize(
    ("who", "blocks"),
    [
        ("Privacy officer", {"dash-withdrawals", "dash-acceptances"}),
        ("Policy editor", set()),
        ("Support", set()),
    ],
)
def test_blocks_follow_the_permissions_of_the_lists_behind_them(client, acceptance_data, who, blocks):
    client.force_login(member(who))
    html = client.get("/admin/").content.decode()
    assert {block for block in ("dash-withdrawals", "dash-acceptances") if f'id="{block}"' in html} == blocks


def test_acceptance_block_without_user_list_permission_hides_the_pending_figure(client, acceptance_data):
    viewer = UserFactory(is_staff=True, language="en")
    viewer.user_permissions.add(Permission.objects.get(codename="view_acceptance"))
    client.force_login(viewer)
    figures = figures_in(client.get("/admin/").content.decode())
    assert "total" in figures and "pending" not in figures and "overdue" not in figures


def test_request_block_alone_for_a_request_reader(client, requests_data):
    reader = UserFactory(is_staff=True, language="en")
    reader.user_permissions.add(Permission.objects.get(codename="view_withdrawalrequest"))
    client.force_login(reader)
    with time_machine.travel(NOW, tick=False):
        figures = figures_in(client.get("/admin/").content.decode())
    assert figures["overdue"][1] == "2" and "total" not in figures


def test_no_published_version_says_so(client):
    client.force_login(member("Privacy officer"))
    html = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "No version of the policy is published yet." in html
    assert reverse("admin:withdrawals_withdrawalrequest_changelist") in html


def test_median_without_percentile_cont_matches(requests_data, monkeypatch):
    from django.db import connection

    monkeypatch.setattr(connection, "vendor", "sqlite")
    figures = withdrawal_dashboard_figures(now=NOW)
    assert (figures.decided, figures.median_days_to_decide) == (3, 4.0)
