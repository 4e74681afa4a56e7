"""The "Moderators" group: review and edit content, never manage users or groups."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Moderators"

# app label -> model -> the actions moderators may take on it.
ALL = ("add", "change", "delete", "view")
VIEW = ("view",)
PERMISSIONS = {
    "initiatives": {
        # Initiatives are archived or rejected, not deleted: deleting loses their history.
        "initiative": ("add", "change", "view"),
        "participation": ALL,
        "initiativelink": ALL,
        "attachment": ALL,
        "adoption": ALL,
        "organisation": ALL,
        # Adding a member means picking a user account, which only user managers may see.
        "organisationmember": ("change", "delete", "view"),
        "purpose": ALL,
        "focusarea": ALL,
        "actortype": ALL,
        # Official reference data and the history are read-only.
        "goal": VIEW,
        "target": VIEW,
        "county": VIEW,
        "municipality": VIEW,
        "initiativestatuschange": VIEW,
    },
    "networks": {
        model: ALL
        for model in (
            "network",
            "membership",
            "workinggroup",
            "workinggroupmember",
            "event",
            "presentation",
            "eventregistration",
        )
    },
    "taggit": {"tag": ALL, "taggeditem": ALL},
}
EXTRA = [("initiatives", "moderate_initiative")]


def codenames():
    for app_label, models in PERMISSIONS.items():
        for model, actions in models.items():
            for action in actions:
                yield app_label, f"{action}_{model}"
    yield from EXTRA


def create_group(apps, schema_editor):
    # Permissions are normally made after migrate; make them now so the group can hold them.
    for app_label in PERMISSIONS:
        app_config = apps.get_app_config(app_label)
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    permissions = []
    for app_label, codename in codenames():
        permissions.append(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    group.permissions.set(permissions)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("taggit", "0006_rename_taggeditem_content_type_object_id_taggit_tagg_content_8fc721_idx"),
        ("initiatives", "0001_initial"),
        ("networks", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
