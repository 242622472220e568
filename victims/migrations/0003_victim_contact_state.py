"""The victim's next contact due, last contact made and whether they are in an open case, on
the victim row.

The safeguarding board lists the victims of open cases by next contact due; read from each
victim's latest contact and cases, it sorted every victim of the force through subqueries
(3.7 s with 1,000,000 cases). The contact action now writes the two contact fields in the
contact's transaction, and a case's change of status its victims' `in_open_case`; the board
walks a partial index of the victims in open cases (137,811 of 2,613,063 in the benchmark) in
board order. Existing victims take the three values from their contacts and cases here."""

from django.db import migrations, models

BACKFILL = """
UPDATE victims_victim SET
  next_contact_due = (SELECT c.next_contact_due FROM safeguarding_contact c
                      WHERE c.victim_id = victims_victim.id ORDER BY c.at DESC, c.id DESC LIMIT 1),
  last_contact_at = (SELECT c.at FROM safeguarding_contact c
                     WHERE c.victim_id = victims_victim.id AND c.made
                     ORDER BY c.at DESC, c.id DESC LIMIT 1)
WHERE EXISTS (SELECT 1 FROM safeguarding_contact c WHERE c.victim_id = victims_victim.id)
"""

OPEN_CASES = """
UPDATE victims_victim SET in_open_case = TRUE
WHERE id IN (SELECT iv.victim_id FROM victims_involvement iv
             JOIN investigations_investigation i ON i.id = iv.investigation_id
             WHERE i.status <> 'closed')
"""


BOARD_INDEX = models.Index(
    models.OrderBy(models.F("next_contact_due"), nulls_first=True),
    models.F("name"),
    models.F("id"),
    condition=models.Q(("in_open_case", True)),
    name="victim_board",
)


def _board_index(schema_editor):  # type: ignore[no-untyped-def]
    """The board's order on PostgreSQL; SQLite (the `make run` default) cannot index NULLS
    FIRST, so there the same columns in their default order (the board sorts correctly without
    it, as a small database allows)."""
    if schema_editor.connection.vendor == "postgresql":
        return BOARD_INDEX
    return models.Index(
        models.F("next_contact_due"),
        models.F("name"),
        models.F("id"),
        condition=models.Q(("in_open_case", True)),
        name="victim_board",
    )


def add_board_index(apps, schema_editor):  # type: ignore[no-untyped-def]
    schema_editor.add_index(apps.get_model("victims", "Victim"), _board_index(schema_editor))


def remove_board_index(apps, schema_editor):  # type: ignore[no-untyped-def]
    schema_editor.remove_index(apps.get_model("victims", "Victim"), _board_index(schema_editor))


class Migration(migrations.Migration):
    # Each step commits on its own: PostgreSQL refuses to build an index on a table whose rows
    # the same transaction updated while deferred foreign-key checks are pending.
    atomic = False

    dependencies = [
        ("victims", "0002_flag_scan_indexes"),
        ("safeguarding", "0002_missingepisode_status_before"),
        ("investigations", "0005_list_and_search_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="victim",
            name="last_contact_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="victim",
            name="next_contact_due",
            field=models.DateField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="victim",
            name="in_open_case",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.RunSQL(OPEN_CASES, migrations.RunSQL.noop),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="victim", index=BOARD_INDEX)],
            database_operations=[migrations.RunPython(add_board_index, remove_board_index)],
        ),
    ]
