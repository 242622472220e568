from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from slaverycases.audit.context import current_request_meta
from slaverycases.audit.models import AuditAction, AuditEvent
from slaverycases.core.compiled import CompiledInsert

logger = logging.getLogger(__name__)


def audit_record(
    *,
    actor: Any,
    action: AuditAction | str,
    obj: models.Model | None = None,
    investigation_reference: str = "",
    justification: str = "",
    recipient: str = "",
    detail: dict[str, Any] | None = None,
    username: str = "",
) -> AuditEvent:
    """Write one audit row. Call it inside the transaction of the action it records."""
    meta = current_request_meta.get()
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    if obj is not None and not investigation_reference:
        investigation_reference = _reference_of(obj)
    event = AuditEvent(
        actor=actor if is_user else None,
        actor_username=(actor.get_username() if is_user else username)[:150],
        ip_address=meta.ip_address if meta else None,
        user_agent=meta.user_agent if meta else "",
        action=str(action),
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        investigation_reference=investigation_reference,
        justification=justification,
        recipient=recipient[:200],
        detail=detail or {},
    )
    return _INSERT_EVENT.insert(event)


# Every page view writes a row: the INSERT is made once, not by save() each time (ADR 0005).
_INSERT_EVENT = CompiledInsert(AuditEvent)


def list_consulted(
    *, actor: Any, page: str, shown: Iterable[Any], filters: dict[str, Any] | None = None
) -> AuditEvent:
    """Record that the actor viewed a list of records (DPA 2018 s62 consultation): which list,
    with which search and filters, and what it showed (case references, victim or flag ids).
    A search by a victim's name tells which cases hold that person: it is a consultation of
    each case shown, and the auditor can find it by the reference."""
    used = {
        name: value if isinstance(value, bool | int) else str(value)
        for name, value in (filters or {}).items()
        if value not in ("", None, [], (), False)
    }
    detail: dict[str, Any] = {"page": page, "shown": [str(item) for item in shown]}
    if used:
        detail["filters"] = used
    return audit_record(actor=actor, action=AuditAction.CONSULTATION, detail=detail)


def _reference_of(obj: models.Model) -> str:
    reference = getattr(obj, "reference", None)
    if isinstance(reference, str):
        return reference
    investigation = getattr(obj, "investigation", None)
    return getattr(investigation, "reference", "") or ""


# --- monthly partitions (migration 0005) ------------------------------------------------------

PARTITION_PREFIX = "audit_auditevent_"
DEFAULT_PARTITION = "audit_auditevent_default"


def _month_start(day: date, months_on: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + months_on
    return date(index // 12, index % 12 + 1, 1)


def audit_partitions_ensure(today: date | None = None, ahead: int = 3) -> list[str]:
    """Create the audit table's monthly partitions from this month to `ahead` months on, so
    rows never land in the DEFAULT partition. Idempotent. A month whose rows already sit in the
    DEFAULT partition (a clock that ran ahead) is left to it: PostgreSQL cannot create that
    month's partition without moving them, and moving would be a DELETE the log refuses.
    Returns the partitions created. Does nothing on SQLite or on an unpartitioned table."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return []
    today = today or timezone.now().astimezone(UTC).date()
    created: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [DEFAULT_PARTITION])
        if not cursor.fetchone()[0]:
            return []
        for i in range(ahead + 1):
            start, end = _month_start(today, i), _month_start(today, i + 1)
            name = f"{PARTITION_PREFIX}{start:%Y_%m}"
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
            if cursor.fetchone()[0]:
                continue
            bounds = [datetime(d.year, d.month, 1, tzinfo=UTC) for d in (start, end)]
            cursor.execute(
                f"SELECT EXISTS (SELECT 1 FROM {DEFAULT_PARTITION} WHERE at >= %s AND at < %s)",  # noqa: S608 (a constant)
                bounds,
            )
            if cursor.fetchone()[0]:
                logger.warning("audit rows for %s are in the default partition; left there", name)
                continue
            with transaction.atomic():
                cursor.execute(
                    f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF audit_auditevent '
                    f"FOR VALUES FROM ('{bounds[0].isoformat()}') TO ('{bounds[1].isoformat()}')"
                )
            created.append(name)
    return created
