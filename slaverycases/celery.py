"""The one Celery app of slaverycases, and its one beat schedule."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "slaverycases.settings")

app = Celery("slaverycases")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Every periodic job, in one place. Tasks are thin and idempotent: running one twice is safe.
app.conf.beat_schedule = {
    "flag-scan": {
        "task": "slaverycases.flags.tasks.scan_all",
        "schedule": 15 * 60.0,
        "options": {"expires": 14 * 60},
    },
    "retention-reviews-due": {
        "task": "investigations.tasks.retention_reviews_due",
        "schedule": crontab(hour=6, minute=30),
        "options": {"expires": 6 * 3600},
    },
    "audit-partitions": {
        "task": "slaverycases.audit.tasks.ensure_partitions",
        "schedule": crontab(hour=5, minute=15),
        "options": {"expires": 6 * 3600},
    },
    "flush-outbox": {
        "task": "slaverycases.core.tasks.flush_outbox",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "worker-heartbeat": {
        "task": "slaverycases.core.tasks.record_heartbeat",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
}
