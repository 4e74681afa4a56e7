import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models.functions import Cast


def published_is_reviewed(apps, schema_editor):
    """What is published now was reviewed when it was published: the queue of changes to
    review starts empty. Each is marked reviewed at its newest recorded version, if it has
    one (one with none counts its first version, recorded before its next change, as
    reviewed)."""
    Initiative = apps.get_model("initiatives", "Initiative")
    Version = apps.get_model("reversion", "Version")
    newest = (
        Version.objects.filter(
            content_type__app_label="initiatives",
            content_type__model="initiative",
            db=schema_editor.connection.alias,
            object_id=Cast(models.OuterRef("pk"), models.CharField()),
        )
        .order_by("-pk")
        .values("pk")[:1]
    )
    Initiative.objects.filter(status="published", reviewed_at__isnull=True).update(
        reviewed_at=models.F("published_at"), reviewed_version=models.Subquery(newest)
    )


class Migration(migrations.Migration):
    """The version of an initiative a moderator last reviewed, and when and by whom: the edit
    history's queue of published initiatives changed since (docs/edit-history.md)."""

    dependencies = [
        ("initiatives", "0008_protected_deletes"),
        ("reversion", "0002_add_index_on_version_for_content_type_and_db"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="initiative",
            name="reviewed_version",
            field=models.BigIntegerField(
                blank=True, editable=False, null=True, verbose_name="reviewed version"
            ),
        ),
        migrations.AddField(
            model_name="initiative",
            name="reviewed_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="reviewed at"
            ),
        ),
        migrations.AddField(
            model_name="initiative",
            name="reviewed_by",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="reviewed by",
            ),
        ),
        migrations.RunPython(published_is_reviewed, migrations.RunPython.noop),
    ]
