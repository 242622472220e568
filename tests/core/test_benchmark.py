"""`manage.py benchmark` (slaverycases/core/benchmark.py): on a small generated data set it
signs in without passwords, gets every page through the WSGI application with status 200,
counts queries, times each page's main query, writes the JSON and cleans up after itself.
No timing is asserted. The pages run through the real stack on committed data (and
scan_flags in another process), so these tests use transactional_db."""

from __future__ import annotations

import io
import json
import os

import pytest
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.test import override_settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from investigations import access
from slaverycases.accounts import roles
from slaverycases.accounts.models import User
from slaverycases.audit.models import AuditAction, AuditEvent
from slaverycases.core.benchmark import PAGE_NAMES, SCAN
from slaverycases.flags.models import Flag

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def generated():
    call_command(
        "generate_cases",
        investigations=200,
        forces=3,
        seed=7,
        batch_size=100,
        no_progress=True,
        stdout=io.StringIO(),
    )


def benchmark(tmp_path, *args: str) -> dict:
    out = tmp_path / "bench.json"
    call_command(
        "benchmark",
        "--json",
        str(out),
        "--requests",
        "3",
        "--warmup",
        "1",
        *args,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    return json.loads(out.read_text())


def by_name(report: dict) -> dict[str, dict]:
    return {page["name"]: page for page in report["pages"]}


def test_every_page_is_timed_with_its_queries_and_main_query(generated, tmp_path):
    out = io.StringIO()
    path = tmp_path / "bench.json"
    call_command(
        "benchmark",
        f"--json={path}",
        "--requests=3",
        "--warmup=1",
        "--skip-scan",
        stdout=out,
        stderr=io.StringIO(),
    )
    report = json.loads(path.read_text())

    pages = by_name(report)
    assert list(pages) == PAGE_NAMES
    for name, page in pages.items():
        assert page["status"] == "ok", (name, page.get("error"))
        assert page["requests"] == 3
        assert isinstance(page["queries"], int) and page["queries"] > 0, name
        assert page["queries_min"] == page["queries"], name  # the same on every request
        assert page["ms"]["p50"] > 0 and page["ms"]["p95"] >= page["ms"]["p50"], name
        assert page["ms"]["max"] >= page["ms"]["p95"], name
        main = page["main_query"]
        assert main["ms_p50"] > 0, name
        # One SQL query reads the page's main rows (the list's reader may first read ids; the
        # board's first plans its query without parallel workers: SET LOCAL, then SELECT).
        two = name.startswith("list") or name == "safeguarding_board"
        assert main["queries"] == 1 or (two and main["queries"] == 2), name
        assert main["sql"].startswith("SELECT"), name
        assert page["ratio"] > 0, name
    assert pages["pdf"]["bytes"] > 1000

    env = report["environment"]
    assert env["investigations"] == 200
    assert env["database"].startswith("PostgreSQL")
    assert env["cpu_count"] >= 1 and env["audit_rows"] >= 0
    assert env["cpu_reference_ms"] > 0 and env["shared_buffers"].endswith("B")
    assert env["users"] == {
        "officer": env["users"]["officer"],
        "supervisor": env["users"]["supervisor"],
        "safeguarding": env["users"]["safeguarding"],
    }
    officer = User.objects.get(username=env["users"]["officer"])
    assert officer.username.startswith("gen.") and officer.has_role(roles.OFFICER)
    assert report["scan"] is None

    table = out.getvalue()
    for name in PAGE_NAMES:
        assert name in table
    assert "main SQL ms" in table

    # Signed out again: no session left behind; the sign-ins are on the record.
    assert not Session.objects.exists()
    assert AuditEvent.objects.filter(action=AuditAction.SIGN_IN).count() == 3
    assert AuditEvent.objects.filter(action=AuditAction.SIGN_OUT).count() == 3


def test_list_query_count_does_not_depend_on_the_rows(generated, tmp_path):
    full = benchmark(tmp_path, "--skip-scan", "--only", "list,list_page500")
    busy = User.objects.get(username=full["environment"]["users"]["officer"])
    # An officer of the quietest unit: fewer cases than one page.
    quiet = min(
        User.objects.filter(groups__name=roles.OFFICER, username__startswith="gen."),
        key=lambda u: access.investigations_for_user(u).count(),
    )
    assert access.investigations_for_user(busy).count() > 25
    assert 0 < access.investigations_for_user(quiet).count() < 25
    small = benchmark(tmp_path, "--skip-scan", "--only", "list", "--officer", quiet.username)

    pages, small_pages = by_name(full), by_name(small)
    assert pages["list_page500"]["notes"]  # fewer than 500 pages: the last one instead
    assert (
        pages["list"]["queries"]
        == pages["list_page500"]["queries"]
        == small_pages["list"]["queries"]
    )


def test_scan_flags_runs_in_its_own_process(generated, tmp_path):
    report = benchmark(tmp_path, "--only", f"{SCAN},flags_queue")

    scan = report["scan"]
    assert scan["status"] == "ok", scan.get("error")
    assert scan["workers"] == (os.cpu_count() or 1)  # forces at once: Celery's default
    (run,) = scan["runs"]
    assert run["seconds"] >= 0 and run["peak_mb"] > 0
    assert run["opened"] == Flag.objects.count() > 0  # it ran on this (the test) database
    page = by_name(report)["flags_queue"]
    assert page["status"] == "ok" and not page["notes"]


def test_works_with_two_factor_required_and_removes_its_devices(generated, tmp_path):
    with override_settings(TWO_FACTOR_REQUIRED=True):
        report = benchmark(tmp_path, "--skip-scan", "--only", "case,pdf", "--pdf-requests", "1")

    pages = by_name(report)
    assert pages["case"]["status"] == "ok"
    assert pages["pdf"]["status"] == "ok"  # the step-up of the PDF is satisfied
    assert report["environment"]["two_factor_required"] is True
    assert not TOTPDevice.objects.exists()
    assert not Session.objects.exists()


def test_a_page_that_fails_is_reported_and_the_command_fails(generated, tmp_path):
    path = tmp_path / "bench.json"
    with pytest.raises(CommandError, match="list: HTTP 400"):
        call_command(
            "benchmark",
            f"--json={path}",
            "--requests=1",
            "--warmup=0",
            "--skip-scan",
            "--only=list",
            "--host=not-allowed.invalid",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    (page,) = json.loads(path.read_text())["pages"]
    assert page["status"] == "error" and page["error"] == "HTTP 400"
