from __future__ import annotations

from django.utils import timezone

from slaverycases.core.models import WorkerHeartbeat


def heartbeat_record(*, hostname: str) -> WorkerHeartbeat:
    """Idempotent: one row per worker host, its time moved forward."""
    beat, _ = WorkerHeartbeat.objects.update_or_create(
        hostname=hostname[:200], defaults={"last_seen": timezone.now()}
    )
    return beat
