"""slaverycases/flags/tasks.py and the scan_flags command: scan_force in one and in two real
Celery worker processes over Redis, scan_all's fan-out, scan_investigation, the after-commit
rescan of a changed case, and the command's JSON summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from celery import group
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from investigations.models import Investigation
from slaverycases.flags.models import ACTIVE_STATUSES, Flag, FlagKind, FlagRun, FlagStatus
from slaverycases.flags.tasks import scan_all, scan_force, scan_investigation
from tests import factories
from tests.flags.test_rules import T0, active, complete_enquiry, frozen_clock, timeline_texts

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clock():
    yield from frozen_clock()


# --- real workers -----------------------------------------------------------------------------


def _redis_broker() -> str:
    url = settings.CELERY_BROKER_URL
    if not url.startswith("redis://"):
        if os.environ.get("CI"):
            pytest.fail("CI must run the worker tests against Redis (CELERY_BROKER_URL)")
        pytest.skip("needs CELERY_BROKER_URL pointing at Redis")
    return url


@pytest.fixture
def start_workers(transactional_db) -> Iterator[Callable[[int], str]]:
    """`start_workers(n)` starts n `celery worker` processes against the test database, all
    consuming one queue of their own, and returns the queue's name."""
    from slaverycases.celery import app

    broker = _redis_broker()
    procs: list[subprocess.Popen[str]] = []

    def start(n: int) -> str:
        app.conf.task_always_eager = False
        queue = f"test-flags-{uuid.uuid4().hex[:12]}"
        db = connection.settings_dict
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "slaverycases.settings_test",
            "DATABASE_URL": (
                f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
                f"{db['PORT'] or 5432}/{db['NAME']}"
            ),
            "CELERY_BROKER_URL": broker,
        }
        for i in range(n):
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "slaverycases",
                        "worker",
                        "--pool=solo",
                        "-Q",
                        queue,
                        "-n",
                        f"{queue}-{i}@localhost",
                        "--without-heartbeat",
                        "--without-gossip",
                        "--without-mingle",
                        "--loglevel=WARNING",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    text=True,
                )
            )
        return queue

    try:
        yield start
    finally:
        app.conf.task_always_eager = True
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=20)


def wait_for(condition: Callable[[], bool], seconds: float = 90) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def force_runs(since: datetime) -> Any:
    """Runs of scan_force (whole forces, not the after-commit scans of one case)."""
    return FlagRun.objects.filter(investigation_id__isnull=True, started_at__gte=since)


def cases_due_now(people: dict[str, Any], force: str, n: int = 1) -> list[Investigation]:
    """Cases made a month ago, when nothing was due yet (the after-commit scans then found
    nothing); the worker, on today's clock, finds them delayed and without supervision."""
    officer, supervisor = people[f"officer.{force}"], people[f"supervisor.{force}"]
    month_ago = timezone.now() - timedelta(days=30)
    with time_machine.travel(month_ago, tick=False):
        return [
            factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=2)
            for _ in range(n)
        ]


@pytest.mark.worker
def test_a_real_worker_runs_scan_force_over_redis(start_workers, people):
    cases = cases_due_now(people, "gmp", 2)
    gmp = people["officer.gmp"].force
    assert not Flag.objects.exists()
    queue = start_workers(1)
    sent_at = timezone.now()

    scan_force.apply_async((gmp.pk,), queue=queue)

    assert wait_for(lambda: force_runs(sent_at).filter(finished_at__isnull=False).exists())
    (run,) = force_runs(sent_at)
    assert run.force_id == gmp.pk
    assert run.error == ""
    assert run.opened[FlagKind.DELAYED_START] == 2
    assert run.opened[FlagKind.SUPERVISION_OVERDUE] == 2
    for inv in cases:
        flag = active(FlagKind.DELAYED_START, inv)
        assert flag is not None
        assert flag.raised_at >= sent_at
        assert flag.evidence["no_substantive_action"] is True
        assert active(FlagKind.SUPERVISION_OVERDUE, inv) is not None
        assert "Flag raised: Delayed start (medium)" in timeline_texts(inv)


@pytest.mark.worker
def test_two_workers_share_the_fan_out_without_duplicates(start_workers, people):
    gmp_cases = cases_due_now(people, "gmp", 3)
    wyp_cases = cases_due_now(people, "wyp", 3)
    forces = [people["officer.gmp"].force, people["officer.wyp"].force]
    queue = start_workers(2)
    sent_at = timezone.now()

    # Each force twice, so the two workers scan the same force at the same time too.
    group(scan_force.s(f.pk).set(queue=queue) for f in forces * 2).apply_async()

    assert wait_for(lambda: force_runs(sent_at).filter(finished_at__isnull=False).count() == 4)
    runs = list(force_runs(sent_at))
    assert len(runs) == 4
    assert [run.error for run in runs] == [""] * 4
    assert Counter(run.force_id for run in runs) == {forces[0].pk: 2, forces[1].pk: 2}
    opened = Counter()
    for run in runs:
        opened.update(run.opened)
    assert opened[FlagKind.DELAYED_START] == 6
    assert opened[FlagKind.SUPERVISION_OVERDUE] == 6

    keys = Counter(
        Flag.objects.filter(status__in=ACTIVE_STATUSES).values_list(
            "kind", "investigation_id", "victim_key"
        )
    )
    assert set(keys.values()) == {1}
    assert set(keys) == {
        (kind, inv.pk, 0)
        for inv in gmp_cases + wyp_cases
        for kind in (FlagKind.DELAYED_START, FlagKind.SUPERVISION_OVERDUE)
    }
    for inv in gmp_cases + wyp_cases:
        raised = [t for t in timeline_texts(inv) if t.startswith("Flag raised")]
        assert len(raised) == 2, raised


# --- the tasks in-process (CELERY_TASK_ALWAYS_EAGER) ------------------------------------------


@pytest.mark.django_db
def test_scan_all_fans_out_one_scan_per_force(clock, people):
    officer, supervisor = people["officer.gmp"], people["supervisor.gmp"]
    gmp_case = factories.investigation(
        officer, stage="allocated", supervisor=supervisor, days_ago=8
    )
    wyp_case = factories.investigation(
        people["officer.wyp"], stage="allocated", supervisor=people["supervisor.wyp"], days_ago=8
    )
    assert scan_all.delay().get() == 3  # GMP, WYP and the NCA
    runs = FlagRun.objects.filter(investigation_id__isnull=True)
    assert sorted(runs.values_list("force__code", flat=True)) == ["GMP", "NCA", "WYP"]
    assert active(FlagKind.DELAYED_START, gmp_case) is not None
    assert active(FlagKind.DELAYED_START, wyp_case) is not None


@pytest.mark.django_db
def test_scan_force_returns_what_it_did(clock, people):
    officer, supervisor = people["officer.gmp"], people["supervisor.gmp"]
    factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=8)
    result = scan_force.delay(officer.force_id).get()
    assert result["opened"][FlagKind.DELAYED_START] == 1
    assert not any(result["resolved"].values())
    again = scan_force.delay(officer.force_id).get()
    assert not any(again["opened"].values()) and not any(again["resolved"].values())


@pytest.mark.django_db
def test_scan_investigation_scans_only_that_case(clock, people):
    officer, supervisor = people["officer.gmp"], people["supervisor.gmp"]
    one = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=8)
    two = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=8)
    scan_investigation.delay(one.pk).get()
    assert active(FlagKind.DELAYED_START, one) is not None
    assert active(FlagKind.DELAYED_START, two) is None
    assert FlagRun.objects.get().investigation_id == one.pk
    # A case deleted meanwhile is nothing to scan.
    assert scan_investigation.delay(two.pk + 1000).get() is None
    assert FlagRun.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_change_to_a_case_rescans_it_after_commit(clock, people):
    officer, supervisor = people["officer.gmp"], people["supervisor.gmp"]
    # Recording the crime eight days late: the after-commit scan flags the delay at once.
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=8)
    flag = active(FlagKind.DELAYED_START, inv)
    assert flag is not None

    clock.move_to(T0 + timedelta(minutes=5))
    complete_enquiry(inv, officer)
    flag.refresh_from_db()
    assert flag.status == FlagStatus.RESOLVED
    assert flag.resolved_at == T0 + timedelta(minutes=5)
    assert "Flag cleared: Delayed start" in timeline_texts(inv)


# --- the scan_flags command -------------------------------------------------------------------


def run_scan_flags() -> dict[str, Any]:
    out = StringIO()
    call_command("scan_flags", stdout=out)
    lines = out.getvalue().strip().splitlines()
    summary = json.loads(lines[-1])
    assert set(summary) == {"opened", "resolved", "open"}
    return summary


@pytest.mark.django_db
def test_scan_flags_prints_a_json_summary_and_a_second_run_changes_nothing(clock, people):
    officer, supervisor = people["officer.gmp"], people["supervisor.gmp"]
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=8)
    factories.investigation(
        people["officer.wyp"], stage="allocated", supervisor=people["supervisor.wyp"], days_ago=8
    )

    assert run_scan_flags() == {
        "opened": {"delayed_start": 2},
        "resolved": {},
        "open": {"delayed_start": 2},
    }
    clock.move_to(T0 + timedelta(minutes=1))
    assert run_scan_flags() == {"opened": {}, "resolved": {}, "open": {"delayed_start": 2}}

    complete_enquiry(inv, officer)
    clock.move_to(T0 + timedelta(minutes=2))
    assert run_scan_flags() == {
        "opened": {},
        "resolved": {"delayed_start": 1},
        "open": {"delayed_start": 1},
    }
