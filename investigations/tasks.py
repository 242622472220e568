"""Thin Celery tasks for investigations. Idempotent: running one twice changes nothing."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone


@shared_task(
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    max_retries=5,
    acks_late=True,
    reject_on_worker_lost=True,
)
def retention_reviews_due() -> dict[str, int]:
    """Daily: tell each force's administrators how many closed records are due for MoPI
    review (once per force per day)."""
    from investigations.actions import retention_notify_due

    return retention_notify_due(timezone.localdate())
