from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet

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

    # The unit's cases, and those the user supervises elsewhere: each part from its index,
    # joined to the flags as a semi-join (an OR across the join would read every case).
    cases = (
        Investigation.objects.filter(unit_id=user.unit_id)
        .order_by()
        .values("pk")
        .union(
            Investigation.objects.filter(supervisor_id=user.pk)
            .exclude(unit_id=user.unit_id)
            .order_by()
            .values("pk"),
            all=True,
        )
    )
    qs = Flag.objects.filter(status__in=ACTIVE_STATUSES, investigation_id__in=cases)
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
