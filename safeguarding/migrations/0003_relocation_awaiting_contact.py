from django.db import migrations, models

# The safeguarding board's "relocated, awaiting contact" list tested every relocation in the
# country against its victim's last contact made (1,044 relocations at 1M cases: 8 ms of every
# board page, and growing with the years of data). The answer is now kept on the relocation,
# with a partial index on the few still awaiting contact.


def fill_awaiting_contact(apps, schema_editor):
    """A relocation awaits contact unless a contact was made with its victim after it was
    recorded (the victim row's last contact made: victims 0003)."""
    schema_editor.execute(
        "UPDATE safeguarding_relocation SET awaiting_contact = NOT EXISTS ("
        "SELECT 1 FROM victims_victim v WHERE v.id = safeguarding_relocation.victim_id "
        "AND v.last_contact_at > safeguarding_relocation.recorded_at)"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("safeguarding", "0002_missingepisode_status_before"),
        ("victims", "0003_victim_contact_state"),
    ]

    operations = [
        migrations.AddField(
            model_name="relocation",
            name="awaiting_contact",
            field=models.BooleanField(default=True, editable=False),
        ),
        migrations.RunPython(fill_awaiting_contact, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="relocation",
            index=models.Index(
                condition=models.Q(("awaiting_contact", True)),
                fields=["relocated_on", "id"],
                name="relocation_awaiting",
            ),
        ),
    ]
