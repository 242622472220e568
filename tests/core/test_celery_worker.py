"""A Celery task executed by a real worker process over the Redis broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from slaverycases.core.models import WorkerHeartbeat

ROOT = Path(__file__).resolve().parents[2]


def _redis_broker() -> str:
    url = settings.CELERY_BROKER_URL
    if not url.startswith("redis://"):
        if os.environ.get("CI"):
            pytest.fail("CI must run the worker tests against Redis (CELERY_BROKER_URL)")
        pytest.skip("needs CELERY_BROKER_URL pointing at Redis")
    return url


@pytest.fixture
def celery_worker_process(transactional_db):
    """Start `celery worker` against the test database and a queue of its own."""
    from slaverycases.celery import app

    broker = _redis_broker()
    app.conf.task_always_eager = False
    queue = f"test-{uuid.uuid4().hex[:12]}"
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
        if connection.vendor == "postgresql"
        else f"sqlite:///{db['NAME']}"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "slaverycases.settings_test",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker,
    }
    hostname = f"{queue}@localhost"
    proc = subprocess.Popen(
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
            hostname,
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield queue, hostname
    finally:
        app.conf.task_always_eager = True
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.worker
def test_a_real_worker_runs_the_heartbeat_task_over_redis(celery_worker_process):
    from slaverycases.core.tasks import record_heartbeat

    queue, hostname = celery_worker_process
    record_heartbeat.apply_async(queue=queue)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if WorkerHeartbeat.objects.filter(hostname=hostname).exists():
            break
        time.sleep(0.2)
    assert WorkerHeartbeat.objects.filter(hostname=hostname).exists()
    first = WorkerHeartbeat.objects.get(hostname=hostname).last_seen
    # Idempotent: a second run moves the time forward, never a second row.
    record_heartbeat.apply_async(queue=queue)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if WorkerHeartbeat.objects.get(hostname=hostname).last_seen > first:
            break
        time.sleep(0.2)
    assert WorkerHeartbeat.objects.filter(hostname=hostname).count() == 1
    assert WorkerHeartbeat.objects.get(hostname=hostname).last_seen > first
