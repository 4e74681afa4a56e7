import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Deleting an organisation or an initiative no longer takes other people's data with it.

    An organisation with members or adoption reports, and an initiative other organisations
    adopted, are archived or merged instead (the admin says so when a delete is refused).
    """

    dependencies = [
        ("initiatives", "0007_facet_engine"),
    ]

    operations = [
        migrations.AlterField(
            model_name="adoption",
            name="initiative",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="adoptions",
                to="initiatives.initiative",
                verbose_name="initiative",
            ),
        ),
        migrations.AlterField(
            model_name="adoption",
            name="organisation",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="adoptions",
                to="initiatives.organisation",
                verbose_name="organisation",
            ),
        ),
        migrations.AlterField(
            model_name="organisationmember",
            name="organisation",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="memberships",
                to="initiatives.organisation",
                verbose_name="organisation",
            ),
        ),
    ]
