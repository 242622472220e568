"""Production settings pass `check --deploy`; docker-compose.yml names the five services."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "a-long-random-production-secret-key-with-more-than-fifty-characters-1234",
    "ALLOWED_HOSTS": "slaverycases.example.police.uk",
    "DATABASE_URL": "sqlite:////tmp/slaverycases-deploy-check.sqlite3",
}


def test_check_deploy_prints_no_warning_with_production_variables():
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SECURE_", "DEBUG", "DJANGO_ALLOW_ASYNC"))
    }
    env.update(PRODUCTION_ENV)
    env["DJANGO_SETTINGS_MODULE"] = "slaverycases.settings"
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_compose_file_parses_and_runs_the_whole_stack():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    assert "gunicorn" in " ".join(services["web"]["command"])
    for name in ("postgres", "redis", "web"):
        assert "healthcheck" in services[name], name
    assert "pgdata" in compose["volumes"]
    # PostgreSQL's buffers sized for a national database, not its 128 MB default.
    assert any("shared_buffers=" in part for part in services["postgres"]["command"])
