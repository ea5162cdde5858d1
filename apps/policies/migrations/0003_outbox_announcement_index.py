from django.db import migrations

# Progress of an announcement or reminder is counted from the outbox by key prefix; this partial index makes
# that an index-only range scan instead of a scan of every policy email.
FORWARD = """
CREATE INDEX IF NOT EXISTS policies_outbox_policy_mail
    ON notifications_outboxemail (dedup_key varchar_pattern_ops) INCLUDE (status)
    WHERE template IN ('policy_announcement', 'policy_reminder');
"""
BACKWARD = "DROP INDEX IF EXISTS policies_outbox_policy_mail;"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("policies", "0002_published_versions_immutable"), ("notifications", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
