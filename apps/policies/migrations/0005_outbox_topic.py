from django.db import migrations

TOPICS = {"policy-announce:": "policy.announcement", "policy-reminder:": "policy.reminder"}


def link_policy_emails(apps, schema_editor):
    """Rows written before the topic existed: `policy-announce:<number>:<user>` keys name their version."""
    OutboxEmail = apps.get_model("notifications", "OutboxEmail")
    PolicyVersion = apps.get_model("policies", "PolicyVersion")
    for version_id, number in PolicyVersion.objects.values_list("pk", "number"):
        for prefix, topic in TOPICS.items():
            OutboxEmail.objects.filter(dedup_key__startswith=f"{prefix}{number}:").update(
                topic=topic, object_id=version_id
            )


def drop_prefix_index(apps, schema_editor):
    # Progress is counted by topic and object now (the notifications app's own index).
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS policies_outbox_policy_mail;")


class Migration(migrations.Migration):
    dependencies = [("policies", "0004_publish_permission"), ("notifications", "0003_topic_object")]
    operations = [
        migrations.RunPython(link_policy_emails, migrations.RunPython.noop),
        migrations.RunPython(drop_prefix_index, migrations.RunPython.noop),
    ]
