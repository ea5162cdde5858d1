from typing import Any

from django.db import models

from .models import AuditEvent


def audit_event_record(**fields: Any) -> AuditEvent:
    """Append an audit event (the fields of audit_event_build); call it inside the transaction of the change
    it records."""
    event = audit_event_build(**fields)
    event.save()
    return event


def audit_event_build(
    *,
    actor: Any = None,
    action: str,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str = "",
    target_label: str = "",
    details: dict | None = None,
    ip: str | None = None,
) -> AuditEvent:
    """Return an unsaved audit event; audit_events_record appends several in one statement."""
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
        target_label = target_label or str(target)[:200]
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEvent(
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label[:200],
        details=details or {},
        ip=ip or None,
    )


def audit_events_record(events: list[AuditEvent]) -> list[AuditEvent]:
    """Append these audit events in one statement, inside the transaction of the change they record."""
    return AuditEvent.objects.bulk_create(events)
