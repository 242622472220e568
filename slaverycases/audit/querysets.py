from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from slaverycases.audit.models import AuditEvent


def audit_events_filtered(
    *,
    username: str = "",
    action: str = "",
    reference: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[AuditEvent]:
    qs = AuditEvent.objects.all()
    if username:
        qs = qs.filter(actor_username=username)
    if action:
        qs = qs.filter(action=action)
    if reference:
        qs = qs.filter(investigation_reference=reference.upper())
    tz = timezone.get_current_timezone()
    if date_from:
        qs = qs.filter(at__gte=datetime.combine(date_from, time.min, tzinfo=tz))
    if date_to:
        qs = qs.filter(at__lt=datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=tz))
    return qs.order_by("-at", "-id")
