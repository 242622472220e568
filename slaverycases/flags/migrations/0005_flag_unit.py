"""The case's unit on each flag, for the review queue.

The queue is a unit's active flags, most severe and oldest first. Found through the cases, it
read every active flag in the country (178,894 with 1,000,000 cases) to keep the unit's; with
the unit on the flag, one partial index returns them in queue order. A case never changes unit,
so the copy made when the flag is raised stays true. Existing flags take their case's unit."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    # Each step commits on its own: PostgreSQL refuses to alter or index a table whose rows the
    # same transaction updated while deferred foreign-key checks are pending.
    atomic = False

    dependencies = [
        ("accounts", "0003_recoverycode"),
        ("flags", "0004_taskdelivery"),
        ("investigations", "0005_list_and_search_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="flag",
            name="unit",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.unit",
            ),
        ),
        migrations.RunSQL(
            "UPDATE flags_flag SET unit_id = (SELECT i.unit_id FROM investigations_investigation i"
            " WHERE i.id = flags_flag.investigation_id)",
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="flag",
            name="unit",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.unit",
            ),
        ),
        migrations.AddIndex(
            model_name="flag",
            index=models.Index(
                models.F("unit"),
                models.OrderBy(models.F("severity"), descending=True),
                models.F("raised_at"),
                models.F("id"),
                condition=models.Q(("status__in", ["open", "acknowledged"])),
                name="flag_unit_queue",
            ),
        ),
    ]
