"""`make run`'s embedded database: every migration applies on SQLite, the demo data loads and
the safeguarding board, the list and a case page read it (the suite itself runs on
PostgreSQL, where a migration that SQLite cannot run would go unnoticed: an index with NULLS
FIRST did)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BOARD = """
from safeguarding.querysets import board_victims
from slaverycases.accounts.models import User
lead = User.objects.get(username="safeguarding.gmp")
rows = list(board_victims(lead))
assert rows and all(v.in_open_case for v in rows), rows
print("board", len(rows))
"""

# The compiled reads (session, user, the list, a case page: ADR 0005) on SQLite.
PAGES = """
from django.test import Client
from django.test.utils import setup_test_environment
from investigations.models import Investigation
from slaverycases.accounts.models import User
setup_test_environment()
officer = User.objects.get(username="officer.gmp")
client = Client()
client.force_login(officer)
listed = client.get("/investigations/?status=allocated")
assert listed.status_code == 200, listed.status_code
case = Investigation.objects.filter(unit=officer.unit, involvements__isnull=False).first()
page = client.get(f"/investigations/{case.reference}/")
assert page.status_code == 200 and case.title in page.content.decode(), page.status_code
assert "Victim A" in page.content.decode()
print("pages", listed.status_code, page.status_code)
"""

# A transaction that reads first and writes later (printing a PDF, then recording it) holds
# the write lock from its start, so a worker's write waits for it instead of both failing.
WRITE_LOCK = """
import sqlite3
from django.db import connection, transaction
from investigations.models import Investigation
with transaction.atomic():
    Investigation.objects.count()  # a read only, so far
    other = sqlite3.connect(connection.settings_dict["NAME"], timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        print("worker waits:", exc)
    else:
        print("worker got the write lock")
    other.close()
"""


def run(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_migrate_and_demo_data_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update(
        DEBUG="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'embedded.sqlite3'}",
        DJANGO_SETTINGS_MODULE="slaverycases.settings",
    )
    run("migrate", "--noinput", env=env)
    assert "Demo data ready" in run("seed_demo", env=env)
    assert "board " in run("shell", "-c", BOARD, env=env)
    assert "pages 200 200" in run("shell", "-c", PAGES, env=env)
    assert "worker waits: database is locked" in run("shell", "-c", WRITE_LOCK, env=env)
