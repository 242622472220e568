"""Reads for MoPI retention review (docs/decisions/0004-retention.md): which group a closed
record falls in, when it is first due for review, and which records are due.

Writes (closing sets the date, a review retains or disposes) are in investigations/actions.py.
"""

from __future__ import annotations

from datetime import date

from django.db.models import Q

from investigations.models import (
    MODERN_SLAVERY_OFFENCES,
    SEXUAL_OFFENCES,
    Investigation,
    InvestigationQuerySet,
    RetentionGroup,
    Status,
)

# Years from closure (or from the last review) to the next review, by MoPI group.
REVIEW_YEARS = {
    RetentionGroup.PUBLIC_PROTECTION: 10,
    RetentionGroup.SERIOUS: 10,
    RetentionGroup.OTHER: 6,
}
# A reviewer may set the next review at most this far ahead.
MAX_RETAIN_YEARS = 10
# "Due soon": shown beside the records due now so a force can plan its reviews.
SOON_DAYS = 90


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def offence_types(investigation: Investigation) -> set[str]:
    """The kinds of offence recorded on the case. One query."""
    return set(investigation.offences.values_list("offence_type", flat=True).distinct())


def group_for(offences: set[str]) -> RetentionGroup:
    """Group 1 when a modern slavery or sexual offence was recorded (public protection);
    group 2 when any other offence was; group 3 when no crime was recorded."""
    if offences & {*MODERN_SLAVERY_OFFENCES, *SEXUAL_OFFENCES}:
        return RetentionGroup.PUBLIC_PROTECTION
    if offences:
        return RetentionGroup.SERIOUS
    return RetentionGroup.OTHER


def retention_group(investigation: Investigation) -> RetentionGroup:
    return group_for(offence_types(investigation))


def first_review_on(investigation: Investigation, closed_on: date) -> date:
    return add_years(closed_on, REVIEW_YEARS[retention_group(investigation)])


def due_for_review(force_id: int, on: date, *, soon: bool = False) -> InvestigationQuerySet:
    """Closed records of a force due for review on `on` (or within SOON_DAYS with `soon`),
    earliest first. Uses the partial index inv_force_review_due."""
    from datetime import timedelta

    until = on + timedelta(days=SOON_DAYS) if soon else on
    return (
        Investigation.objects.filter(
            Q(force_id=force_id, status=Status.CLOSED, review_due_on__lte=until)
        )
        .select_related("unit")
        .order_by("review_due_on", "id")
    )


def forces_with_records_due(on: date) -> dict[int, int]:
    """{force id: number of records due} for every force with at least one due. One query."""
    from django.db.models import Count

    rows = (
        Investigation.objects.filter(status=Status.CLOSED, review_due_on__lte=on)
        .values("force_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {r["force_id"]: r["n"] for r in rows}
