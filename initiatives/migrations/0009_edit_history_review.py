import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def published_is_reviewed(apps, schema_editor):
    """What is published now was reviewed when it was published: the queue of changes to
    review starts empty."""
    Initiative = apps.get_model("initiatives", "Initiative")
    Initiative.objects.filter(status="published", reviewed_at__isnull=True).update(
        reviewed_at=models.F("published_at")
    )


class Migration(migrations.Migration):
    """When a moderator last reviewed an initiative: the edit history's queue of published
    initiatives changed since (docs/edit-history.md)."""

    dependencies = [
        ("initiatives", "0008_protected_deletes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
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
