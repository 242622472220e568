"""Thin Celery tasks around the flag scan. Idempotent: running one twice changes nothing."""

from __future__ import annotations

from celery import Task, group, shared_task
from django.db import DatabaseError, transaction
from kombu.exceptions import OperationalError as BrokerError

from slaverycases.accounts.models import Force
from slaverycases.core.outbox import enqueue

RETRY = {
    "autoretry_for": (DatabaseError, BrokerError),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "max_retries": 5,
    "acks_late": True,
    "reject_on_worker_lost": True,
}


# Each task counts its starts (task_delivery_start) and gives up on a message whose worker has
# died MAX_DELIVERIES times: reject_on_worker_lost alone would redeliver it for ever.


@shared_task(bind=True, **RETRY)
def scan_force(self: Task, force_id: int) -> dict[str, dict[str, int]] | None:
    from slaverycases.flags.actions import scan, task_delivery_finish, task_delivery_start

    if not task_delivery_start(self.request, force_id=force_id):
        return None
    try:
        run = scan(force=Force.objects.get(pk=force_id))
    finally:
        task_delivery_finish(self.request)
    return {"opened": run.opened, "resolved": run.resolved}


@shared_task(bind=True, **RETRY)
def scan_all(self: Task) -> int | None:
    """Split the national scan into one task per force, so more workers share it."""
    from slaverycases.flags.actions import (
        task_delivery_finish,
        task_delivery_purge,
        task_delivery_start,
    )

    if not task_delivery_start(self.request):
        return None
    try:
        task_delivery_purge()
        force_ids = list(Force.objects.values_list("pk", flat=True))
        group(scan_force.s(pk) for pk in force_ids).apply_async()
    finally:
        task_delivery_finish(self.request)
    return len(force_ids)


@shared_task(bind=True, **RETRY)
def scan_investigation(self: Task, investigation_id: int) -> None:
    from investigations.models import Investigation
    from slaverycases.flags.actions import scan, task_delivery_finish, task_delivery_start

    if not task_delivery_start(self.request, investigation_id=investigation_id):
        return
    try:
        inv = Investigation.objects.select_related("force").filter(pk=investigation_id).first()
        if inv is not None:
            scan(force=inv.force, investigation_ids=[inv.pk])
    finally:
        task_delivery_finish(self.request)


def queue_case_scan(investigation_id: int) -> None:
    """Called after commit of any change to a case: its flags appear or clear in seconds.
    The task goes through the outbox, so a broker outage loses nothing and fails nothing."""
    from django.conf import settings

    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        scan_investigation.apply((investigation_id,))
        return
    with transaction.atomic():
        enqueue(scan_investigation.name, investigation_id)
