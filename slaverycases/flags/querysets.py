from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import F, Q, QuerySet

from investigations.querysets import EqualsAny
from slaverycases.accounts import roles
from slaverycases.flags.models import ACTIVE_STATUSES, SAFEGUARDING_KINDS, Flag

if TYPE_CHECKING:
    from slaverycases.accounts.models import User


def queue_for(user: User, *, kind: str = "") -> QuerySet[Flag]:
    """The user's review queue: their units' active flags, most severe and oldest first.
    Safeguarding leads see the victim-contact flags."""
    if not user.is_authenticated or user.unit_id is None:
        return Flag.objects.none()
    from investigations.models import Investigation

    # The unit's flags from their index (flag_unit_queue), and those of the cases the user
    # supervises in another unit, by the cases' ids (looked up once, an InitPlan).
    elsewhere = (
        Investigation.objects.filter(supervisor_id=user.pk)
        .exclude(unit_id=user.unit_id)
        .order_by()
        .values("pk")
    )
    if connection.vendor == "postgresql":
        supervised = Q(EqualsAny(F("investigation_id"), ArraySubquery(elsewhere)))
    else:
        supervised = Q(investigation_id__in=elsewhere)
    qs = Flag.objects.filter(Q(unit_id=user.unit_id) | supervised, status__in=ACTIVE_STATUSES)
    if not user.has_role(roles.SUPERVISOR):
        qs = qs.filter(kind__in=SAFEGUARDING_KINDS)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.select_related("investigation", "victim", "acted_by").order_by(
        "-severity", "raised_at", "id"
    )


def case_flags(investigation: Any) -> QuerySet[Flag]:
    return (
        Flag.objects.filter(investigation=investigation, status__in=ACTIVE_STATUSES)
        .select_related("victim")
        .order_by("-severity", "raised_at")
    )
