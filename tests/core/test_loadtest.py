"""manage.py loadtest: gunicorn and wrk on loopback against this (the test) database, with the
CPU each side used per request. A short run: the figures themselves are for docs, not tests."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.db import connection

from slaverycases.audit.models import AuditAction, AuditEvent
from tests.core.test_benchmark import generated  # noqa: F401 - the fixture

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the server's processes are PostgreSQL's"
    ),
]


def test_a_short_load_test_serves_every_page_and_reports_the_cpu_of_each_side(
    generated,  # noqa: F811
    tmp_path,
):
    out = tmp_path / "load.json"
    printed = io.StringIO()
    call_command(
        "loadtest",
        "--duration=2",
        "--workers=2",
        "--connections=4",
        "--officers=2",
        "--cases=5",
        f"--json={out}",
        stdout=printed,
    )
    report = json.loads(out.read_text())
    assert report["errors_total"] == 0, report["wrk_output"]
    assert report["requests"] > 0 and report["requests_per_second"] > 0
    assert report["officers"] == 2 and report["list_urls"] == 14
    cpu = report["cpu_ms_per_request"]
    assert cpu["app"] > 0 and cpu["database"] > 0  # gunicorn's workers and PostgreSQL's
    assert "CPU per request: app" in printed.getvalue()
    # The server used this database: its case pages are in this database's audit log.
    assert AuditEvent.objects.filter(
        action=AuditAction.CONSULTATION, detail__page="case page"
    ).exists()
