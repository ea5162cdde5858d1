"""Anymail's tracking signal -> the outbox's delivery report."""

from anymail.signals import EventType

from .models import OutboxEmail
from .services import outbox_tracking_record

EVENT_STATUS = {
    EventType.DELIVERED: OutboxEmail.Tracking.DELIVERED,
    EventType.BOUNCED: OutboxEmail.Tracking.BOUNCED,
    EventType.COMPLAINED: OutboxEmail.Tracking.COMPLAINED,
    EventType.REJECTED: OutboxEmail.Tracking.REJECTED,
}


def tracking_received(sender, event, esp_name, **kwargs):
    """Store delivered / bounced / complained / rejected reports; other events (opens, clicks) are ignored."""
    status = EVENT_STATUS.get(event.event_type)
    if status is None or not event.message_id:
        return
    detail = " — ".join(
        part for part in (esp_name, event.reject_reason, event.description, event.mta_response) if part
    )
    outbox_tracking_record(provider_message_id=str(event.message_id), status=status, detail=detail)
