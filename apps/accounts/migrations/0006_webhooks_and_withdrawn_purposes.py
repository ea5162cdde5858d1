from django.contrib.auth.management import create_permissions
from django.db import migrations

# The Privacy officer registers the services' webhooks and sees what was posted to them. Written out here,
# not imported, so the migration stays as it was.
ROLE = "Privacy officer"
PERMISSIONS = [
    ("acceptances", "view_webhookendpoint"),
    ("acceptances", "add_webhookendpoint"),
    ("acceptances", "change_webhookendpoint"),
    ("acceptances", "rotate_webhookendpoint"),
    ("notifications", "view_webhookdelivery"),
    ("notifications", "view_webhookattempt"),
    ("notifications", "retry_webhookdelivery"),
    ("accounts", "view_purposewithdrawal"),
]

# Withdrawn purposes are append-only: no UPDATE; DELETE only by the retention erasure.
FORWARD_SQL = """
CREATE OR REPLACE FUNCTION accounts_purposewithdrawal_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'withdrawn purposes are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER accounts_purposewithdrawal_append_only
    BEFORE UPDATE ON accounts_purposewithdrawal
    FOR EACH ROW EXECUTE FUNCTION accounts_purposewithdrawal_append_only();
"""
BACKWARD_SQL = """
DROP TRIGGER IF EXISTS accounts_purposewithdrawal_append_only ON accounts_purposewithdrawal;
DROP FUNCTION IF EXISTS accounts_purposewithdrawal_append_only();
"""


def forward(apps, schema_editor):
    # On a fresh database the permissions do not exist yet (post_migrate creates them after all migrations).
    for label in {app_label for app_label, _codename in PERMISSIONS}:
        app_config = apps.get_app_config(label)
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _created = Group.objects.get_or_create(name=ROLE)
    group.permissions.add(
        *[
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
            for app_label, codename in PERMISSIONS
        ]
    )


def roles_backward(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for app_label, codename in PERMISSIONS:
        permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        for group in apps.get_model("auth", "Group").objects.filter(name=ROLE):
            group.permissions.remove(*permission)


def full_withdrawals_forward(apps, schema_editor):
    """Record the full withdrawals granted before withdrawn purposes were kept: purpose `all`."""
    User = apps.get_model("accounts", "User")
    PurposeWithdrawal = apps.get_model("accounts", "PurposeWithdrawal")
    withdrawn = User.objects.filter(consent_withdrawn_at__isnull=False, erased_at__isnull=True).exclude(
        purpose_withdrawals__purpose="all"
    )
    rows = (
        PurposeWithdrawal(user_id=pk, purpose="all", withdrawn_at=at, reference="")
        for pk, at in withdrawn.values_list("pk", "consent_withdrawn_at").iterator(chunk_size=2000)
    )
    PurposeWithdrawal.objects.bulk_create(rows, batch_size=2000)


def trigger_forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD_SQL)


def trigger_backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_purpose_withdrawal"),
        ("acceptances", "0004_webhook_endpoint"),
        ("notifications", "0004_webhook_delivery"),
    ]
    operations = [
        migrations.RunPython(full_withdrawals_forward, migrations.RunPython.noop),
        migrations.RunPython(trigger_forward, trigger_backward),
        migrations.RunPython(forward, roles_backward),
    ]
