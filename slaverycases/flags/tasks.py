"""Thin Celery tasks around the flag scan. Idempotent: running one twice changes nothing."""

from __future__ import annotations

from celery import group, shared_task
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


@shared_task(**RETRY)
def scan_force(force_id: int) -> dict[str, dict[str, int]]:
    from slaverycases.flags.actions import scan

    run = scan(force=Force.objects.get(pk=force_id))
    return {"opened": run.opened, "resolved": run.resolved}


@shared_task(**RETRY)
def scan_all() -> int:
    """Split the national scan into one task per force, so more workers share it."""
    force_ids = list(Force.objects.values_list("pk", flat=True))
    group(scan_force.s(pk) for pk in force_ids).apply_async()
    return len(force_ids)


@shared_task(**RETRY)
def scan_investigation(investigation_id: int) -> None:
    from investigations.models import Investigation
    from slaverycases.flags.actions import scan

    inv = Investigation.objects.select_related("force").filter(pk=investigation_id).first()
    if inv is not None:
        scan(force=inv.force, investigation_ids=[inv.pk])


def queue_case_scan(investigation_id: int) -> None:
    """Called after commit of any change to a case: its flags appear or clear in seconds.
    The task goes through the outbox, so a broker outage loses nothing and fails nothing."""
    from django.conf import settings

    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        scan_investigation.apply((investigation_id,))
        return
    with transaction.atomic():
        enqueue(scan_investigation.name, investigation_id)
