"""Create the Senders, Bot admins and Auditors groups with exactly their rights."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# A frozen copy of messaging.roles.ROLE_PERMISSIONS as of this migration.
MANAGE = ("add", "change", "delete", "view")
ROLES = {
    "Senders": (
        "messaging.send_message",
        "messaging.view_recipient",
        "messaging.view_messagetemplate",
    ),
    "Bot admins": (
        *(f"messaging.{action}_bot" for action in MANAGE),
        *(f"messaging.{action}_recipient" for action in MANAGE),
        *(f"messaging.{action}_messagetemplate" for action in MANAGE),
        "messaging.view_outboundmessage",
        "messaging.view_secretchange",
    ),
    "Auditors": (
        "messaging.view_outboundmessage",
        "messaging.export_history",
        "messaging.view_secretchange",
        "admin.view_logentry",
    ),
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations run; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(wanted)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0003_history_rules"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
