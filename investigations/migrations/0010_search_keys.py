from django.db import migrations

# The list's search within a unit reads an index keyed by the unit (issue 9, session 8).
#
# 0009's trigram index found a name's cases nationwide, which the planner then ANDed with the
# unit's index: for a surname 62,298 cases share across the country (5,172 of them in the
# unit), 19 ms reading the trigram index, 7 ms the unit's 83,856 cases, 24 ms rechecking the
# rows: 54 ms for the count. A GIN index on (unit, trigrams) with btree_gin was tried twice:
# the planner never uses its unit key.
#
# Here the keys are the unit's id joined to each three characters of the case's search_text
# (`sc_search_keys`, an IMMUTABLE SQL function): the index's expression. A search in the
# unit asks for the keys of the searched text with the unit's id, and the index answers with
# the unit's cases holding every three characters of it (2 ms for that surname), which the
# LIKE then checks: no other unit's case is read. The keys condition implies the unit, so the
# list adds it only to the unit's part (investigations.querysets.SearchKeysMatch).
#
# The case's reference becomes the first line of search_text, so that the search is one
# condition on one column (an OR with `reference = text` kept the keys expression in the
# heap's filter, computing it for every match: 400 ms), and a part of a reference finds it.
# Deploy it with the code that writes the reference: a case logged by older code still running
# afterwards lacks it until add_references runs again (it changes only such cases).

FUNCTION = """
CREATE OR REPLACE FUNCTION sc_search_keys(unit bigint, body text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ARRAY(
        SELECT unit::text || ':' || substr(body, i, 3)
        FROM generate_series(1, length(body) - 2) AS i
    )
$$
"""


def add_references(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # 0009's index would be updated for every row rewritten below: dropped first.
        schema_editor.execute("DROP INDEX IF EXISTS inv_search_trgm")
    # Idempotent: a case whose text already starts with its reference is left alone.
    schema_editor.execute(
        "UPDATE investigations_investigation SET search_text = CASE "
        "WHEN search_text = '' THEN UPPER(reference) "
        "ELSE UPPER(reference) || %s || search_text END "
        "WHERE NOT (search_text = UPPER(reference) "
        "OR search_text LIKE UPPER(reference) || %s || '%%')",
        ["\n", "\n"],
    )


def remove_references(apps, schema_editor):
    schema_editor.execute(
        "UPDATE investigations_investigation SET search_text = CASE "
        "WHEN search_text = UPPER(reference) THEN '' "
        "ELSE substr(search_text, length(reference) + 2) END "
        "WHERE search_text = UPPER(reference) OR search_text LIKE UPPER(reference) || %s || '%%'",
        ["\n"],
    )


def create_keys(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION)
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS inv_unit_search_keys ON investigations_investigation "
        "USING gin (sc_search_keys(unit_id, search_text))"
    )


def drop_keys(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS inv_unit_search_keys")
    schema_editor.execute("DROP FUNCTION IF EXISTS sc_search_keys(bigint, text)")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS inv_search_trgm ON investigations_investigation "
        "USING gin (search_text gin_trgm_ops)"
    )


class Migration(migrations.Migration):
    # As 0008 and 0009: the index is built after the rewrite has committed.
    atomic = False

    dependencies = [
        ("investigations", "0009_search_text"),
    ]

    operations = [
        migrations.RunPython(add_references, remove_references),
        migrations.RunPython(create_keys, drop_keys),
    ]
