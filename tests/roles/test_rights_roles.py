"""Who may decide the other rights: the Privacy officer grants each type, unblocks and sees each service's
call with its link to mark it done by hand; a clerk without the decide permission sees the request but no
grant, refusal or unblock; Support sees the type and the public timeline only, and can post nothing."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from apps.accounts.roles import PRIVACY_OFFICER
from apps.connectors.models import ServiceCall
from apps.withdrawals import services
from apps.withdrawals.models import WithdrawalRequest
from tests.accounts.factories import UserFactory
from tests.connectors.factories import ConnectedServiceFactory
from tests.roles.conftest import member
from tests.withdrawals.factories import RequestFactory

pytestmark = pytest.mark.django_db

TYPES = ["correction", "blocking", "destruction", "objection"]
POSTS = {
    "correction": {"apply_full_name": "on", "value_full_name": "Dana S."},
    "blocking": {"confirm": "on"},
    "destruction": {"confirm": "on"},
    "objection": {"confirm": "on"},
}


def step_url(request, step):
    return reverse("admin:withdrawals_withdrawalrequest_workflow", args=[request.pk, step])


def change_url(request):
    return reverse("admin:withdrawals_withdrawalrequest_change", args=[request.pk])


def in_review(request_type, staff, **kwargs):
    customer = UserFactory(full_name="Dana Seitkali")
    request = RequestFactory(request_type=request_type, requester=customer, **kwargs)
    return services.withdrawal_request_review_start(withdrawal=request, actor=staff)


@pytest.mark.parametrize("request_type", TYPES)
def test_support_posts_no_step_of_any_type(client, support, request_type):
    officer = member(PRIVACY_OFFICER)
    request = in_review(request_type, officer)
    client.force_login(support)
    for step in ("grant", "refuse", "unblock", "note", "review"):
        assert client.post(step_url(request, step), {**POSTS[request_type], "reason": "x"}).status_code == 403
    assert WithdrawalRequest.objects.get(pk=request.pk).status == "in_review"


@pytest.mark.parametrize("request_type", TYPES)
def test_without_the_decide_permission_no_type_is_granted_or_refused(client, request_type):
    officer = member(PRIVACY_OFFICER)
    request = in_review(request_type, officer)
    clerk = UserFactory(is_staff=True, language="en")
    clerk.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="withdrawals",
            codename__in=["view_withdrawalrequest", "change_withdrawalrequest"],
        )
    )
    client.force_login(clerk)
    page = client.get(change_url(request)).content.decode()
    assert step_url(request, "grant") not in page and step_url(request, "refuse") not in page
    assert client.post(step_url(request, "grant"), POSTS[request_type]).status_code == 403
    assert client.post(step_url(request, "refuse"), {"reason": "No."}).status_code == 403
    assert WithdrawalRequest.objects.get(pk=request.pk).status == "in_review"


def test_the_officer_grants_a_blocking_sees_the_calls_and_unblocks_a_clerk_cannot(client, officer):
    ConnectedServiceFactory(name="Shop", actions=["block", "unblock"])
    request = in_review("blocking", officer)
    client.force_login(officer)
    assert client.post(step_url(request, "grant"), {"confirm": "on"}).status_code == 302
    call = ServiceCall.objects.get()
    page = client.get(change_url(request), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert reverse("admin:connectors_servicecall_mark_done", args=[call.pk]) in page
    assert step_url(request, "unblock") in page

    clerk = UserFactory(is_staff=True, language="en")
    clerk.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="withdrawals",
            codename__in=["view_withdrawalrequest", "change_withdrawalrequest"],
        )
    )
    client.force_login(clerk)
    page = client.get(change_url(request), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert step_url(request, "unblock") not in page
    assert reverse("admin:connectors_servicecall_mark_done", args=[call.pk]) not in page  # no mark-done right
    assert "Shop" in page  # the state itself is shown
    assert client.post(step_url(request, "unblock"), {"note": "Lifted"}).status_code == 403

    client.force_login(officer)
    assert client.post(step_url(request, "unblock"), {"note": "Lifted"}).status_code == 302
    assert sorted(ServiceCall.objects.values_list("action", flat=True)) == ["block", "unblock"]


def test_support_sees_the_type_but_not_the_corrections_asked_for(client, support):
    officer = member(PRIVACY_OFFICER)
    request = in_review(
        "correction",
        officer,
        details={"corrections": [{"field": "phone", "current": "+77015550000", "correct": "+77019998877"}]},
    )
    client.force_login(support)
    detail = client.get(
        reverse("admin:withdrawals_withdrawalrequeststatus_change", args=[request.pk]),
        HTTP_ACCEPT_LANGUAGE="en",
    ).content.decode()
    assert request.reference in detail and "Correction of my data" in detail
    assert "7019998877" not in detail and "7015550000" not in detail
