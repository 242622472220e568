from __future__ import annotations

from celery import shared_task

from slaverycases.core.actions import heartbeat_record


@shared_task(acks_late=True)
def flush_outbox() -> int:
    from slaverycases.core.outbox import flush

    return flush()


@shared_task(bind=True, ignore_result=False)
def record_heartbeat(self) -> str:  # type: ignore[no-untyped-def]
    hostname = self.request.hostname or "unknown"
    heartbeat_record(hostname=hostname)
    return hostname
