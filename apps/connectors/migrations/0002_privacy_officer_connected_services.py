from django.contrib.auth.management import create_permissions
from django.db import migrations

# The Privacy officer registers the connected services, sees every call made to them for a request (answers
# hold personal data: each view is audited) and records a service's part done by hand. Written out here, not
# imported, so the migration stays as it was.
ROLE = "Privacy officer"
PERMISSIONS = [
    "view_connectedservice",
    "add_connectedservice",
    "change_connectedservice",
    "view_servicecall",
    "mark_done_servicecall",
    "view_servicecallattempt",
]


def forward(apps, schema_editor):
    # On a fresh database the permissions do not exist yet (post_migrate creates them after all migrations).
    app_config = apps.get_app_config("connectors")
    models_module = getattr(app_config, "models_module", None)
    app_config.models_module = models_module or True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _created = Group.objects.get_or_create(name=ROLE)
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="connectors", codename__in=PERMISSIONS)
    )


def backward(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(content_type__app_label="connectors", codename__in=PERMISSIONS)
    for group in apps.get_model("auth", "Group").objects.filter(name=ROLE):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("connectors", "0001_service_calls"),
        ("accounts", "0003_support_access_grant"),
    ]
    operations = [migrations.RunPython(forward, backward)]
