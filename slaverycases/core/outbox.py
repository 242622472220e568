"""The outbox: tasks are written to PostgreSQL in the transaction of the change that needs
them, sent to the broker after commit, and re-sent by beat if the broker was down."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu import Connection

from slaverycases.core.models import QueuedTask

logger = logging.getLogger(__name__)


def enqueue(name: str, *args: Any) -> QueuedTask:
    """Record the task now; try to send it once the transaction commits."""
    queued = QueuedTask.objects.create(name=name, args=list(args))
    transaction.on_commit(lambda: send(queued.pk))
    return queued


def send(pk: int) -> bool:
    from slaverycases.celery import app

    queued = QueuedTask.objects.filter(pk=pk, sent_at__isnull=True).first()
    if queued is None:
        return True
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            connect_timeout=2,
            transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        ) as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=2)
            app.send_task(queued.name, args=queued.args, connection=connection, retry=False)
    except Exception as exc:  # noqa: BLE001 - any broker failure: keep it for later
        QueuedTask.objects.filter(pk=pk).update(
            attempts=queued.attempts + 1, last_error=repr(exc)[:300]
        )
        logger.warning("broker unavailable; task %s kept in the outbox", queued.name)
        return False
    QueuedTask.objects.filter(pk=pk).update(sent_at=timezone.now(), attempts=queued.attempts + 1)
    return True


def flush(limit: int = 1000) -> int:
    """Send what the broker missed; returns how many were sent. Sent rows are kept a week."""
    QueuedTask.objects.filter(sent_at__lt=timezone.now() - timedelta(days=7)).delete()
    sent = 0
    for pk in (
        QueuedTask.objects.filter(sent_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    ):
        if not send(pk):
            break
        sent += 1
    return sent
