from datetime import datetime

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from apps.notifications.selectors import MailProgress, outbox_progress

from .models import Breach, BreachNotice

NOTICE_TOPIC = "breach.notice"


def breach_admin_path(breach: Breach) -> str:
    return reverse("admin:breaches_breach_change", args=[breach.pk])


def breaches_unnotified() -> QuerySet[Breach]:
    """Return the breaches whose notice to the authority is not recorded yet, the most urgent first."""
    return Breach.objects.filter(status=Breach.Status.OPEN).order_by("notify_due_at", "pk")


def breach_time_left(breach: Breach, *, now: datetime | None = None) -> dict:
    """Return the countdown to the authority's deadline: hours and minutes left, or how long it is overdue."""
    now = now or timezone.now()
    seconds = int((breach.notify_due_at - now).total_seconds())
    overdue = seconds <= 0
    minutes = abs(seconds) // 60
    return {"overdue": overdue, "hours": minutes // 60, "minutes": minutes % 60}


def breach_notice_progress(notice: BreachNotice) -> MailProgress:
    """Count the notice's emails by delivery status (the delivery report)."""
    return outbox_progress(topic=NOTICE_TOPIC, object_id=notice.pk)


def admin_dashboard_block(request) -> dict | None:
    """The countdown of each breach the authority has not been told of yet, for staff who see the register."""
    if not request.user.has_perm("breaches.view_breach"):
        return None
    now = timezone.now()
    rows = [
        {"breach": breach, "url": breach_admin_path(breach), **breach_time_left(breach, now=now)}
        for breach in breaches_unnotified()[:20]
    ]
    return {
        "template": "breaches/admin/dashboard_block.html",
        "context": {"rows": rows, "list_url": reverse("admin:breaches_breach_changelist")},
    }
