"""Move what staff typed (search, filters, query) out of the details of existing view events into their
personal part, and let the database allow exactly one change to an audit event: clearing its personal part."""

from django.db import migrations

VIEW_KEYS = ("search", "filters", "query")
VIEW_ACTIONS = ("admin.list", "admin.lookup_refused", "export.csv")

MOVE_POSTGRESQL = """
UPDATE audit_auditevent
SET personal = jsonb_strip_nulls(jsonb_build_object(
        'search', details -> 'search', 'filters', details -> 'filters', 'query', details -> 'query')),
    details = details - 'search' - 'filters' - 'query'
WHERE action IN ('admin.list', 'admin.lookup_refused', 'export.csv')
  AND details ?| array['search', 'filters', 'query']
"""

# Any update but the one that clears the personal part (IP address, target label, personal details) and
# stamps personal_erased_at, and every delete, is refused.
ERASABLE = """
CREATE OR REPLACE FUNCTION audit_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
        AND NEW.id = OLD.id
        AND NEW.created_at = OLD.created_at
        AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id
        AND NEW.action = OLD.action
        AND NEW.target_type = OLD.target_type
        AND NEW.target_id = OLD.target_id
        AND NEW.details = OLD.details
        AND NEW.ip IS NULL
        AND NEW.target_label = ''
        AND NEW.personal = '{}'::jsonb
        AND NEW.personal_erased_at IS NOT NULL
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit events are append-only';
END;
$$ LANGUAGE plpgsql;
"""
APPEND_ONLY = """
CREATE OR REPLACE FUNCTION audit_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$ LANGUAGE plpgsql;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_append_only")
        schema_editor.execute(MOVE_POSTGRESQL)
        schema_editor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_auditevent_append_only")
        schema_editor.execute(ERASABLE)
        return
    AuditEvent = apps.get_model("audit", "AuditEvent")
    for event in AuditEvent.objects.filter(action__in=VIEW_ACTIONS).iterator():
        personal = {key: event.details[key] for key in VIEW_KEYS if key in event.details}
        if personal:
            details = {key: value for key, value in event.details.items() if key not in VIEW_KEYS}
            AuditEvent.objects.filter(pk=event.pk).update(details=details, personal=personal)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_personal_part")]
    operations = [migrations.RunPython(forward, backward)]
