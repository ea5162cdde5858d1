"""Reads of connected services and their calls, for the request's page, the access package, the digest and
the dashboard."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from .models import Action, ConnectedService, ServiceCall


def connected_services_active() -> QuerySet[ConnectedService]:
    """Return the services called for new requests, by name."""
    return ConnectedService.objects.filter(active=True).order_by("name")


def service_calls_of_request(request_id: int) -> list[ServiceCall]:
    """Return every call made for one request, with its service, by action then service name."""
    return list(
        ServiceCall.objects.filter(request_id=request_id)
        .select_related("service")
        .order_by("action", "service__name", "pk")
    )


def service_calls_all_final(request_id: int, action: str) -> bool:
    """Whether every call of the request for `action` has its final answer (True when there is none)."""
    return not (
        ServiceCall.objects.filter(request_id=request_id, action=action)
        .exclude(state__in=ServiceCall.FINAL_STATES)
        .exists()
    )


def service_exports(request_id: int) -> list[tuple[ConnectedService, dict]]:
    """Return what each service answered to the request's export call, by service name: the data of a call
    that is done, and {} for one done by hand. Calls not answered, or that failed, are left out (see
    service_calls_of_request for their state)."""
    calls = (
        ServiceCall.objects.filter(
            request_id=request_id,
            action=Action.EXPORT,
            state__in=[ServiceCall.State.DONE, ServiceCall.State.DONE_BY_HAND],
        )
        .select_related("service")
        .order_by("service__name", "pk")
    )
    return [
        (call.service, dict(call.result or {}) if call.state == ServiceCall.State.DONE else {})
        for call in calls
    ]


def service_calls_unanswered(*, now: datetime | None = None) -> QuerySet[ServiceCall]:
    """Return the calls still without a final answer whose request is due within
    SERVICE_CALL_FLAG_HOURS_BEFORE_DUE hours or overdue, soonest due first, with service and request: the
    digest and the dashboard flag them (a service down for the whole term shows here)."""
    now = now or timezone.now()
    horizon = now + timedelta(hours=settings.SERVICE_CALL_FLAG_HOURS_BEFORE_DUE)
    return (
        ServiceCall.objects.exclude(state__in=ServiceCall.FINAL_STATES)
        .filter(request__due_at__isnull=False, request__due_at__lte=horizon)
        .select_related("service", "request")
        .order_by("request__due_at", "service__name", "pk")
    )
