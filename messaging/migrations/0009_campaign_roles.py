"""Give the roles their rights over recipient lists and campaigns."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MANAGE = ("add", "change", "delete", "view")
# A frozen copy of the additions to messaging.roles.ROLE_PERMISSIONS as of this migration.
ADDED = {
    "Senders": (
        "messaging.view_recipientlist",
        "messaging.add_campaign",
        "messaging.change_campaign",
        "messaging.view_campaign",
        "messaging.run_campaign",
    ),
    "Bot admins": (
        *(f"messaging.{action}_recipientlist" for action in MANAGE),
        "messaging.view_campaign",
    ),
    "Auditors": ("messaging.view_recipientlist", "messaging.view_campaign"),
}


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ADDED.items():
        group = Group.objects.get(name=name)
        for perm in perms:
            app_label, codename = perm.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ADDED.items():
        codenames = [perm.split(".")[1] for perm in perms]
        Group.objects.get(name=name).permissions.remove(
            *Permission.objects.filter(content_type__app_label="messaging", codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [("messaging", "0008_campaigns")]

    operations = [migrations.RunPython(grant, revoke)]
