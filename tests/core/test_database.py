"""How the app talks to PostgreSQL: parameters bound on the server and repeated queries kept
prepared (planning the pages' queries cost PostgreSQL more than running them)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from slaverycases.accounts.models import Force

ROOT = Path(__file__).resolve().parents[2]

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"
)


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        return [row[0] for row in cursor.fetchall()]


@postgresql_only
@pytest.mark.django_db
def test_a_query_run_five_times_on_a_connection_is_prepared_on_the_server():
    def run() -> None:
        assert list(Force.objects.filter(code="ZZZ").values_list("pk", flat=True)) == []

    def force_queries() -> list[str]:
        return [s for s in prepared_statements() if '"accounts_force"."code" = $1' in s]

    for _ in range(5):
        run()
    assert force_queries() == []
    run()
    assert len(force_queries()) == 1  # prepared once, with its parameter as $1


def _options(env: dict[str, str]) -> dict[str, object]:
    clean = {k: v for k, v in os.environ.items() if k != "DB_PREPARED_STATEMENTS"}
    clean.update(env, DEBUG="1", DJANGO_SETTINGS_MODULE="slaverycases.settings")
    clean["DATABASE_URL"] = "postgres://nobody@127.0.0.1:5432/none"  # not connected to
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, json; django.setup(); from django.conf import settings; "
            "print(json.dumps(settings.DATABASES['default']['OPTIONS']))",
        ],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_prepared_statements_are_on_by_default_and_off_for_a_pooler():
    on = _options({})
    assert on["server_side_binding"] is True and on["prepare_threshold"] == 5
    off = _options({"DB_PREPARED_STATEMENTS": "0"})
    assert "server_side_binding" not in off and "prepare_threshold" not in off
    assert off["options"] == on["options"] == "-c jit=off"
