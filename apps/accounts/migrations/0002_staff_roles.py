from django.contrib.auth.management import create_permissions
from django.db import migrations

# Least privilege (policy clause 3.4). Written out here, not imported, so the migration stays as it was.
ROLES = {
    "Privacy officer": [
        ("withdrawals", "view_withdrawalrequest"),
        ("withdrawals", "change_withdrawalrequest"),
        ("withdrawals", "decide_withdrawalrequest"),
        ("withdrawals", "view_withdrawalrequeststatus"),
        ("withdrawals", "view_timelineentry"),
        ("withdrawals", "add_thirdparty"),
        ("withdrawals", "change_thirdparty"),
        ("withdrawals", "view_thirdparty"),
        ("accounts", "view_user"),
        ("acceptances", "view_acceptance"),
        ("acceptances", "view_usereport"),
        ("notifications", "view_outboxemail"),
        ("notifications", "resend_outboxemail"),
        ("audit", "view_auditevent"),
    ],
    "Policy editor": [
        ("policies", "add_policyversion"),
        ("policies", "change_policyversion"),
        ("policies", "view_policyversion"),
        ("policies", "publish_policyversion"),
        ("policies", "add_policytext"),
        ("policies", "change_policytext"),
        ("policies", "delete_policytext"),
        ("policies", "view_policytext"),
    ],
    "Support": [
        ("withdrawals", "view_withdrawalrequeststatus"),
    ],
}


def forward(apps, schema_editor):
    # On a fresh database the permissions do not exist yet (post_migrate creates them after all
    # migrations), so create them now from the migration state.
    for app_config in apps.get_app_configs():
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in ROLES.items():
        group, _created = Group.objects.get_or_create(name=name)
        permissions = [
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
            for app_label, codename in wanted
        ]
        group.permissions.set(permissions)


def backward(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLES)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("acceptances", "0002_append_only_trigger"),
        ("audit", "0002_append_only_trigger"),
        ("notifications", "0002_resend_permission"),
        ("policies", "0004_publish_permission"),
        ("withdrawals", "0003_decided_index"),
    ]
    operations = [migrations.RunPython(forward, backward)]
