"""Reliability of the flag scan under faults (slaverycases/flags/tasks.py and actions.py): a scan
whose worker is killed in the middle runs again and its flags come out exactly as a clean scan
leaves them; a message that kills its worker every time is given up after MAX_DELIVERIES starts
and the give-up is recorded; the advisory lock keeps two scans of one force from running at once.

The scan is stopped in the middle deterministically: the test holds, uncommitted, the active
flag that the scan is about to open, so the scan's INSERT waits for the test's transaction
inside the scan's own transaction (after the earlier rules have written their flags). The test
polls pg_stat_activity for that wait (pg_blocking_pids), then kills the worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
import redis
from django.db import connection, connections
from django.utils import timezone

from investigations.models import Investigation, TimelineEvent
from slaverycases.flags import actions
from slaverycases.flags.models import (
    ACTIVE_STATUSES,
    Flag,
    FlagKind,
    FlagRun,
    FlagStatus,
    Severity,
    TaskDelivery,
)
from slaverycases.flags.rules import RULES
from slaverycases.flags.tasks import scan_force
from tests import factories
from tests.flags.test_tasks import _redis_broker, cases_due_now, force_runs, wait_for

ROOT = Path(__file__).resolve().parents[2]
# The scan is held at this rule's INSERT; DELAYED_START, reconciled before it, is then written.
HELD_KIND = FlagKind.SUPERVISION_OVERDUE
# Bounds for every wait: a worker starting, a task being delivered again, a scan finishing.
TIMEOUT = 90


# --- fixtures ---------------------------------------------------------------------------------


def _dsn() -> str:
    db = connection.settings_dict
    return (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


class Workers:
    """Real `celery worker` processes on the test database, consuming one queue of their own
    (as tests/flags/test_tasks.py starts them), which a test may kill."""

    def __init__(self, broker: str) -> None:
        self.broker = broker
        # kombu's lock for handing back overdue messages (one per Redis database): a worker
        # that another test killed while it held the lock would block redelivery here for up
        # to 5 minutes (its expiry), so a stale one is cleared before these workers start.
        redis.Redis.from_url(broker).delete("unacked_mutex")
        self.queue = f"test-killed-{uuid.uuid4().hex[:12]}"
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *, pool: str, **env: str) -> subprocess.Popen[bytes]:
        pool_args = ["--pool=solo"] if pool == "solo" else ["--pool=prefork", "--concurrency=1"]
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "slaverycases",
                "worker",
                *pool_args,
                "-Q",
                self.queue,
                "-n",
                f"{self.queue}-{len(self.procs)}@localhost",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=WARNING",
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "slaverycases.settings_test",
                "DATABASE_URL": _dsn(),
                "CELERY_BROKER_URL": self.broker,
                **env,
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=20)


@pytest.fixture
def workers(transactional_db) -> Iterator[Workers]:
    from slaverycases.celery import app

    pool = Workers(_redis_broker())
    app.conf.task_always_eager = False
    try:
        yield pool
    finally:
        app.conf.task_always_eager = True
        pool.stop()


class Hold:
    """An uncommitted active flag, in a connection of its own: a scan about to open the same
    flag waits in its INSERT (the partial unique index) until the hold is released."""

    def __init__(self) -> None:
        self.conn = psycopg.connect(_dsn(), autocommit=False)
        self.pid = self.conn.info.backend_pid

    def flag(self, kind: str, inv: Investigation) -> None:
        self.conn.execute(
            "INSERT INTO flags_flag (kind, investigation_id, unit_id, victim_id, victim_key, "
            "severity, raised_at, evidence, status, reason, acted_by_id, acted_at, resolved_at) "
            "VALUES (%s, %s, %s, NULL, 0, %s, now(), '{}', 'open', '', NULL, NULL, NULL)",
            [kind, inv.pk, inv.unit_id, Severity.LOW],
        )

    def release(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()


def backends() -> list[dict[str, Any]]:
    """The other sessions on the test database: pid, state, what they wait for, who blocks
    them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, state, wait_event_type, wait_event, pg_blocking_pids(pid), query "
            "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        names = ["pid", "state", "wait_type", "wait", "blocked_by", "query"]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def blocked_by(pid: int) -> list[dict[str, Any]]:
    return [b for b in backends() if pid in b["blocked_by"]]


def holds_advisory_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = %s",
            [pid],
        )
        return cursor.fetchone()[0] == 1


def busy_backends() -> list[dict[str, Any]]:
    """Sessions in a transaction: a killed worker's session lingers until its statement ends."""
    return [b for b in backends() if b["state"] not in ("idle", None)]


@pytest.fixture
def hold(transactional_db) -> Iterator[Hold]:
    held = Hold()
    try:
        yield held
    finally:
        held.release()
        # The sessions of killed workers end once they may go on; the database is flushed
        # (and at the end dropped) only then.
        assert wait_for(lambda: not busy_backends(), TIMEOUT), busy_backends()


def pool_processes(worker: subprocess.Popen[bytes]) -> list[int]:
    """The prefork worker's pool processes (its living children)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == worker.pid and fields[0] != "Z":
            children.append(int(stat.parent.name))
    return children


def kill_pool_process(worker: subprocess.Popen[bytes]) -> None:
    (child,) = pool_processes(worker)
    os.kill(child, signal.SIGKILL)


# --- data -------------------------------------------------------------------------------------


def build(people: dict[str, Any]) -> tuple[list[Investigation], Flag]:
    """Three GMP cases due now (each raises DELAYED_START and SUPERVISION_OVERDUE) and an active
    flag on a fourth whose condition does not hold (the scan resolves it)."""
    cases = cases_due_now(people, "gmp", 3)
    fresh = factories.investigation(people["officer.gmp"], stage="reported", days_ago=0)
    stale = Flag.objects.create(
        kind=FlagKind.DELAYED_START, investigation=fresh, unit=fresh.unit, severity=Severity.LOW
    )
    return cases, stale


def assert_exactly_what_a_clean_scan_leaves(cases: list[Investigation], stale: Flag) -> None:
    keys = Counter(
        Flag.objects.filter(status__in=ACTIVE_STATUSES).values_list(
            "kind", "investigation_id", "victim_key"
        )
    )
    assert keys == {
        (kind, inv.pk, 0): 1
        for inv in cases
        for kind in (FlagKind.DELAYED_START, FlagKind.SUPERVISION_OVERDUE)
    }
    stale.refresh_from_db()
    assert stale.status == FlagStatus.RESOLVED
    # No flag row, and no timeline event, from the killed scan.
    assert Flag.objects.count() == len(keys) + 1
    raised = Counter(
        TimelineEvent.objects.filter(text__startswith="Flag raised").values_list(
            "investigation_id", flat=True
        )
    )
    assert raised == {inv.pk: 2 for inv in cases}
    # A clean scan now finds nothing to do.
    run = actions.scan(force=cases[0].force)
    assert not any(run.opened.values()) and not any(run.resolved.values())


def assert_one_run_finished_after_one_killed(since: Any) -> None:
    runs = list(force_runs(since).order_by("started_at"))
    assert len(runs) == 2, runs
    killed, rerun = runs
    assert killed.finished_at is None  # its worker died: never finished, nothing committed
    assert rerun.finished_at is not None and rerun.error == ""
    assert {kind: n for kind, n in rerun.opened.items() if n} == {
        FlagKind.DELAYED_START: 3,
        FlagKind.SUPERVISION_OVERDUE: 3,
    }
    assert {kind: n for kind, n in rerun.resolved.items() if n} == {FlagKind.DELAYED_START: 1}


def wait_until_held(hold: Hold) -> int:
    """Wait for a scan to be held at its INSERT inside its transaction; returns its session."""
    assert wait_for(lambda: len(blocked_by(hold.pid)) == 1, TIMEOUT), backends()
    (scan_session,) = blocked_by(hold.pid)
    # Mid-scan, in its transaction: it holds its force's lock, is opening HELD_KIND's flags,
    # and has opened DELAYED_START's before (uncommitted: the run after it opens them again).
    assert holds_advisory_lock(scan_session["pid"])
    # The kind is a bound parameter ($1): only HELD_KIND's INSERT conflicts with the hold's row.
    assert "INSERT INTO flags_flag" in scan_session["query"]
    assert list(RULES).index(FlagKind.DELAYED_START) < list(RULES).index(HELD_KIND)
    return scan_session["pid"]


def deliveries(task_id: str) -> int:
    row = TaskDelivery.objects.filter(task_id=task_id).first()
    return row.deliveries if row else 0


# --- a worker killed in the middle of a scan --------------------------------------------------


@pytest.mark.worker
def test_a_scan_whose_pool_process_is_killed_runs_again_and_is_right(workers, hold, people):
    """The production worker (prefork): the pool process running the scan is killed (as the
    out-of-memory killer would); the worker sees it lost and requeues the message at once
    (reject_on_worker_lost), and a new pool process scans the force again."""
    cases, stale = build(people)
    gmp = cases[0].force
    hold.flag(HELD_KIND, cases[0])
    worker = workers.start(pool="prefork")
    task_id = str(uuid.uuid4())
    sent_at = timezone.now()

    scan_force.apply_async((gmp.pk,), queue=workers.queue, task_id=task_id)
    killed_scan = wait_until_held(hold)
    assert deliveries(task_id) == 1
    kill_pool_process(worker)

    # Delivered again: the new scan waits for the killed one's session, which still holds the
    # force's lock (and its uncommitted flags) until it can go on and find its client gone.
    assert wait_for(lambda: deliveries(task_id) == 2, TIMEOUT)
    assert wait_for(lambda: len(blocked_by(killed_scan)) == 1, TIMEOUT), backends()
    hold.release()

    assert wait_for(lambda: force_runs(sent_at).filter(finished_at__isnull=False).exists())
    assert worker.poll() is None  # the worker itself lived on
    assert_one_run_finished_after_one_killed(sent_at)
    assert wait_for(lambda: not TaskDelivery.objects.filter(task_id=task_id).exists())
    assert_exactly_what_a_clean_scan_leaves(cases, stale)


@pytest.mark.worker
def test_a_scan_whose_whole_worker_is_killed_runs_again_on_a_new_worker(workers, hold, people):
    """The whole worker is killed (its machine lost): nobody requeues the message, which
    stays unacknowledged in Redis until the visibility timeout (short here) lets a new worker
    deliver it again."""
    cases, stale = build(people)
    gmp = cases[0].force
    hold.flag(HELD_KIND, cases[0])
    short = {"CELERY_VISIBILITY_TIMEOUT": "1"}
    first = workers.start(pool="solo", **short)
    task_id = str(uuid.uuid4())
    sent_at = timezone.now()

    scan_force.apply_async((gmp.pk,), queue=workers.queue, task_id=task_id)
    killed_scan = wait_until_held(hold)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=20)

    workers.start(pool="solo", **short)
    assert wait_for(lambda: deliveries(task_id) == 2, TIMEOUT)
    assert wait_for(lambda: len(blocked_by(killed_scan)) == 1, TIMEOUT), backends()
    hold.release()

    assert wait_for(lambda: force_runs(sent_at).filter(finished_at__isnull=False).exists())
    assert_one_run_finished_after_one_killed(sent_at)
    assert wait_for(lambda: not TaskDelivery.objects.filter(task_id=task_id).exists())
    assert_exactly_what_a_clean_scan_leaves(cases, stale)


# --- the cap on redeliveries ------------------------------------------------------------------


@pytest.mark.worker
def test_a_scan_that_kills_its_worker_every_time_is_given_up(workers, hold, people):
    cases, _ = build(people)
    gmp = cases[0].force
    hold.flag(HELD_KIND, cases[0])
    worker = workers.start(pool="prefork")
    task_id = str(uuid.uuid4())
    sent_at = timezone.now()

    scan_force.apply_async((gmp.pk,), queue=workers.queue, task_id=task_id)
    for n in range(1, actions.MAX_DELIVERIES + 1):
        # The n-th start: held at the INSERT (the first) or behind the killed ones' lock.
        assert wait_for(lambda n=n: deliveries(task_id) == n, TIMEOUT)
        assert wait_for(lambda n=n: sum(1 for b in backends() if b["blocked_by"]) == n, TIMEOUT), (
            backends()
        )
        kill_pool_process(worker)

    assert wait_for(lambda: force_runs(sent_at).exclude(error="").exists(), TIMEOUT)
    (gave_up,) = force_runs(sent_at).exclude(error="")
    assert gave_up.force_id == gmp.pk
    assert gave_up.finished_at is not None
    assert f"scan_force[{task_id}]: started {actions.MAX_DELIVERIES} times" in gave_up.error
    row = TaskDelivery.objects.get(task_id=task_id)
    assert row.deliveries == actions.MAX_DELIVERIES + 1
    assert row.gave_up_at is not None

    # The message was acknowledged, not requeued: a scan sent after it runs, and it does not
    # come back before it (a requeued message goes to the head of the queue).
    hold.release()
    wyp = people["officer.wyp"].force
    scan_force.apply_async((wyp.pk,), queue=workers.queue)
    assert wait_for(lambda: force_runs(sent_at).filter(force=wyp, finished_at__isnull=False))
    assert TaskDelivery.objects.get(task_id=task_id).deliveries == actions.MAX_DELIVERIES + 1
    assert force_runs(sent_at).exclude(error="").count() == 1
    # None of the killed scans committed anything.
    assert not Flag.objects.filter(investigation__in=cases).exists()


def request(task_id: str = "t-1", retries: int = 0, eager: bool = False) -> Any:
    return SimpleNamespace(
        id=task_id, task="slaverycases.flags.tasks.scan_force", retries=retries, is_eager=eager
    )


@pytest.mark.django_db
def test_the_cap_counts_starts_that_did_not_finish_and_records_the_give_up_once(people, caplog):
    gmp = people["officer.gmp"].force
    starts = [actions.task_delivery_start(request(), force_id=gmp.pk) for _ in range(6)]

    assert starts == [True] * actions.MAX_DELIVERIES + [False] * (6 - actions.MAX_DELIVERIES)
    (run,) = FlagRun.objects.all()
    assert run.force_id == gmp.pk and run.finished_at is not None
    assert run.error.startswith(
        "Gave up on slaverycases.flags.tasks.scan_force[t-1]: started 3 times"
    )
    assert [r.levelname for r in caplog.records if "Gave up" in r.message] == ["ERROR"]
    row = TaskDelivery.objects.get()
    assert row.deliveries == 6 and row.gave_up_at is not None
    # A given-up message stays given up, even when a start of it ends.
    actions.task_delivery_finish(request())
    assert actions.task_delivery_start(request(), force_id=gmp.pk) is False
    assert FlagRun.objects.count() == 1


@pytest.mark.django_db
def test_a_start_that_ends_or_retries_counts_afresh(people):
    for _ in range(actions.MAX_DELIVERIES):
        assert actions.task_delivery_start(request())
        actions.task_delivery_finish(request())
    assert not TaskDelivery.objects.exists()

    # A retry of a message is a new message: its starts count from one.
    for _ in range(actions.MAX_DELIVERIES):
        assert actions.task_delivery_start(request("t-2"))
    assert actions.task_delivery_start(request("t-2", retries=1))
    assert TaskDelivery.objects.get(task_id="t-2").deliveries == 1

    # Tasks run in-process have no broker to redeliver them: nothing is counted.
    assert actions.task_delivery_start(request("t-3", eager=True))
    assert not TaskDelivery.objects.filter(task_id="t-3").exists()


@pytest.mark.django_db
def test_a_give_up_on_one_case_is_logged_against_its_force(people):
    inv = factories.investigation(people["officer.wyp"], stage="reported")
    for _ in range(actions.MAX_DELIVERIES + 1):
        actions.task_delivery_start(request("t-4"), investigation_id=inv.pk)
    run = FlagRun.objects.exclude(error="").get()
    assert (run.force_id, run.investigation_id) == (inv.force_id, inv.pk)


@pytest.mark.django_db
def test_rows_of_starts_whose_message_never_came_back_are_purged(people):
    actions.task_delivery_start(request("old"))
    for _ in range(actions.MAX_DELIVERIES + 1):
        actions.task_delivery_start(request("given-up"))
    actions.task_delivery_start(request("recent"))
    TaskDelivery.objects.exclude(task_id="recent").update(
        last_started_at=timezone.now() - actions.STALE_DELIVERY - timedelta(minutes=1)
    )
    assert actions.task_delivery_purge() == 1
    assert sorted(TaskDelivery.objects.values_list("task_id", flat=True)) == [
        "given-up",
        "recent",
    ]


# --- the advisory lock ------------------------------------------------------------------------


def _in_thread(target: Callable[[], Any], results: dict[str, Any], name: str) -> threading.Thread:
    def run() -> None:
        try:
            results[name] = target()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            results[name] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_a_second_scan_of_a_force_waits_for_the_first(hold, people):
    cases, stale = build(people)
    gmp = cases[0].force
    hold.flag(HELD_KIND, cases[0])
    results: dict[str, Any] = {}
    threads = []
    try:
        threads.append(_in_thread(lambda: actions.scan(force=gmp), results, "first"))
        first = wait_until_held(hold)
        threads.append(_in_thread(lambda: actions.scan(force=gmp), results, "second"))
        # The second waits for the first's lock on the force, before doing anything.
        assert wait_for(lambda: len(blocked_by(first)) == 1, TIMEOUT), backends()
        (second,) = blocked_by(first)
        assert second["wait"] == "advisory"
        # Another force's scan is not held up.
        wyp_run = actions.scan(force=people["officer.wyp"].force)
        assert wyp_run.finished_at is not None
        assert "second" not in results
    finally:
        hold.release()
        for thread in threads:
            thread.join(timeout=TIMEOUT)
    assert not any(thread.is_alive() for thread in threads)
    assert all(isinstance(results[name], FlagRun) for name in ("first", "second")), results
    assert sum(results["first"].opened.values()) == 6
    # The second ran after the first had committed: nothing left to do.
    assert not any(results["second"].opened.values())
    assert not any(results["second"].resolved.values())
    assert_exactly_what_a_clean_scan_leaves(cases, stale)
