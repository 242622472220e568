from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet

from slaverycases.accounts import roles
from slaverycases.core.compiled import CompiledQuery, Param
from slaverycases.flags.models import ACTIVE_STATUSES, SAFEGUARDING_KINDS, Flag

if TYPE_CHECKING:
    from slaverycases.accounts.models import User


def queue_for(user: User, *, kind: str = "") -> QuerySet[Flag]:
    """The user's review queue: their units' active flags, most severe and oldest first.
    Safeguarding leads see the victim-contact flags."""
    if not user.is_authenticated or user.unit_id is None:
        return Flag.objects.none()
    from investigations.models import Investigation

    # The unit's flags, read from their index (flag_unit_queue) in queue order, and those of
    # the cases the user supervises in another unit: few or none, so their ids are looked up
    # first, which leaves the common queue a plain ordered index scan. "Another unit" is two
    # ranges of inv_supervisor_unit (below and above the user's unit): `unit <> X` would read
    # every case the user supervises (40,601 in the benchmark) and mislead the planner.
    def supervised(**unit_range: int) -> QuerySet[Investigation]:
        return Investigation.objects.filter(supervisor_id=user.pk, **unit_range).order_by()

    below = supervised(unit_id__lt=user.unit_id).values_list("pk", flat=True)
    elsewhere = list(below.union(supervised(unit_id__gt=user.unit_id).values_list("pk"), all=True))
    mine = Q(unit_id=user.unit_id)
    if elsewhere:
        mine |= Q(investigation_id__in=elsewhere)
    qs = Flag.objects.filter(mine, status__in=ACTIVE_STATUSES)
    if not user.has_role(roles.SUPERVISOR):
        qs = qs.filter(kind__in=SAFEGUARDING_KINDS)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.select_related("investigation", "victim", "acted_by").order_by(
        "-severity", "raised_at", "id"
    )


_CASE_FLAGS = CompiledQuery(
    lambda: (
        Flag.objects.filter(investigation_id=Param("case"), status__in=ACTIVE_STATUSES)
        .select_related("victim")
        .order_by("-severity", "raised_at")
    )
)


def case_flags(investigation: Any) -> list[Flag]:
    """The case's active flags, most severe and oldest first (one compiled statement). Each
    flag's `investigation` is the case given, not a query per flag."""
    return _CASE_FLAGS.fetch(case=investigation.pk, known={"investigation": investigation})
