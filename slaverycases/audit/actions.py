from __future__ import annotations

from typing import Any

from django.db import models

from slaverycases.audit.context import current_request_meta
from slaverycases.audit.models import AuditAction, AuditEvent


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
    return AuditEvent.objects.create(
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


def _reference_of(obj: models.Model) -> str:
    reference = getattr(obj, "reference", None)
    if isinstance(reference, str):
        return reference
    investigation = getattr(obj, "investigation", None)
    return getattr(investigation, "reference", "") or ""
