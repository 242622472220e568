"""Every read behind the dashboards and the force statistics.

Each figure is one aggregate SQL query (Count / Max with filters, values().annotate() groups,
Case/When buckets, PostgreSQL's percentile_cont for the median), so a page runs a fixed number
of queries whatever the number of cases. Nothing here loops over rows in Python: the lists a
dashboard shows are sliced in SQL and the figures come back already counted.

The investigations counted are always a queryset the caller got from
`slaverycases.dashboards.access.statistics_base(user)` (or a filter of it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import (
    Aggregate,
    Case,
    CharField,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Lower, Trim
from django.utils import timezone

from investigations.models import (
    MODERN_SLAVERY_OFFENCES,
    OPEN_STATUSES,
    ClosureDecision,
    ClosureReview,
    Enquiry,
    Investigation,
    InvestigationExploitation,
    Offence,
    Status,
    SupervisoryReview,
)
from investigations.querysets import EqualsAny, sees_cases
from referrals.models import NrmReferral
from safeguarding.models import Contact
from safeguarding.querysets import board_victims, relocations_awaiting_contact
from slaverycases.flags.models import (
    ACTIVE_STATUSES,
    Flag,
    FlagKind,
    FlagSettings,
    FlagStatus,
    Severity,
)
from victims.models import Involvement, Victim

if TYPE_CHECKING:
    from slaverycases.accounts.models import User

LIST_SIZE = 20  # rows of a dashboard list; the full count is shown beside it
DEFAULT_SUPERVISION_DAYS = 28
ONE_DAY = timedelta(days=1)

# Report to first substantive action: (key, label, shorter than this many days).
START_BUCKETS: list[tuple[str, str, int | None]] = [
    ("under_1", "Under 1 day", 1),
    ("1_7", "1 to 7 days", 8),
    ("8_28", "8 to 28 days", 29),
    ("29_90", "29 to 90 days", 91),
    ("over_90", "Over 90 days", None),
]
NOT_STARTED = ("not_started", "Not started yet")

# Age of an open flag: (column of open_flags_by_kind, label).
FLAG_AGES = [
    ("under_7", "Under 7 days"),
    ("from_7_to_28", "7 to 28 days"),
    ("over_28", "Over 28 days"),
]


# --- the period ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole days, both ends included, in the service's time zone."""

    start: date
    end: date

    @property
    def start_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.start, time.min))

    @property
    def end_at(self) -> datetime:
        """The first moment after the period."""
        return timezone.make_aware(datetime.combine(self.end + ONE_DAY, time.min))

    @property
    def label(self) -> str:
        return f"{self.start:%-d %B %Y} to {self.end:%-d %B %Y}"

    @property
    def slug(self) -> str:
        return f"{self.start:%Y-%m-%d}_{self.end:%Y-%m-%d}"

    def at(self, field: str) -> Q:
        """`field` (a date-time) falls in the period."""
        return Q(**{f"{field}__gte": self.start_at, f"{field}__lt": self.end_at})

    def on(self, field: str) -> Q:
        """`field` (a date) falls in the period."""
        return Q(**{f"{field}__gte": self.start, f"{field}__lte": self.end})

    @classmethod
    def last_12_months(cls, today: date) -> Period:
        try:
            start = today.replace(year=today.year - 1) + ONE_DAY
        except ValueError:  # 29 February
            start = today.replace(year=today.year - 1, day=28) + ONE_DAY
        return cls(start, today)


def _counts(rows: Any, key: str, value: str = "n") -> dict[Any, int]:
    """A grouped query's rows as {group: count} (one row per group, a handful at most)."""
    return {row[key]: row[value] for row in rows}


# --- the median -------------------------------------------------------------------------


class Median(Aggregate):
    """PostgreSQL's percentile_cont(0.5): the median, interpolated between the middle two."""

    function = "PERCENTILE_CONT"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    allow_distinct = False


def _duration_to_start() -> ExpressionWrapper:
    return ExpressionWrapper(F("started_at") - F("reported_at"), output_field=DurationField())


def median_time_to_start(started: QuerySet[Investigation], count: int) -> timedelta | None:
    """The median of started_at - reported_at over `started` (cases with a start), whose size
    the caller already counted. One query on PostgreSQL (percentile_cont); elsewhere (SQLite)
    one query that sorts the durations in SQL and reads the middle one or two with OFFSET."""
    if count == 0:
        return None
    if connection.vendor == "postgresql":
        result = started.aggregate(
            median=Median(_duration_to_start(), output_field=DurationField())
        )
        return result["median"]
    durations = (
        started.annotate(duration=_duration_to_start())
        .order_by("duration", "pk")
        .values_list("duration", flat=True)
    )
    if count % 2:
        return durations[count // 2]
    low, high = list(durations[count // 2 - 1 : count // 2 + 1])
    return (low + high) / 2


# --- force statistics -------------------------------------------------------------------


def crimes_recorded(cases: QuerySet[Investigation], period: Period) -> dict[str, int]:
    """Modern slavery crimes (MSA 2015 s1, s2, s4; one per victim) recorded in the period, by
    offence type. The crime recorded for a report before anyone was identified (no victim)
    counts only while its case has no victim's crime: once victims are identified, each
    victim's crime is the case's count (the Home Office Counting Rules)."""
    victims_crime = Offence.objects.filter(
        investigation=OuterRef("investigation"),
        victim__isnull=False,
        offence_type__in=MODERN_SLAVERY_OFFENCES,
    )
    rows = (
        Offence.objects.filter(
            period.at("recorded_at"),
            Q(victim__isnull=False) | ~Exists(victims_crime),
            investigation__in=cases,
            offence_type__in=MODERN_SLAVERY_OFFENCES,
        )
        .values("offence_type")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return _counts(rows, "offence_type")


def nrm_referrals(cases: QuerySet[Investigation], period: Period) -> dict[str, int]:
    """NRM referrals submitted in the period, by their link to a crime: "crime" (linked to a
    recorded modern slavery crime), an N200 non-crime code, or "" (neither yet)."""
    rows = (
        NrmReferral.objects.filter(period.on("submitted_on"), investigation__in=cases)
        .annotate(
            link=Case(
                When(linked_offence__isnull=False, then=Value("crime")),
                default=F("non_crime_reason"),
                output_field=CharField(),
            )
        )
        .values("link")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return _counts(rows, "link")


def time_to_start(
    cases: QuerySet[Investigation], period: Period
) -> tuple[dict[str, int], timedelta | None]:
    """For the cases reported in the period: how long from the report to the first substantive
    action (started_at - reported_at), in buckets (Case/When in SQL), and the median."""
    cohort = cases.filter(period.at("reported_at"))
    whens = [When(started_at__isnull=True, then=Value(NOT_STARTED[0]))]
    for key, _label, below in START_BUCKETS:
        if below is None:
            whens.append(When(started_at__isnull=False, then=Value(key)))
        else:
            limit = ExpressionWrapper(
                F("reported_at") + timedelta(days=below), output_field=DateTimeField()
            )
            whens.append(When(started_at__lt=limit, then=Value(key)))
    rows = (
        cohort.annotate(bucket=Case(*whens, output_field=CharField()))
        .values("bucket")
        .annotate(n=Count("pk"))
        .order_by()
    )
    buckets = _counts(rows, "bucket")
    started = sum(n for key, n in buckets.items() if key != NOT_STARTED[0])
    median = median_time_to_start(cohort.filter(started_at__isnull=False), started)
    return buckets, median


def closures(cases: QuerySet[Investigation], period: Period) -> dict[str, int]:
    """Investigations closed in the period, by outcome."""
    rows = (
        cases.filter(period.at("closed_at"), status=Status.CLOSED)
        .values("outcome")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return _counts(rows, "outcome")


def premature_closure_flags(cases: QuerySet[Investigation], period: Period) -> dict[str, int]:
    """Premature-closure flags raised on the closures of the period (open, acknowledged or
    resolved; a dismissed flag was judged raised in error), and how many of those closures
    carry one. A flag raised on an earlier request that was rejected, or on a closure since
    reopened, belongs to that request, not to this closure: only flags raised from the closing
    request on count."""
    closed = cases.filter(period.at("closed_at"), status=Status.CLOSED)
    return (
        Flag.objects.filter(
            kind=FlagKind.PREMATURE_CLOSURE,
            investigation__in=closed,
            raised_at__gte=F("investigation__closure_requested_at"),
        )
        .exclude(status=FlagStatus.DISMISSED)
        .aggregate(flags=Count("pk"), closures=Count("investigation", distinct=True))
    )


def victims_contact_overdue(cases: QuerySet[Investigation], at: datetime) -> dict[str, int]:
    """Victims in the cases who have a safeguarding plan (`with_plan`), and how many of them
    (`overdue`) had, at `at`, gone longer than their plan's contact frequency without contact
    being made (counted from the plan when no contact was ever made)."""
    last_made = (
        Contact.objects.filter(victim=OuterRef("pk"), made=True, at__lte=at)
        .order_by("-at")
        .values("at")[:1]
    )
    days = ExpressionWrapper(
        F("safeguarding_plan__contact_every_days"), output_field=IntegerField()
    )
    every = ExpressionWrapper(days * ONE_DAY, output_field=DurationField())
    due_before = ExpressionWrapper(Value(at) - every, output_field=DateTimeField())
    return (
        Victim.objects.filter(
            Exists(Involvement.objects.filter(victim=OuterRef("pk"), investigation__in=cases)),
            safeguarding_plan__isnull=False,
        )
        .annotate(
            anchor=Coalesce(
                Subquery(last_made),
                F("safeguarding_plan__created_at"),
                F("safeguarding_plan__updated_at"),
            )
        )
        .aggregate(with_plan=Count("pk"), overdue=Count("pk", filter=Q(anchor__lt=due_before)))
    )


def exploitation_types(cases: QuerySet[Investigation], period: Period) -> dict[str, int]:
    """Types of exploitation in the cases reported in the period (a case may have several)."""
    rows = (
        InvestigationExploitation.objects.filter(
            investigation__in=cases.filter(period.at("reported_at"))
        )
        .values("type")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return _counts(rows, "type")


def nationalities(cases: QuerySet[Investigation], period: Period) -> list[dict[str, Any]]:
    """Victims identified in the period, by nationality as typed (case and spaces ignored),
    most first. Each row: label, n."""
    return list(
        Involvement.objects.filter(period.at("identified_at"), investigation__in=cases)
        # No parameter in the grouped expression: with server-side binding PostgreSQL would see
        # the SELECT's and the GROUP BY's parameters as two different expressions.
        .annotate(key=Lower(Trim("victim__nationality")))
        .values("key")
        .annotate(label=Max(Trim("victim__nationality")), n=Count("victim", distinct=True))
        .order_by("-n", "key")
        .values("label", "n")
    )


def investigations_by_status(cases: QuerySet[Investigation]) -> dict[str, int]:
    rows = cases.values("status").annotate(n=Count("pk")).order_by()
    return _counts(rows, "status")


def open_flags_by_kind(cases: QuerySet[Investigation], now: datetime) -> list[dict[str, Any]]:
    """Active flags on the cases, per kind, and by age in whole days: under 7, 7 to 28, over 28
    (Count with filters: one query)."""
    flags = Flag.objects.filter(status__in=ACTIVE_STATUSES, investigation__in=cases)
    return flags_by_kind(flags, now)


def supervisor_flags_by_kind(user: User, now: datetime) -> list[dict[str, Any]]:
    """open_flags_by_kind for the supervisor's cases: their review queue's flags, read by unit
    from the queue's index rather than through the cases."""
    from slaverycases.flags.querysets import queue_for

    return flags_by_kind(queue_for(user), now)


def flags_by_kind(flags: QuerySet[Flag], now: datetime) -> list[dict[str, Any]]:
    week_ago, month_ago = now - timedelta(days=7), now - timedelta(days=29)
    return list(
        flags.order_by()
        .values("kind")
        .annotate(
            total=Count("pk"),
            high=Count("pk", filter=Q(severity=Severity.HIGH)),
            under_7=Count("pk", filter=Q(raised_at__gt=week_ago)),
            from_7_to_28=Count("pk", filter=Q(raised_at__lte=week_ago, raised_at__gt=month_ago)),
            over_28=Count("pk", filter=Q(raised_at__lte=month_ago)),
        )
        .order_by("-total", "kind")
    )


# --- dashboards: the officer ------------------------------------------------------------


def _runs(user: User) -> QuerySet[Investigation]:
    """The cases the user runs as officer in charge: always among those they may see (see
    Investigation.visible_to), so read by the officer's index alone, not through the
    visibility condition."""
    if not sees_cases(user):
        return Investigation.objects.none()
    return Investigation.objects.filter(oic_id=user.pk)


def officer_cases(user: User) -> QuerySet[Investigation]:
    """The open cases the user runs as officer in charge, oldest report first, with their
    active flag count."""
    return (
        _runs(user)
        .filter(status__in=OPEN_STATUSES)
        .annotate(active_flags=Count("flags", filter=Q(flags__status__in=ACTIVE_STATUSES)))
        .order_by("reported_at", "pk")
    )


def officer_tasks(user: User) -> QuerySet[Enquiry]:
    """The user's open enquiries on open cases they may see, by due date (undated last)."""
    open_cases = Investigation.objects.visible_to(user).filter(status__in=OPEN_STATUSES)
    return (
        Enquiry.objects.filter(
            owner_id=user.pk, completed_at__isnull=True, investigation__in=open_cases
        )
        .select_related("investigation")
        .order_by(F("due_date").asc(nulls_last=True), "created_at", "pk")
    )


def officer_task_counts(user: User, today: date) -> dict[str, int]:
    return officer_tasks(user).aggregate(
        total=Count("pk"), overdue=Count("pk", filter=Q(due_date__lt=today))
    )


def officer_flags(user: User) -> QuerySet[Flag]:
    """Active flags on the cases the user runs. On PostgreSQL the cases' ids come first (an
    array), then each case's active flags by the flags' (case, status) index: as many lookups
    as the officer has cases. `IN (cases)` hashed the cases and read every active flag in the
    country (179,256 at 1M: 35-64 ms a dashboard, growing with the country's flags)."""
    runs = _runs(user).order_by().values("pk")
    if connection.vendor == "postgresql":
        of_cases = Q(EqualsAny(F("investigation_id"), ArraySubquery(runs)))
    else:
        of_cases = Q(investigation__in=runs)
    return (
        Flag.objects.filter(of_cases, status__in=ACTIVE_STATUSES)
        .select_related("investigation", "victim")
        .order_by("-severity", "raised_at", "pk")
    )


# --- dashboards: the supervisor ---------------------------------------------------------


def supervised_cases(user: User) -> QuerySet[Investigation]:
    """The supervisor's units' cases: their unit's and those they supervise (not cases merely
    shared with them)."""
    own = Q(supervisor_id=user.pk)
    if user.unit_id:
        own |= Q(unit_id=user.unit_id)
    # Both are among the cases the user may see (Investigation.visible_to): read from their own
    # indexes, not through the visibility condition.
    if not sees_cases(user):
        return Investigation.objects.none()
    return Investigation.objects.filter(own)


def closures_awaiting_review(
    cases: QuerySet[Investigation], reviewer: User | None = None
) -> QuerySet[ClosureReview]:
    """The pending closure reviews of these cases: of their cases whose closure is requested
    (closure_request sets the status with the review; approving or rejecting it needs that
    status). Read from those cases (402 in the benchmark's unit, by the unit's and the
    supervisor's status indexes) rather than testing each of the country's pending reviews
    against the cases (5,204 at 1M: 37 ms, twice a supervisor's dashboard)."""
    requested = cases.filter(status=Status.CLOSURE_REQUESTED)
    pending = ClosureReview.objects.filter(
        decision=ClosureDecision.PENDING, investigation__in=requested
    )
    if reviewer is not None:  # another supervisor reviews the closures this one asked for
        pending = pending.exclude(requested_by=reviewer)
    return pending.select_related("investigation", "requested_by").order_by("requested_at", "pk")


def supervision_days(user: User) -> int:
    """The force's supervision threshold (the supervision_overdue flag's), 28 days unless the
    force admin changed it."""
    days = (
        FlagSettings.objects.filter(force_id=user.force_id)
        .values_list("supervision_days", flat=True)
        .first()
    )
    return days or DEFAULT_SUPERVISION_DAYS


def without_recent_review(
    cases: QuerySet[Investigation], now: datetime, days: int
) -> QuerySet[Investigation]:
    """Open cases with no supervisory review in the last `days` days, longest unreviewed
    first."""
    recent = SupervisoryReview.objects.filter(
        investigation=OuterRef("pk"), reviewed_at__gte=now - timedelta(days=days)
    )
    last = (
        SupervisoryReview.objects.filter(investigation=OuterRef("pk"))
        .order_by("-reviewed_at")
        .values("reviewed_at")[:1]
    )
    return (
        cases.filter(status__in=OPEN_STATUSES)
        .filter(~Exists(recent))
        .annotate(last_review_at=Subquery(last))
        .select_related("oic")
        .order_by(F("last_review_at").asc(nulls_first=True), "reported_at", "pk")
    )


def caseload(cases: QuerySet[Investigation]) -> list[dict[str, Any]]:
    """Open cases per officer in charge (unallocated ones together), most first."""
    return list(
        cases.filter(status__in=OPEN_STATUSES)
        .values("oic_id", "oic__first_name", "oic__last_name", "oic__username")
        .annotate(
            open=Count("pk"),
            not_started=Count("pk", filter=Q(started_at__isnull=True)),
            closure_requested=Count("pk", filter=Q(status=Status.CLOSURE_REQUESTED)),
        )
        .order_by("-open", "oic__last_name", "oic__first_name", "oic_id")
    )


# --- dashboards: the safeguarding lead --------------------------------------------------


def overdue_contacts(user: User, today: date) -> QuerySet[Victim]:
    """The board's victims whose next contact due date has passed (safeguarding.querysets)."""
    return board_victims(user).filter(next_contact_due__lt=today)


def relocations_without_contact(user: User) -> QuerySet[Any]:
    return relocations_awaiting_contact(user)
