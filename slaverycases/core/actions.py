from __future__ import annotations

import hashlib

from django.db import connection
from django.utils import timezone

from slaverycases.core.models import WorkerHeartbeat


def heartbeat_record(*, hostname: str) -> WorkerHeartbeat:
    """Idempotent: one row per worker host, its time moved forward."""
    beat, _ = WorkerHeartbeat.objects.update_or_create(
        hostname=hostname[:200], defaults={"last_seen": timezone.now()}
    )
    return beat


def advisory_lock(key: str) -> None:
    """Hold a lock named `key` until the transaction ends, for work that no row lock covers
    (a force's flag scan; a crime reference not yet written). PostgreSQL only: SQLite lets one
    transaction write at a time."""
    if connection.vendor != "postgresql":
        return
    number = int.from_bytes(
        hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [number])
