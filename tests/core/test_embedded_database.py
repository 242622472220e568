"""`make run`'s embedded database: every migration applies on SQLite, the demo data loads and
the safeguarding board reads it (the suite itself runs on PostgreSQL, where a migration that
SQLite cannot run would go unnoticed: an index with NULLS FIRST did)."""

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
