"""Reads of the outbox: the emails about an object, and how far a mailing has got."""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from .models import OutboxEmail


def outbox_emails_about(*, topic: str, object_id: int) -> QuerySet[OutboxEmail]:
    """Return every email about one object (a request, a version), newest first."""
    return OutboxEmail.objects.filter(topic=topic, object_id=object_id).order_by("-id")


def outbox_emails_to(*, user_id: int | None, emails: list[str]) -> QuerySet[OutboxEmail]:
    """Return every email sent (or owed) to a person: to their account or to one of their addresses,
    oldest first."""
    to_person = Q(to__in=[email.lower() for email in emails if email])
    if user_id is not None:
        to_person |= Q(user_id=user_id)
    return OutboxEmail.objects.filter(to_person).order_by("id")


@dataclass(frozen=True)
class MailProgress:
    total: int
    pending: int
    sending: int
    sent: int
    failed: int

    @property
    def queued(self) -> int:
        return self.pending + self.sending


def outbox_progress(*, topic: str, object_id: int) -> MailProgress:
    """Count the emails about one object by status (an index-only scan on PostgreSQL)."""
    rows = (
        OutboxEmail.objects.filter(topic=topic, object_id=object_id)
        .values("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {row["status"]: row["n"] for row in rows}
    return MailProgress(
        total=sum(counts.values()),
        pending=counts.get(OutboxEmail.Status.PENDING, 0),
        sending=counts.get(OutboxEmail.Status.SENDING, 0),
        sent=counts.get(OutboxEmail.Status.SENT, 0),
        failed=counts.get(OutboxEmail.Status.FAILED, 0),
    )
