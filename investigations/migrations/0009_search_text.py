from django.db import migrations, models

# The list's free-text search reads one column, Investigation.search_text (the title and the
# suspects' and victims' names and aliases, upper case, one per line), instead of matching
# victims and suspects nationwide and then keeping the unit's cases: a name common across the
# country (65,702 victims called Smith in the 1M benchmark) took half a second. On PostgreSQL one
# trigram GIN index on the text gives the matches nationwide, which the planner ANDs with the
# unit's index (a GIN index on the unit and the text, with btree_gin, was tried: the planner
# never used its unit key, preferring the unit's btree indexes). The title's and suspects'
# trigram indexes of 0005 served only the old search.

BATCH = 2000


def fill_search_text(apps, schema_editor):
    Investigation = apps.get_model("investigations", "Investigation")
    Suspect = apps.get_model("investigations", "Suspect")
    Involvement = apps.get_model("victims", "Involvement")
    last = 0
    while True:
        cases = list(
            Investigation.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "title")[:BATCH]
        )
        if not cases:
            return
        last = cases[-1][0]
        ids = [pk for pk, _ in cases]
        parts = {pk: [title] for pk, title in cases}
        suspects = Suspect.objects.filter(investigation_id__in=ids).order_by(
            "investigation_id", "pk"
        )
        for pk, name, aliases in suspects.values_list("investigation_id", "name", "aliases"):
            parts[pk] += [name, aliases]
        victims = Involvement.objects.filter(investigation_id__in=ids).order_by(
            "investigation_id", "pk"
        )
        for pk, name, aliases in victims.values_list(
            "investigation_id", "victim__name", "victim__aliases"
        ):
            parts[pk] += [name, aliases]
        Investigation.objects.bulk_update(
            [
                Investigation(pk=pk, search_text="\n".join(w.upper() for w in words if w))
                for pk, words in parts.items()
            ],
            ["search_text"],
        )


def search_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS inv_search_trgm ON investigations_investigation "
        "USING gin (search_text gin_trgm_ops)"
    )
    # The planner estimates a LIKE from the column's histogram: with the default 100 entries a
    # town in 2% of titles can miss it, and the list's page then sorts every match instead of
    # reading the unit's cases in date order until it has 25 (39 ms against 3 ms at 1M).
    schema_editor.execute(
        "ALTER TABLE investigations_investigation ALTER COLUMN search_text SET STATISTICS 1000"
    )
    schema_editor.execute("DROP INDEX IF EXISTS inv_title_trgm")
    schema_editor.execute("DROP INDEX IF EXISTS suspect_name_trgm")


def drop_search_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS inv_search_trgm")
    schema_editor.execute(
        "ALTER TABLE investigations_investigation ALTER COLUMN search_text SET STATISTICS -1"
    )
    for name, table, column in (
        ("inv_title_trgm", "investigations_investigation", "title"),
        ("suspect_name_trgm", "investigations_suspect", "name"),
    ):
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
            f"USING gin ((UPPER({column}::text)) gin_trgm_ops)"
        )


class Migration(migrations.Migration):
    # As 0008: PostgreSQL will not index a table the same transaction updated while deferred
    # foreign-key checks are pending; each batch of the fill commits on its own.
    atomic = False

    dependencies = [
        ("investigations", "0008_exploitation_bits"),
        ("victims", "0003_victim_contact_state"),
    ]

    operations = [
        migrations.AddField(
            model_name="investigation",
            name="search_text",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(fill_search_text, migrations.RunPython.noop),
        migrations.RunPython(search_index, drop_search_index),
    ]
