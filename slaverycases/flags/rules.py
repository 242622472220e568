"""The flag rules. Each is one set-based query over a force's cases (optionally narrowed to some
investigations) that returns the rows that should have an active flag:

    (investigation_id, victim_id or None, severity, evidence)

Evidence holds dates and counts (never "N days ago", which would change every run), so running
a rule twice in a row gives the same rows and the reconcile step changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from django.db.models import (
    Count,
    Exists,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from investigations.models import (
    SEXUAL_OFFENCES,
    ClosureDecision,
    ClosureReview,
    Enquiry,
    ExploitationType,
    Investigation,
    InvestigationExploitation,
    Offence,
    Status,
    SupervisoryReview,
)
from safeguarding.models import Contact, Relocation, SafeguardingPlan
from slaverycases.flags.models import ACTIVE_STATUSES, Flag, FlagKind, FlagSettings, Severity
from victims.models import CustodyEvent, Disclosure, Involvement, S45Decision

Row = tuple[int, int | None, int, dict[str, Any]]
Rule = Callable[[QuerySet[Investigation], FlagSettings, datetime], Iterator[Row]]

OPEN = [s for s in Status if s != Status.CLOSED]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def delayed_start(
    cases: QuerySet[Investigation], cfg: FlagSettings, now: datetime
) -> Iterator[Row]:
    """Recorded (or reported) more than N days ago with no substantive investigative action or
    no officer in charge. Only a completed substantive enquiry stops the clock."""
    cutoff = now - timedelta(days=cfg.delayed_start_days)
    rows = (
        cases.filter(status__in=OPEN)
        .exclude(status=Status.CLOSURE_REQUESTED)
        .annotate(since=Coalesce("crime_recorded_at", "reported_at"))
        .filter(since__lt=cutoff)
        .filter(Q(started_at__isnull=True) | Q(oic__isnull=True))
        .values_list("pk", "since", "oic_id", "started_at", "crime_recorded_at")
    )
    for pk, since, oic_id, started_at, recorded_at in rows.order_by().iterator(chunk_size=5000):
        age = (now - since).days
        severity = (
            Severity.HIGH
            if age >= cfg.delayed_start_high_days
            else Severity.MEDIUM
            if age >= cfg.delayed_start_medium_days
            else Severity.LOW
        )
        yield (
            pk,
            None,
            severity,
            {
                "since": _iso(since),
                "basis": "recorded" if recorded_at else "reported",
                "no_substantive_action": started_at is None,
                "no_officer_in_charge": oic_id is None,
            },
        )


PREMATURE_CONDITIONS = {
    "victim_not_spoken_to": "a victim was never spoken to",
    "no_completed_enquiry": "no enquiry was completed",
    "victim_without_plan": "a victim has no safeguarding plan",
    "victim_without_nrm_or_ms1": "a victim has neither an NRM referral nor an MS1 notification",
    "open_unrecorded_offence_flag": "a disclosed offence is still unrecorded",
    "no_supervisor_closure_review": "no supervisor approved the closure",
    "closed_soon_after_start": "the investigation had run for under {days} days",
    # The same condition for a case that never started (no substantive enquiry completed):
    # it had no days of investigation at all (docs/decisions/0006).
    "closed_without_starting": "the investigation never started",
}


def premature_closure_candidates(
    cases: QuerySet[Investigation], cfg: FlagSettings, now: datetime
) -> QuerySet[Investigation]:
    """The cases the rule examines: closed, or closure requested, within the lookback window
    (at national scale only recent closures are actionable; older ones are left alone)."""
    since = now - timedelta(days=cfg.premature_closure_lookback_days)
    return cases.filter(
        Q(status=Status.CLOSED, closed_at__gte=since)
        | Q(status=Status.CLOSURE_REQUESTED, closure_requested_at__gte=since)
    )


def premature_closure_scope(
    cases: QuerySet[Investigation], cfg: FlagSettings, now: datetime
) -> QuerySet[Investigation]:
    """Where the rule's flags are reconciled: every case except those closed (or closure
    requested) before the lookback window, whose flags the rule no longer looks at. A reopened
    case is in it, so its flag clears."""
    since = now - timedelta(days=cfg.premature_closure_lookback_days)
    return cases.exclude(
        Q(status=Status.CLOSED, closed_at__lt=since)
        | Q(status=Status.CLOSURE_REQUESTED, closure_requested_at__lt=since)
    )


def premature_closure(
    cases: QuerySet[Investigation], cfg: FlagSettings, now: datetime
) -> Iterator[Row]:
    """Closed or closure requested (within the lookback window) while any condition of
    DESIGN.md section 7 fails."""
    involvement = Involvement.objects.filter(investigation=OuterRef("pk"))
    annotated = premature_closure_candidates(cases, cfg, now).annotate(
        c_not_spoken=Exists(involvement.filter(account_taken_at__isnull=True)),
        # An enquiry is an investigative action only when substantive (not a note, a
        # re-allocation or an admin task): the same test that starts the case's clock.
        c_no_enquiry=~Exists(
            Enquiry.objects.filter(
                investigation=OuterRef("pk"), substantive=True, completed_at__isnull=False
            )
        ),
        c_no_plan=Exists(
            involvement.filter(~Exists(SafeguardingPlan.objects.filter(victim=OuterRef("victim"))))
        ),
        # A victim's disclosed offence still unrecorded (not the case-level sexual exploitation
        # hint, which has no victim: a lower severity hint, not a disclosure).
        c_open_unrecorded=Exists(
            Flag.objects.filter(
                investigation=OuterRef("pk"),
                kind=FlagKind.UNRECORDED_LINKED_OFFENCE,
                status__in=ACTIVE_STATUSES,
                victim__isnull=False,
            )
        ),
        c_no_review=~Exists(
            ClosureReview.objects.filter(
                investigation=OuterRef("pk"), decision=ClosureDecision.APPROVED
            )
        ),
        end=Coalesce("closed_at", "closure_requested_at"),
    )
    nrm_condition = _nrm_missing_condition()
    if nrm_condition is not None:
        annotated = annotated.annotate(c_no_nrm=Exists(involvement.filter(nrm_condition)))
    fields = [
        "pk",
        "status",
        "started_at",
        "end",
        "c_not_spoken",
        "c_no_enquiry",
        "c_no_plan",
        "c_open_unrecorded",
        "c_no_review",
    ]
    if nrm_condition is not None:
        fields.append("c_no_nrm")
    for row in annotated.values(*fields).order_by().iterator(chunk_size=5000):
        failed = []
        if row["c_not_spoken"]:
            failed.append("victim_not_spoken_to")
        if row["c_no_enquiry"]:
            failed.append("no_completed_enquiry")
        if row["c_no_plan"]:
            failed.append("victim_without_plan")
        if row.get("c_no_nrm"):
            failed.append("victim_without_nrm_or_ms1")
        if row["c_open_unrecorded"]:
            failed.append("open_unrecorded_offence_flag")
        if row["status"] == Status.CLOSED and row["c_no_review"]:
            failed.append("no_supervisor_closure_review")
        started, end = row["started_at"], row["end"]
        if started is None:
            failed.append("closed_without_starting")
        elif end is not None and end - started < timedelta(days=cfg.premature_closure_days):
            failed.append("closed_soon_after_start")
        if not failed:
            continue
        severity = (
            Severity.HIGH
            if len(failed) >= 3 or "no_completed_enquiry" in failed
            else Severity.MEDIUM
        )
        yield (
            row["pk"],
            None,
            severity,
            {
                "status": row["status"],
                "failed": failed,
                "closed_or_requested_at": _iso(end),
                "started_at": _iso(started),
                "window_days": cfg.premature_closure_days,
            },
        )


def unrecorded_offence_scope(
    cases: QuerySet[Investigation], cfg: FlagSettings, now: datetime
) -> QuerySet[Investigation]:
    """Where unrecorded_linked_offence looks, and where its flags are reconciled: open cases
    and closures a supervisor can still revisit (the premature closure lookback). Closing a
    case does not record the offence: a flag on a case closed before that is left as it is,
    never "cleared" because the rule stopped looking."""
    since = now - timedelta(days=cfg.premature_closure_lookback_days)
    return cases.exclude(status=Status.CLOSED, closed_at__lt=since)


def unrecorded_linked_offence(
    cases: QuerySet[Investigation], cfg: FlagSettings, now: datetime
) -> Iterator[Row]:
    """A victim's disclosure with no offence of that type recorded for that victim after N
    hours; and, as a lower severity hint, sexual exploitation with no sexual offence."""
    cutoff = now - timedelta(hours=cfg.unrecorded_offence_hours)
    matching_offence = Offence.objects.filter(
        investigation=OuterRef("involvement__investigation"),
        victim=OuterRef("involvement__victim"),
        offence_type=OuterRef("offence_type"),
    )
    # Open cases, and recent closures: closing a case does not record the offence, so the flag
    # stays (and premature_closure reads it) for the closures a supervisor can still revisit.
    in_scope = unrecorded_offence_scope(cases, cfg, now).values("pk")
    disclosures = (
        Disclosure.objects.filter(
            involvement__investigation__in=in_scope,
            offence__isnull=True,
            disclosed_at__lt=cutoff,
        )
        .filter(~Exists(matching_offence))
        .values("involvement__investigation_id", "involvement__victim_id")
        .annotate(count=Count("pk"), first=Max("disclosed_at"))
        .order_by()
    )
    types: dict[tuple[int, int], list[str]] = {}
    for inv_id, victim_id, offence_type in (
        Disclosure.objects.filter(
            involvement__investigation__in=in_scope,
            offence__isnull=True,
            disclosed_at__lt=cutoff,
        )
        .filter(~Exists(matching_offence))
        .values_list("involvement__investigation_id", "involvement__victim_id", "offence_type")
        .order_by("offence_type")
        .iterator(chunk_size=5000)
    ):
        types.setdefault((inv_id, victim_id), []).append(offence_type)
    for row in disclosures.iterator(chunk_size=5000):
        key = (row["involvement__investigation_id"], row["involvement__victim_id"])
        yield (
            key[0],
            key[1],
            Severity.HIGH,
            {
                "disclosures": row["count"],
                "types": sorted(set(types.get(key, []))),
                "latest_disclosed_at": _iso(row["first"]),
                "hours": cfg.unrecorded_offence_hours,
            },
        )
    sexual_hint = (
        unrecorded_offence_scope(cases, cfg, now)
        .filter(
            Exists(
                InvestigationExploitation.objects.filter(
                    investigation=OuterRef("pk"), type=ExploitationType.SEXUAL
                )
            )
        )
        .filter(crime_recorded_at__lt=cutoff)
        .filter(
            ~Exists(
                Offence.objects.filter(
                    investigation=OuterRef("pk"), offence_type__in=SEXUAL_OFFENCES
                )
            )
        )
        .values_list("pk", "crime_recorded_at")
    )
    for pk, recorded_at in sexual_hint.order_by().iterator(chunk_size=5000):
        yield (
            pk,
            None,
            Severity.LOW,
            {"sexual_exploitation_no_sexual_offence": True, "recorded_at": _iso(recorded_at)},
        )


def _victim_case(outer: str = "pk") -> Subquery:
    """The victim's most recent open case (or most recent case): where victim flags live."""
    return Subquery(
        Involvement.objects.filter(victim=OuterRef(outer))
        .order_by(F("investigation__closed_at").desc(nulls_first=True), "-identified_at", "-id")
        .values("investigation_id")[:1]
    )


def victim_contact_overdue(
    cases: QuerySet[Investigation], cfg: FlagSettings, now: datetime
) -> Iterator[Row]:
    """The next contact due has passed (or a plan exists and no contact was ever made within
    its frequency)."""
    from victims.models import Victim

    today = timezone.localdate(now)
    latest = Contact.objects.filter(victim=OuterRef("pk")).order_by("-at", "-id")
    open_cases = cases.filter(status__in=OPEN).values("pk")
    rows = (
        # Only victims of the scope's open cases can have their flag case there.
        Victim.objects.filter(
            pk__in=Involvement.objects.filter(investigation__in=open_cases).values("victim_id")
        )
        .annotate(
            case_id=_victim_case(),
            next_due=Subquery(latest.values("next_contact_due")[:1]),
            last_at=Subquery(latest.filter(made=True).values("at")[:1]),
        )
        .filter(case_id__in=open_cases)
        .filter(Q(next_due__lt=today) | Q(next_due__isnull=True, safeguarding_plan__isnull=False))
        .values_list(
            "pk",
            "case_id",
            "next_due",
            "last_at",
            # The plan's first setting, not its last edit: an edit does not move the first
            # contact's date on.
            Coalesce("safeguarding_plan__created_at", "safeguarding_plan__updated_at"),
            "safeguarding_plan__contact_every_days",
        )
    )
    for victim_id, case_id, next_due, last_at, planned_at, every in rows.order_by().iterator(
        chunk_size=5000
    ):
        if next_due is None and planned_at + timedelta(days=every) >= now:
            continue  # a new plan: the first contact is not due yet
        overdue_days = (today - next_due).days if next_due else None
        severity = Severity.HIGH if overdue_days is None or overdue_days > 14 else Severity.MEDIUM
        yield (
            case_id,
            victim_id,
            severity,
            {"next_contact_due": _iso(next_due), "last_contact_at": _iso(last_at)},
        )


def relocated_victim_no_contact(
    cases: QuerySet[Investigation], cfg: FlagSettings, now: datetime
) -> Iterator[Row]:
    """Relocated, and no contact made since, after the agreed number of days. The move has a
    date, not a time: a contact made on a later (local) date than the move counts, however late
    the move was recorded; one made on the day of the move counts only once the move had been
    recorded (before that, it may have been made before the victim moved)."""
    contact_since = Contact.objects.filter(victim=OuterRef("victim"), made=True).filter(
        Q(at__date__gt=OuterRef("relocated_on")) | Q(at__gt=OuterRef("recorded_at"))
    )
    latest_relocation = Relocation.objects.filter(victim=OuterRef("victim")).order_by(
        "-recorded_at", "-id"
    )
    today = timezone.localdate(now)
    open_cases = cases.filter(status__in=OPEN).values("pk")
    rows = (
        Relocation.objects.filter(
            victim__in=Involvement.objects.filter(investigation__in=open_cases).values("victim_id")
        )
        .filter(pk=Subquery(latest_relocation.values("pk")[:1]))
        .filter(~Exists(contact_since))
        .annotate(case_id=_victim_case("victim"))
        .filter(case_id__in=open_cases)
        .values_list(
            "victim_id", "case_id", "relocated_on", "first_contact_within_days", "to_force__name"
        )
    )
    for victim_id, case_id, moved, within, to_force in rows.order_by().iterator(chunk_size=5000):
        if (today - moved).days <= within:
            continue
        yield (
            case_id,
            victim_id,
            Severity.HIGH,
            {"relocated_on": _iso(moved), "within_days": within, "to_force": to_force},
        )


def victim_criminalised(
    cases: QuerySet[Investigation], cfg: FlagSettings, now: datetime
) -> Iterator[Row]:
    """A victim arrested or charged with no section 45 / non-punishment consideration."""
    rows = (
        CustodyEvent.objects.filter(
            investigation__in=cases.values("pk"), s45_decision=S45Decision.NOT_CONSIDERED
        )
        .values("investigation_id", "victim_id")
        .annotate(count=Count("pk"), latest=Max("occurred_at"))
        .order_by()
    )
    for row in rows.iterator(chunk_size=5000):
        yield (
            row["investigation_id"],
            row["victim_id"],
            Severity.HIGH,
            {"custody_events": row["count"], "latest_at": _iso(row["latest"])},
        )


def supervision_overdue(
    cases: QuerySet[Investigation], cfg: FlagSettings, now: datetime
) -> Iterator[Row]:
    """An open, allocated investigation with no supervisory review for N days (or past the
    next review date the supervisor set)."""
    cutoff = now - timedelta(days=cfg.supervision_days)
    last = SupervisoryReview.objects.filter(investigation=OuterRef("pk")).order_by(
        "-reviewed_at", "-id"
    )
    rows = (
        cases.filter(status__in=[Status.ALLOCATED, Status.UNDER_INVESTIGATION])
        .annotate(
            last_review=Subquery(last.values("reviewed_at")[:1]),
            next_due=Subquery(last.values("next_review_due")[:1]),
        )
        .filter(
            Q(last_review__isnull=True, allocated_at__lt=cutoff)
            | Q(last_review__lt=cutoff)
            | Q(next_due__lt=timezone.localdate(now))
        )
        .values_list("pk", "last_review", "allocated_at", "next_due")
    )
    for pk, last_review, allocated_at, next_due in rows.order_by().iterator(chunk_size=5000):
        yield (
            pk,
            None,
            Severity.MEDIUM,
            {
                "last_review_at": _iso(last_review),
                "allocated_at": _iso(allocated_at),
                "next_review_due": _iso(next_due),
                "days": cfg.supervision_days,
            },
        )


def _nrm_missing_condition() -> Q | None:
    """Involvement filter: the victim has neither an NRM referral nor an MS1 (once the
    referrals app provides them)."""
    try:
        from referrals.models import DutyToNotify, NrmReferral
    except ImportError:
        return None
    return ~Exists(NrmReferral.objects.filter(victim=OuterRef("victim"))) & ~Exists(
        DutyToNotify.objects.filter(victim=OuterRef("victim"))
    )


def nrm_not_considered(
    cases: QuerySet[Investigation], cfg: FlagSettings, now: datetime
) -> Iterator[Row]:
    """A victim identified more than N days ago with neither an NRM referral nor an MS1."""
    condition = _nrm_missing_condition()
    if condition is None:
        return
    rows = (
        Involvement.objects.filter(
            investigation__in=cases.filter(status__in=OPEN).values("pk"),
            identified_at__lt=now - timedelta(days=cfg.nrm_consider_days),
        )
        .filter(condition)
        .values_list("investigation_id", "victim_id", "identified_at")
    )
    for case_id, victim_id, identified_at in rows.order_by().iterator(chunk_size=5000):
        yield (
            case_id,
            victim_id,
            Severity.HIGH,
            {"identified_at": _iso(identified_at), "days": cfg.nrm_consider_days},
        )


def nrm_decision_overdue(
    cases: QuerySet[Investigation], cfg: FlagSettings, now: datetime
) -> Iterator[Row]:
    """An NRM referral with no reasonable grounds decision after N days."""
    from referrals.models import Decision, NrmReferral

    rows = (
        NrmReferral.objects.filter(
            investigation__in=cases.values("pk"),
            rg_decision=Decision.PENDING,
            submitted_on__lt=timezone.localdate(now) - timedelta(days=cfg.nrm_decision_days),
        )
        .values("investigation_id", "victim_id")
        .annotate(first=Max("submitted_on"))
        .order_by()
    )
    for row in rows.iterator(chunk_size=5000):
        yield (
            row["investigation_id"],
            row["victim_id"],
            Severity.MEDIUM,
            {"submitted_at": _iso(row["first"]), "days": cfg.nrm_decision_days},
        )


# Rules whose flags are reconciled over a narrower set of cases than the scan's scope.
RECONCILE_SCOPES: dict[str, Callable[..., QuerySet[Investigation]]] = {
    FlagKind.PREMATURE_CLOSURE: premature_closure_scope,
    FlagKind.UNRECORDED_LINKED_OFFENCE: unrecorded_offence_scope,
}

# Evidence keys whose value moves on when a new occurrence of a rule's condition is recorded
# while the condition still holds (a later custody event without a section 45 consideration,
# another disclosure, a new relocation or referral, a later contact or review date missed).
# A dismissed flag silences its rule only for what it was raised on: a row whose value for one
# of these keys is later (dates and datetimes) or larger (counts) than the dismissed flag's
# opens a new flag. Values must be numbers or ISO dates/datetimes (or null). See ADR 0006.
OCCURRENCE_KEYS: dict[str, tuple[str, ...]] = {
    FlagKind.UNRECORDED_LINKED_OFFENCE: ("disclosures", "latest_disclosed_at"),
    FlagKind.VICTIM_CONTACT_OVERDUE: ("next_contact_due",),
    FlagKind.RELOCATED_VICTIM_NO_CONTACT: ("relocated_on",),
    FlagKind.VICTIM_CRIMINALISED: ("custody_events", "latest_at"),
    FlagKind.SUPERVISION_OVERDUE: ("last_review_at", "next_review_due"),
    FlagKind.NRM_DECISION_OVERDUE: ("submitted_at",),
}

RULES: dict[str, Rule] = {
    FlagKind.DELAYED_START: delayed_start,
    FlagKind.UNRECORDED_LINKED_OFFENCE: unrecorded_linked_offence,
    FlagKind.PREMATURE_CLOSURE: premature_closure,  # after unrecorded: it reads those flags
    FlagKind.VICTIM_CONTACT_OVERDUE: victim_contact_overdue,
    FlagKind.RELOCATED_VICTIM_NO_CONTACT: relocated_victim_no_contact,
    FlagKind.VICTIM_CRIMINALISED: victim_criminalised,
    FlagKind.SUPERVISION_OVERDUE: supervision_overdue,
    FlagKind.NRM_NOT_CONSIDERED: nrm_not_considered,
    FlagKind.NRM_DECISION_OVERDUE: nrm_decision_overdue,
}
