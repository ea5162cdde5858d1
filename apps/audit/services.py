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


VIEW_ITEMS_KEPT = 1000
VIEW_TEXT_KEPT = 500


def _view_detail(value: Any) -> Any:
    """Return `value` cut to size, with NUL (which a query string may hold and PostgreSQL's JSON refuses)
    shown as U+FFFD."""
    if isinstance(value, str):
        return value[:VIEW_TEXT_KEPT].replace("\x00", "\ufffd")
    if isinstance(value, (list, tuple)):
        return [_view_detail(item) for item in value[:VIEW_ITEMS_KEPT]]
    if isinstance(value, dict):
        items = list(value.items())[:VIEW_ITEMS_KEPT]
        return {_view_detail(str(key)): _view_detail(item) for key, item in items}
    return value


def audit_view_record(
    *,
    actor: Any,
    action: str,
    target_type: str,
    target: models.Model | None = None,
    target_label: str = "",
    details: dict | None = None,
    ip: str | None = None,
) -> AuditEvent:
    """Record that a staff member was shown personal data (policy clause 3.4): a list page, one object's page
    or an export of `target_type`, with what was shown in `details` (filters, search, ids, rows).

    Long values are cut so that one event stays small: lists and mappings to VIEW_ITEMS_KEPT items, text to
    VIEW_TEXT_KEPT characters.
    """
    details = {key: _view_detail(value) for key, value in (details or {}).items()}
    return audit_event_record(
        actor=actor,
        action=action,
        target=target,
        target_type=target_type,
        target_label=target_label,
        details=details,
        ip=ip,
    )
