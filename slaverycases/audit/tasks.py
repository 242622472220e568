"""Thin Celery tasks for the audit log. Idempotent: running one twice changes nothing."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError


@shared_task(
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    max_retries=5,
    acks_late=True,
    reject_on_worker_lost=True,
)
def ensure_partitions() -> list[str]:
    """Daily: create the audit table's partitions for this month and the next three."""
    from slaverycases.audit.actions import audit_partitions_ensure

    return audit_partitions_ensure()
