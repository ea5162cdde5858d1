from django.contrib.auth.management import create_permissions
from django.db import migrations

# A Privacy officer may show one request's contact details to one Support member (least privilege, policy
# clause 3.4). Written out here, not imported, so the migration stays as it was.
ROLE = "Privacy officer"
PERMISSION = ("withdrawals", "grant_supportaccess")


def forward(apps, schema_editor):
    # On a fresh database the permission does not exist yet (post_migrate creates it after all migrations).
    app_config = apps.get_app_config(PERMISSION[0])
    models_module = getattr(app_config, "models_module", None)
    app_config.models_module = models_module or True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _created = Group.objects.get_or_create(name=ROLE)
    group.permissions.add(
        Permission.objects.get(content_type__app_label=PERMISSION[0], codename=PERMISSION[1])
    )


def backward(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.filter(content_type__app_label=PERMISSION[0], codename=PERMISSION[1])
    for group in apps.get_model("auth", "Group").objects.filter(name=ROLE):
        group.permissions.remove(*permission)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_staff_roles"),
        ("withdrawals", "0005_support_access"),
    ]
    operations = [migrations.RunPython(forward, backward)]
