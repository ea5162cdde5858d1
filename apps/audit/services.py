import json
from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.models.functions import Cast
from django.utils import timezone

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
    personal: dict | None = None,
) -> AuditEvent:
    """Return an unsaved audit event; audit_events_record appends several in one statement.

    `details` must name people only by id; what may name them (an address typed into a search) goes in
    `personal`, which retention erasure clears with the IP address and the target label.
    """
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
        personal=personal or {},
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
    shown = {key: _view_detail(value) for key, value in (details or {}).items()}
    return audit_event_record(
        actor=actor,
        action=action,
        target=target,
        target_type=target_type,
        target_label=target_label,
        details={key: value for key, value in shown.items() if key not in VIEW_PERSONAL_KEYS},
        personal={key: value for key, value in shown.items() if key in VIEW_PERSONAL_KEYS},
        ip=ip,
    )


# --- Retention ----------------------------------------------------------------------------------

# What a staff member typed (a search, filters, a query string) may be a person's address, name or phone.
VIEW_PERSONAL_KEYS = ("search", "filters", "query")
VIEW_ACTIONS = ("admin.list", "admin.lookup_refused", "export.csv")
MENTION_MIN_LENGTH = 5
MENTIONS_PER_QUERY = 50


def _mention_forms(mentions: Iterable[str]) -> list[str]:
    """Return each mention as stored in JSON text: as it is (PostgreSQL's jsonb) and with non-ASCII
    characters escaped (SQLite keeps JSON as Python's json.dumps writes it)."""
    forms: set[str] = set()
    for mention in mentions:
        text = (mention or "").strip().lower()
        if len(text) >= MENTION_MIN_LENGTH:
            forms.add(text)
            forms.add(json.dumps(text)[1:-1])
    return sorted(forms)


def audit_personal_data_erase(
    *,
    actor_ids: Iterable[int] = (),
    targets: dict[str, Iterable[Any]] | None = None,
    mentions: Iterable[str] = (),
) -> int:
    """Clear the personal part (IP address, target label, personal details) of the audit events about a
    person whose data is erased (policy clause 2.4); the only way an audit event changes at all.

    The events are those the person did (`actor_ids`), those about their rows (`targets`: model label ->
    ids, e.g. {"accounts.user": [7]}), and staff views whose typed search or filters contain one of
    `mentions` (their address, name, phone; shorter than MENTION_MIN_LENGTH is ignored). Who did what, to
    which id, when, and the details stay. Returns how many events changed; running it again changes none.
    """
    where = models.Q(pk__in=[])
    actor_ids = list(actor_ids)
    if actor_ids:
        where |= models.Q(actor_id__in=actor_ids)
    for target_type, ids in (targets or {}).items():
        ids = [str(pk) for pk in ids]
        if ids:
            where |= models.Q(target_type=target_type, target_id__in=ids)
    pending = AuditEvent.objects.filter(personal_erased_at__isnull=True)
    found = set(pending.filter(where).values_list("pk", flat=True))
    forms = _mention_forms(mentions)
    typed = pending.filter(action__in=VIEW_ACTIONS).annotate(
        personal_text=Cast("personal", models.TextField())
    )
    for start in range(0, len(forms), MENTIONS_PER_QUERY):
        said = models.Q(pk__in=[])
        for form in forms[start : start + MENTIONS_PER_QUERY]:
            said |= models.Q(personal_text__icontains=form)
        found.update(typed.filter(said).values_list("pk", flat=True))
    ids = sorted(found)
    stamp = timezone.now()
    changed = 0
    for start in range(0, len(ids), 1000):
        changed += AuditEvent.objects.filter(
            pk__in=ids[start : start + 1000], personal_erased_at__isnull=True
        ).update(ip=None, target_label="", personal={}, personal_erased_at=stamp)
    return changed
