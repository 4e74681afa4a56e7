"""Who sent an initiative for review (Initiative.submitted_by), filled in for those sent
before from the newest "to submitted" row of their moderation history."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_submitted_by(apps, schema_editor):
    Initiative = apps.get_model("initiatives", "Initiative")
    StatusChange = apps.get_model("initiatives", "InitiativeStatusChange")
    last_submission = StatusChange.objects.filter(
        initiative=OuterRef("pk"), to_status="submitted"
    ).order_by("-created", "-pk")
    Initiative.objects.filter(submitted_at__isnull=False).update(
        submitted_by=Subquery(last_submission.values("changed_by")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("initiatives", "0009_edit_history_review"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="initiative",
            name="submitted_by",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="submitted by",
            ),
        ),
        migrations.RunPython(fill_submitted_by, migrations.RunPython.noop),
    ]
