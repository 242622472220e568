"""slaverycases/flags/rules.py: for each rule, the case that must raise it, the nearest case
that must not, the change that clears it (resolved after the next scan, with a "Flag cleared"
event on the timeline), and the force's thresholds (FlagSettings) that it follows.

Data is built through the real actions at a frozen time; the clock is then moved forward and
`scan(force=..., now=...)` is called directly, so every run is deterministic. The NRM rules
(nrm_not_considered, nrm_decision_overdue) and the premature-closure condition
"victim_without_nrm_or_ms1" belong to the referrals app and are not asserted here."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from investigations import actions as case_actions
from investigations.models import (
    ClosureReview,
    Investigation,
    OffenceType,
    TimelineEvent,
    TimelineKind,
)
from safeguarding import actions as safeguarding_actions
from slaverycases.accounts.models import Force, User
from slaverycases.flags import actions
from slaverycases.flags.models import (
    ACTIVE_STATUSES,
    Flag,
    FlagKind,
    FlagRun,
    FlagSettings,
    FlagStatus,
    Severity,
)
from tests import factories
from victims import actions as victim_actions
from victims.models import CustodyEvent, Involvement, S45Decision, Victim

pytestmark = pytest.mark.django_db

# A winter Monday at noon: far from midnight and from the clocks changing.
T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
NRM_CONDITION = "victim_without_nrm_or_ms1"  # only there once referrals.models imports
LABELS = dict(FlagKind.choices)
_refs = itertools.count(1)


# --- helpers (tests/flags/test_reconcile.py, test_tasks.py and test_views.py use them too) ----


def frozen_clock() -> Iterator[Any]:
    """Freeze time at T0; `clock.move_to(...)` moves it on (data is created first, because the
    actions refuse dates in the future)."""
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def clock() -> Iterator[Any]:
    yield from frozen_clock()


def scan_now(force: Force, **kwargs: Any) -> FlagRun:
    return actions.scan(force=force, now=timezone.now(), **kwargs)


def scan_at(clock: Any, force: Force, when: datetime, **kwargs: Any) -> FlagRun:
    clock.move_to(when)
    return scan_now(force, **kwargs)


def active(kind: str, inv: Investigation, victim: Victim | None = None) -> Flag | None:
    """The one active flag of `kind` on the case (for the victim), or None."""
    found = list(
        Flag.objects.filter(
            kind=kind,
            investigation=inv,
            victim_key=victim.pk if victim else 0,
            status__in=ACTIVE_STATUSES,
        )
    )
    assert len(found) <= 1, found
    return found[0] if found else None


def flag_rows(kind: str, inv: Investigation) -> list[Flag]:
    return list(Flag.objects.filter(kind=kind, investigation=inv).order_by("id"))


def timeline_texts(inv: Investigation) -> list[str]:
    return list(
        TimelineEvent.objects.filter(investigation=inv, kind=TimelineKind.FLAG)
        .order_by("at", "id")
        .values_list("text", flat=True)
    )


def assert_cleared(flag: Flag, inv: Investigation, when: datetime) -> None:
    """The flag was resolved by the scan at `when`, and the case's timeline says so."""
    flag.refresh_from_db()
    assert flag.status == FlagStatus.RESOLVED
    assert flag.resolved_at == when
    assert flag.acted_by is None  # resolved by the rules, not by a person
    assert active(flag.kind, inv, flag.victim) is None
    assert f"Flag cleared: {LABELS[flag.kind]}" in timeline_texts(inv)


def thresholds(force: Force, **values: int) -> FlagSettings:
    cfg, _ = FlagSettings.objects.update_or_create(force=force, defaults=values)
    return cfg


def add_victim(
    inv: Investigation, actor: User, name: str = "Andrei Ionescu", **person: Any
) -> Involvement:
    (involvement,) = victim_actions.victims_add_to_investigation(
        inv,
        actor=actor,
        people=[{"name": name, "crime_reference": f"CR/V{next(_refs):05d}", **person}],
        identified_at=timezone.now() - timedelta(hours=1),
        offence_type=OffenceType.MSA_S2,
    )
    return involvement


def take_account(involvement: Involvement, actor: User) -> None:
    victim_actions.involvement_record_account(
        involvement,
        actor=actor,
        taken_at=timezone.now(),
        interpreter_used=False,
        interpreter_language="",
        summary="Worked 14 hours a day for no pay.",
        indicators=["wages"],
    )


def save_plan(victim: Victim, lead: User, every: int = 7) -> None:
    safeguarding_actions.plan_save(
        victim,
        actor=lead,
        expected_version=None,
        lead=lead,
        risk_level="high",
        risks=["retrafficking"],
        measures=["safe_house"],
        contact_every_days=every,
        review_date=timezone.localdate() + timedelta(days=28),
    )


def contact(victim: Victim, actor: User, *, made: bool = True, next_in_days: int = 7) -> None:
    now = timezone.now()
    safeguarding_actions.contact_record(
        victim,
        actor=actor,
        at=now,
        method="phone",
        made=made,
        interpreter_used=False,
        notes="",
        next_contact_due=timezone.localdate(now) + timedelta(days=next_in_days),
    )


def complete_enquiry(
    inv: Investigation, actor: User, *, substantive: bool = True, description: str = ""
) -> None:
    enquiry = case_actions.enquiry_add(
        inv,
        actor=actor,
        description=description or ("House-to-house" if substantive else "Update the file"),
        substantive=substantive,
        owner=actor,
    )
    case_actions.enquiry_complete(
        enquiry, actor=actor, completed_at=timezone.now() - timedelta(minutes=5), result="Done"
    )


def close(inv: Investigation, officer: User, supervisor: User) -> Investigation:
    inv.refresh_from_db()
    case_actions.closure_request(
        inv,
        actor=officer,
        expected_version=inv.version,
        proposed_outcome="charged",
        proposed_nfa_reason="",
        rationale="Suspect charged.",
    )
    inv.refresh_from_db()
    case_actions.closure_approve(
        inv, actor=supervisor, expected_version=inv.version, rationale="Agreed."
    )
    inv.refresh_from_db()
    return inv


def criminalise(victim: Victim, inv: Investigation, actor: User, decision: str = "") -> None:
    victim_actions.custody_event_record(
        victim,
        investigation=inv,
        actor=actor,
        kind="arrested",
        offence="Cannabis cultivation",
        occurred_at=timezone.now() - timedelta(hours=2),
        s45_decision=decision or S45Decision.NOT_CONSIDERED,
        s45_rationale="Compelled to tend the farm." if decision else "",
    )


def failed_conditions(flag: Flag) -> list[str]:
    return [c for c in flag.evidence["failed"] if c != NRM_CONDITION]


@pytest.fixture
def gmp(people) -> Force:
    return people["officer.gmp"].force


# --- delayed_start ----------------------------------------------------------------------------


def test_delayed_start_after_seven_days_not_before(clock, gmp, officer, supervisor):
    six = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=6)
    eight = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=8)

    run = scan_now(gmp)

    assert active(FlagKind.DELAYED_START, six) is None
    flag = active(FlagKind.DELAYED_START, eight)
    assert flag is not None
    assert flag.severity == Severity.LOW
    assert flag.victim is None and flag.victim_key == 0
    assert flag.raised_at == T0
    assert flag.evidence == {
        "since": eight.crime_recorded_at.isoformat(),
        "basis": "recorded",
        "no_substantive_action": True,
        "no_officer_in_charge": False,
    }
    assert run.opened[FlagKind.DELAYED_START] == 1
    assert run.error == "" and run.finished_at is not None
    assert timeline_texts(eight) == ["Flag raised: Delayed start (low)"]


def test_delayed_start_counts_from_the_report_when_no_crime_is_recorded(clock, gmp, officer):
    inv = factories.investigation(officer, stage="reported", days_ago=8)
    scan_now(gmp)
    flag = active(FlagKind.DELAYED_START, inv)
    assert flag is not None
    assert flag.evidence == {
        "since": inv.reported_at.isoformat(),
        "basis": "reported",
        "no_substantive_action": True,
        "no_officer_in_charge": True,
    }


def test_delayed_start_severity_rises_at_28_and_90_days(clock, gmp, officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=1)
    since = inv.crime_recorded_at
    steps = [
        (timedelta(days=7) - timedelta(hours=1), None),
        (timedelta(days=7, hours=1), Severity.LOW),
        (timedelta(days=28) - timedelta(hours=1), Severity.LOW),
        (timedelta(days=28, hours=1), Severity.MEDIUM),
        (timedelta(days=90) - timedelta(hours=1), Severity.MEDIUM),
        (timedelta(days=90, hours=1), Severity.HIGH),
    ]
    pks = set()
    for after, severity in steps:
        scan_at(clock, gmp, since + after)
        flag = active(FlagKind.DELAYED_START, inv)
        assert (flag.severity if flag else None) == severity, after
        if flag:
            pks.add(flag.pk)
    # One flag all along, raised once: its severity is refreshed in place.
    assert len(pks) == 1
    assert len(flag_rows(FlagKind.DELAYED_START, inv)) == 1
    assert [t for t in timeline_texts(inv) if "Delayed start" in t] == [
        "Flag raised: Delayed start (low)"
    ]


def test_a_non_substantive_enquiry_or_a_reallocation_does_not_stop_the_clock(
    clock, gmp, officer, supervisor
):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=8)
    scan_now(gmp)
    flag = active(FlagKind.DELAYED_START, inv)
    assert flag is not None

    clock.move_to(T0 + timedelta(hours=1))
    complete_enquiry(inv, officer, substantive=False)
    inv.refresh_from_db()
    case_actions.investigation_allocate(
        inv, actor=supervisor, expected_version=inv.version, oic=officer, supervisor=supervisor
    )
    inv.refresh_from_db()
    assert inv.started_at is None
    run = scan_at(clock, gmp, T0 + timedelta(hours=2))

    assert active(FlagKind.DELAYED_START, inv).pk == flag.pk
    assert run.resolved[FlagKind.DELAYED_START] == 0

    # A completed substantive enquiry stops the clock: the next scan clears the flag.
    clock.move_to(T0 + timedelta(hours=3))
    complete_enquiry(inv, officer, substantive=True)
    cleared_at = T0 + timedelta(hours=4)
    run = scan_at(clock, gmp, cleared_at)
    assert run.resolved[FlagKind.DELAYED_START] == 1
    assert_cleared(flag, inv, cleared_at)


def test_a_started_case_without_an_officer_in_charge_is_still_delayed(clock, gmp, officer, people):
    inv = factories.investigation(officer, stage="recorded", days_ago=8)
    complete_enquiry(inv, officer, substantive=True)
    scan_now(gmp)
    flag = active(FlagKind.DELAYED_START, inv)
    assert flag is not None
    assert flag.evidence["no_substantive_action"] is False
    assert flag.evidence["no_officer_in_charge"] is True

    inv.refresh_from_db()
    supervisor = people["supervisor.gmp"]
    case_actions.investigation_allocate(
        inv, actor=supervisor, expected_version=inv.version, oic=officer, supervisor=supervisor
    )
    when = T0 + timedelta(minutes=30)
    scan_at(clock, gmp, when)
    assert_cleared(flag, inv, when)


def test_delayed_start_is_not_raised_on_a_case_awaiting_closure(clock, gmp, officer, supervisor):
    inv = factories.investigation(officer, stage="recorded", days_ago=20)
    case_actions.closure_request(
        inv,
        actor=officer,
        expected_version=inv.version,
        proposed_outcome="nfa",
        proposed_nfa_reason="no_offence",
        rationale="No offence found.",
    )
    scan_now(gmp)
    assert active(FlagKind.DELAYED_START, inv) is None


def test_delayed_start_follows_the_forces_threshold(clock, gmp, officer, supervisor, people):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=8)
    scan_now(gmp)
    flag = active(FlagKind.DELAYED_START, inv)
    assert flag is not None

    thresholds(gmp, delayed_start_days=30)
    # Another force's threshold is its own.
    thresholds(people["officer.wyp"].force, delayed_start_days=3)
    later = T0 + timedelta(minutes=5)
    scan_at(clock, gmp, later)
    assert_cleared(flag, inv, later)

    since = inv.crime_recorded_at
    scan_at(clock, gmp, since + timedelta(days=29, hours=23))
    assert active(FlagKind.DELAYED_START, inv) is None
    scan_at(clock, gmp, since + timedelta(days=30, hours=1))
    assert active(FlagKind.DELAYED_START, inv) is not None


# --- unrecorded_linked_offence ----------------------------------------------------------------


@pytest.fixture
def disclosed(clock, officer, supervisor):
    """A victim who disclosed an assault at T0, on a case under investigation."""
    inv = factories.investigation(
        officer, stage="under_investigation", supervisor=supervisor, days_ago=3
    )
    involvement = add_victim(inv, officer)
    disclosure = victim_actions.disclosure_record(
        involvement,
        actor=officer,
        offence_type=OffenceType.ASSAULT,
        disclosed_at=T0,
        account="He was beaten when he asked for his wages.",
    )
    return inv, involvement, disclosure


def test_an_unrecorded_disclosure_is_flagged_after_24_hours(clock, gmp, disclosed):
    inv, involvement, _ = disclosed
    scan_at(clock, gmp, T0 + timedelta(hours=23))
    assert active(FlagKind.UNRECORDED_LINKED_OFFENCE, inv, involvement.victim) is None

    scan_at(clock, gmp, T0 + timedelta(hours=25))
    flag = active(FlagKind.UNRECORDED_LINKED_OFFENCE, inv, involvement.victim)
    assert flag is not None
    assert flag.victim_key == involvement.victim_id
    assert flag.severity == Severity.HIGH
    assert flag.evidence == {
        "disclosures": 1,
        "types": ["assault"],
        "latest_disclosed_at": T0.isoformat(),
        "hours": 24,
    }


def test_a_disclosure_matched_by_an_offence_for_that_victim_is_not_flagged(
    clock, gmp, officer, supervisor
):
    inv = factories.investigation(
        officer, stage="under_investigation", supervisor=supervisor, days_ago=3
    )
    involvement = add_victim(inv, officer)
    # The victim's own trafficking offence was recorded when they were added.
    victim_actions.disclosure_record(
        involvement,
        actor=officer,
        offence_type=OffenceType.MSA_S2,
        disclosed_at=T0,
        account="Brought over on a promise of work.",
    )
    scan_at(clock, gmp, T0 + timedelta(days=2))
    assert active(FlagKind.UNRECORDED_LINKED_OFFENCE, inv, involvement.victim) is None


def test_an_offence_of_that_type_for_another_victim_or_no_victim_does_not_match(
    clock, gmp, officer, disclosed
):
    inv, involvement, _ = disclosed
    other = add_victim(inv, officer, name="Mihai Popescu")
    for victim in (other.victim, None):
        case_actions.offence_record(
            inv,
            actor=officer,
            crime_reference=f"CR/A{next(_refs):05d}",
            offence_type=OffenceType.ASSAULT,
            recorded_at=timezone.now(),
            victim=victim,
        )
    scan_at(clock, gmp, T0 + timedelta(hours=25))
    assert active(FlagKind.UNRECORDED_LINKED_OFFENCE, inv, involvement.victim) is not None
    assert active(FlagKind.UNRECORDED_LINKED_OFFENCE, inv, other.victim) is None


def test_recording_the_disclosed_offence_clears_the_flag(clock, gmp, officer, disclosed):
    inv, involvement, disclosure = disclosed
    scan_at(clock, gmp, T0 + timedelta(hours=25))
    flag = active(FlagKind.UNRECORDED_LINKED_OFFENCE, inv, involvement.victim)
    assert flag is not None

    victim_actions.disclosure_link_offence(
        disclosure, actor=officer, crime_reference=f"CR/L{next(_refs):05d}"
    )
    when = T0 + timedelta(hours=26)
    run = scan_at(clock, gmp, when)
    assert run.resolved[FlagKind.UNRECORDED_LINKED_OFFENCE] == 1
    assert_cleared(flag, inv, when)


def test_unrecorded_offence_follows_the_forces_threshold(clock, gmp, disclosed):
    inv, involvement, _ = disclosed
    thresholds(gmp, unrecorded_offence_hours=48)
    scan_at(clock, gmp, T0 + timedelta(hours=47))
    assert active(FlagKind.UNRECORDED_LINKED_OFFENCE, inv, involvement.victim) is None
    scan_at(clock, gmp, T0 + timedelta(hours=49))
    flag = active(FlagKind.UNRECORDED_LINKED_OFFENCE, inv, involvement.victim)
    assert flag is not None
    assert flag.evidence["hours"] == 48


def test_sexual_exploitation_with_no_sexual_offence_is_a_low_hint(clock, gmp, officer, supervisor):
    sexual = factories.investigation(
        officer, stage="allocated", supervisor=supervisor, days_ago=3, types=("sexual",)
    )
    labour = factories.investigation(
        officer, stage="allocated", supervisor=supervisor, days_ago=3, types=("labour",)
    )
    fresh = factories.investigation(
        officer, stage="allocated", supervisor=supervisor, days_ago=0.5, types=("sexual",)
    )
    scan_now(gmp)

    flag = active(FlagKind.UNRECORDED_LINKED_OFFENCE, sexual)
    assert flag is not None
    assert flag.severity == Severity.LOW
    assert flag.victim is None
    assert flag.evidence == {
        "sexual_exploitation_no_sexual_offence": True,
        "recorded_at": sexual.crime_recorded_at.isoformat(),
    }
    assert active(FlagKind.UNRECORDED_LINKED_OFFENCE, labour) is None
    # Recorded less than 24 hours ago: not yet.
    assert active(FlagKind.UNRECORDED_LINKED_OFFENCE, fresh) is None

    case_actions.offence_record(
        sexual,
        actor=officer,
        crime_reference=f"CR/S{next(_refs):05d}",
        offence_type=OffenceType.CONTROLLING_PROSTITUTION,
        recorded_at=timezone.now(),
    )
    when = T0 + timedelta(minutes=10)
    scan_at(clock, gmp, when)
    assert_cleared(flag, sexual, when)


# --- premature_closure ------------------------------------------------------------------------


def test_premature_closure_lists_every_failed_condition(
    clock, gmp, officer, supervisor, safeguarding_lead
):
    # Closed three days after it was reported: no enquiry at all, a victim never spoken to and
    # without a safeguarding plan.
    never_started = factories.investigation(
        officer, stage="allocated", supervisor=supervisor, days_ago=3
    )
    add_victim(never_started, officer)
    close(never_started, officer, supervisor)
    # Started yesterday and closed today: a victim never spoken to, without a plan; another
    # victim spoken to and with a plan is fine.
    started = factories.investigation(
        officer, stage="under_investigation", supervisor=supervisor, days_ago=2
    )
    add_victim(started, officer, name="Mihai Popescu")
    fine = add_victim(started, officer, name="Elena Rusu")
    take_account(fine, officer)
    save_plan(fine.victim, safeguarding_lead)
    close(started, officer, supervisor)

    when = T0 + timedelta(hours=1)
    scan_at(clock, gmp, when)

    flag = active(FlagKind.PREMATURE_CLOSURE, never_started)
    assert flag is not None
    # A case that never started fails the "closed within 14 days of starting" condition too,
    # in its own words (tests/flags/test_rule_fixes.py).
    assert failed_conditions(flag) == [
        "victim_not_spoken_to",
        "no_completed_enquiry",
        "victim_without_plan",
        "closed_without_starting",
    ]
    assert flag.severity == Severity.HIGH
    assert flag.evidence["status"] == "closed"
    assert flag.evidence["closed_or_requested_at"] == T0.isoformat()
    assert flag.evidence["started_at"] is None
    assert flag.evidence["window_days"] == 14

    flag = active(FlagKind.PREMATURE_CLOSURE, started)
    assert flag is not None
    assert failed_conditions(flag) == [
        "victim_not_spoken_to",
        "victim_without_plan",
        "closed_soon_after_start",
    ]
    assert flag.severity == Severity.HIGH
    assert flag.evidence["started_at"] == started.started_at.isoformat()


def test_a_closure_within_the_window_is_flagged_and_one_after_it_is_not(
    clock, gmp, officer, supervisor
):
    # The factory completes a substantive enquiry a day after the report.
    early = factories.investigation(officer, stage="closed", supervisor=supervisor, days_ago=10)
    late = factories.investigation(officer, stage="closed", supervisor=supervisor, days_ago=20)
    scan_now(gmp)

    flag = active(FlagKind.PREMATURE_CLOSURE, early)
    assert flag is not None
    assert failed_conditions(flag) == ["closed_soon_after_start"]
    assert flag.severity == Severity.MEDIUM
    assert active(FlagKind.PREMATURE_CLOSURE, late) is None


def test_premature_closure_follows_the_forces_threshold(clock, gmp, officer, supervisor):
    thresholds(gmp, premature_closure_days=7)
    inv = factories.investigation(officer, stage="closed", supervisor=supervisor, days_ago=10)
    scan_now(gmp)
    assert active(FlagKind.PREMATURE_CLOSURE, inv) is None

    thresholds(gmp, premature_closure_days=30)
    scan_at(clock, gmp, T0 + timedelta(minutes=1))
    flag = active(FlagKind.PREMATURE_CLOSURE, inv)
    assert flag is not None
    assert flag.evidence["window_days"] == 30


def test_an_open_case_is_never_a_premature_closure(clock, gmp, officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=3)
    add_victim(inv, officer)
    scan_now(gmp)
    assert active(FlagKind.PREMATURE_CLOSURE, inv) is None


def test_a_closure_request_is_flagged_and_rejecting_it_clears_the_flag(
    clock, gmp, officer, supervisor
):
    inv = factories.investigation(
        officer, stage="closure_requested", supervisor=supervisor, days_ago=5
    )
    scan_now(gmp)
    flag = active(FlagKind.PREMATURE_CLOSURE, inv)
    assert flag is not None
    assert flag.evidence["status"] == "closure_requested"
    # Not yet reviewed, so a missing supervisor approval is not a failure yet.
    assert failed_conditions(flag) == ["closed_soon_after_start"]

    inv.refresh_from_db()
    case_actions.closure_reject(
        inv, actor=supervisor, expected_version=inv.version, rationale="Trace the victims first."
    )
    when = T0 + timedelta(minutes=5)
    scan_at(clock, gmp, when)
    assert_cleared(flag, inv, when)


def test_reopening_a_closed_case_clears_its_premature_closure_flag(clock, gmp, officer, supervisor):
    inv = factories.investigation(officer, stage="closed", supervisor=supervisor, days_ago=5)
    scan_now(gmp)
    flag = active(FlagKind.PREMATURE_CLOSURE, inv)
    assert flag is not None

    inv.refresh_from_db()
    case_actions.investigation_reopen(
        inv, actor=supervisor, expected_version=inv.version, reason="New witness."
    )
    when = T0 + timedelta(minutes=5)
    scan_at(clock, gmp, when)
    assert_cleared(flag, inv, when)


def test_a_closed_case_without_an_approved_closure_review_is_flagged(
    clock, gmp, officer, supervisor
):
    inv = factories.investigation(officer, stage="closed", supervisor=supervisor, days_ago=30)
    scan_now(gmp)
    assert active(FlagKind.PREMATURE_CLOSURE, inv) is None
    # No action closes a case without a review: this stands for a row imported from a legacy
    # system.
    ClosureReview.objects.filter(investigation=inv).delete()
    scan_at(clock, gmp, T0 + timedelta(minutes=1))
    flag = active(FlagKind.PREMATURE_CLOSURE, inv)
    assert flag is not None
    assert failed_conditions(flag) == ["no_supervisor_closure_review"]


@pytest.fixture
def unrecorded_then_closure_requested(clock, gmp, officer, supervisor, safeguarding_lead):
    """A well-run case (started 29 days ago, victim spoken to and safeguarded) whose victim's
    disclosure of an assault was never recorded; closure requested two days later."""
    inv = factories.investigation(
        officer, stage="under_investigation", supervisor=supervisor, days_ago=30
    )
    involvement = add_victim(inv, officer)
    take_account(involvement, officer)
    save_plan(involvement.victim, safeguarding_lead)
    victim_actions.disclosure_record(
        involvement,
        actor=officer,
        offence_type=OffenceType.ASSAULT,
        disclosed_at=T0,
        account="Beaten.",
    )
    clock.move_to(T0 + timedelta(days=2))
    inv.refresh_from_db()
    case_actions.closure_request(
        inv,
        actor=officer,
        expected_version=inv.version,
        proposed_outcome="charged",
        proposed_nfa_reason="",
        rationale="Suspect charged.",
    )
    scan_at(clock, gmp, T0 + timedelta(days=2, hours=1))
    return inv, involvement


def test_an_open_unrecorded_offence_flag_makes_a_closure_request_premature(
    unrecorded_then_closure_requested,
):
    inv, involvement = unrecorded_then_closure_requested
    assert active(FlagKind.UNRECORDED_LINKED_OFFENCE, inv, involvement.victim) is not None
    flag = active(FlagKind.PREMATURE_CLOSURE, inv)
    assert flag is not None
    assert failed_conditions(flag) == ["open_unrecorded_offence_flag"]
    assert flag.severity == Severity.MEDIUM


def test_approving_the_closure_keeps_the_unrecorded_offence_in_the_evidence(
    clock, gmp, supervisor, unrecorded_then_closure_requested
):
    inv, involvement = unrecorded_then_closure_requested
    inv.refresh_from_db()
    case_actions.closure_approve(
        inv, actor=supervisor, expected_version=inv.version, rationale="Agreed."
    )
    scan_at(clock, gmp, T0 + timedelta(days=2, hours=2))
    flag = active(FlagKind.PREMATURE_CLOSURE, inv)
    assert flag is not None
    assert "open_unrecorded_offence_flag" in failed_conditions(flag)
    assert active(FlagKind.UNRECORDED_LINKED_OFFENCE, inv, involvement.victim) is not None
    assert "Flag cleared: Unrecorded linked offence" not in timeline_texts(inv)


def test_the_sexual_exploitation_hint_does_not_make_a_closure_premature(
    clock, gmp, officer, supervisor, safeguarding_lead
):
    """The hint (sexual exploitation, no sexual offence recorded) has no victim: a lower
    severity hint, not a disclosed offence left unrecorded; a closure is not premature for it."""
    inv = factories.investigation(
        officer, stage="under_investigation", supervisor=supervisor, days_ago=30, types=("sexual",)
    )
    involvement = add_victim(inv, officer)
    take_account(involvement, officer)
    save_plan(involvement.victim, safeguarding_lead)
    clock.move_to(T0 + timedelta(days=2))
    scan_at(clock, gmp, T0 + timedelta(days=2))
    hint = active(FlagKind.UNRECORDED_LINKED_OFFENCE, inv)
    assert hint is not None and hint.victim_id is None
    inv.refresh_from_db()
    case_actions.closure_request(
        inv,
        actor=officer,
        expected_version=inv.version,
        proposed_outcome="charged",
        proposed_nfa_reason="",
        rationale="Suspect charged.",
    )
    scan_at(clock, gmp, T0 + timedelta(days=2, hours=1))
    premature = active(FlagKind.PREMATURE_CLOSURE, inv)  # (for the NRM condition alone)
    assert premature is None or failed_conditions(premature) == []


# --- victim_contact_overdue -------------------------------------------------------------------


@pytest.fixture
def victim_case(clock, officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=1)
    return inv, add_victim(inv, officer).victim


def test_victim_contact_is_overdue_the_day_after_it_was_due(
    clock, gmp, safeguarding_lead, victim_case
):
    inv, victim = victim_case
    contact(victim, safeguarding_lead, next_in_days=7)  # due 12 Jan 2026
    scan_at(clock, gmp, T0 + timedelta(days=7))
    assert active(FlagKind.VICTIM_CONTACT_OVERDUE, inv, victim) is None

    scan_at(clock, gmp, T0 + timedelta(days=8))
    flag = active(FlagKind.VICTIM_CONTACT_OVERDUE, inv, victim)
    assert flag is not None
    assert flag.severity == Severity.MEDIUM
    assert flag.evidence == {"next_contact_due": "2026-01-12", "last_contact_at": T0.isoformat()}

    # More than 14 days overdue: high, on the same flag.
    scan_at(clock, gmp, T0 + timedelta(days=7 + 15))
    again = active(FlagKind.VICTIM_CONTACT_OVERDUE, inv, victim)
    assert (again.pk, again.severity) == (flag.pk, Severity.HIGH)

    contact(victim, safeguarding_lead, next_in_days=7)
    when = T0 + timedelta(days=22, hours=1)
    scan_at(clock, gmp, when)
    assert_cleared(flag, inv, when)


def test_an_attempted_contact_is_not_a_contact(clock, gmp, safeguarding_lead, victim_case):
    inv, victim = victim_case
    contact(victim, safeguarding_lead, made=True, next_in_days=3)
    clock.move_to(T0 + timedelta(days=2))
    contact(victim, safeguarding_lead, made=False, next_in_days=0)
    scan_at(clock, gmp, T0 + timedelta(days=3))
    flag = active(FlagKind.VICTIM_CONTACT_OVERDUE, inv, victim)
    assert flag is not None
    # Due from the attempt; the last contact made is still the first one.
    assert flag.evidence == {"next_contact_due": "2026-01-07", "last_contact_at": T0.isoformat()}


def test_a_plan_with_no_contact_is_overdue_after_its_frequency(
    clock, gmp, safeguarding_lead, victim_case
):
    inv, victim = victim_case
    save_plan(victim, safeguarding_lead, every=7)
    scan_at(clock, gmp, T0 + timedelta(days=6))
    assert active(FlagKind.VICTIM_CONTACT_OVERDUE, inv, victim) is None
    scan_at(clock, gmp, T0 + timedelta(days=8))
    flag = active(FlagKind.VICTIM_CONTACT_OVERDUE, inv, victim)
    assert flag is not None
    assert flag.severity == Severity.HIGH
    assert flag.evidence == {"next_contact_due": None, "last_contact_at": None}


def test_editing_a_plan_does_not_move_the_first_contact_on(
    clock, gmp, safeguarding_lead, victim_case
):
    """The first contact is due a frequency after the plan was first set: a change of its risk
    level on day 6 does not give another 7 days."""
    inv, victim = victim_case
    save_plan(victim, safeguarding_lead, every=7)
    clock.move_to(T0 + timedelta(days=6))
    plan = victim.safeguarding_plan
    plan.refresh_from_db()
    safeguarding_actions.plan_save(
        victim,
        actor=safeguarding_lead,
        expected_version=plan.version,
        lead=safeguarding_lead,
        risk_level="medium",
        risks=["retrafficking"],
        measures=["safe_house"],
        contact_every_days=7,
        review_date=timezone.localdate() + timedelta(days=28),
    )
    scan_at(clock, gmp, T0 + timedelta(days=8))
    assert active(FlagKind.VICTIM_CONTACT_OVERDUE, inv, victim) is not None


def test_no_contact_flag_for_a_victim_whose_case_is_closed(
    clock, gmp, officer, supervisor, safeguarding_lead
):
    inv = factories.investigation(
        officer, stage="under_investigation", supervisor=supervisor, days_ago=30
    )
    victim = add_victim(inv, officer).victim
    contact(victim, safeguarding_lead, next_in_days=1)
    close(inv, officer, supervisor)
    scan_at(clock, gmp, T0 + timedelta(days=5))
    assert active(FlagKind.VICTIM_CONTACT_OVERDUE, inv, victim) is None


# --- relocated_victim_no_contact --------------------------------------------------------------


def relocate(victim: Victim, lead: User, to: Force, within: int = 7) -> None:
    safeguarding_actions.relocation_record(
        victim,
        actor=lead,
        relocated_on=timezone.localdate(),
        destination_type="force_area",
        to_force=to,
        safe_house_location="",
        receiving_contact="DS Jones, WYP MSU",
        first_contact_within_days=within,
    )


def test_a_relocated_victim_not_contacted_within_the_agreed_days_is_flagged(
    clock, gmp, people, safeguarding_lead, victim_case
):
    inv, victim = victim_case
    wyp = people["officer.wyp"].force
    clock.move_to(T0 - timedelta(hours=1))
    contact(victim, safeguarding_lead, next_in_days=30)  # before the move: does not count
    clock.move_to(T0)
    relocate(victim, safeguarding_lead, wyp, within=7)

    scan_at(clock, gmp, T0 + timedelta(days=7))
    assert active(FlagKind.RELOCATED_VICTIM_NO_CONTACT, inv, victim) is None
    scan_at(clock, gmp, T0 + timedelta(days=8))
    flag = active(FlagKind.RELOCATED_VICTIM_NO_CONTACT, inv, victim)
    assert flag is not None
    assert flag.severity == Severity.HIGH
    assert flag.evidence == {
        "relocated_on": "2026-01-05",
        "within_days": 7,
        "to_force": "West Yorkshire Police",
    }

    contact(victim, safeguarding_lead, made=False)  # an attempt is not a contact
    scan_at(clock, gmp, T0 + timedelta(days=8, hours=1))
    assert active(FlagKind.RELOCATED_VICTIM_NO_CONTACT, inv, victim).pk == flag.pk

    clock.move_to(T0 + timedelta(days=8, hours=2))
    contact(victim, safeguarding_lead, made=True)
    when = T0 + timedelta(days=8, hours=3)
    scan_at(clock, gmp, when)
    assert_cleared(flag, inv, when)


def test_the_agreed_number_of_days_is_the_relocations_own(
    clock, gmp, people, safeguarding_lead, victim_case
):
    inv, victim = victim_case
    relocate(victim, safeguarding_lead, people["officer.wyp"].force, within=14)
    scan_at(clock, gmp, T0 + timedelta(days=10))
    assert active(FlagKind.RELOCATED_VICTIM_NO_CONTACT, inv, victim) is None
    scan_at(clock, gmp, T0 + timedelta(days=15))
    assert active(FlagKind.RELOCATED_VICTIM_NO_CONTACT, inv, victim) is not None


# --- victim_criminalised ----------------------------------------------------------------------


def test_a_victim_arrested_without_a_section_45_consideration_is_flagged(
    clock, gmp, officer, victim_case
):
    inv, victim = victim_case
    other = add_victim(inv, officer, name="Mihai Popescu").victim
    criminalise(victim, inv, officer)
    criminalise(other, inv, officer, decision=S45Decision.APPLIES)
    scan_now(gmp)

    flag = active(FlagKind.VICTIM_CRIMINALISED, inv, victim)
    assert flag is not None
    assert flag.severity == Severity.HIGH
    assert flag.evidence == {
        "custody_events": 1,
        "latest_at": (T0 - timedelta(hours=2)).isoformat(),
    }
    assert active(FlagKind.VICTIM_CRIMINALISED, inv, other) is None

    # There is no action yet to record the section 45 consideration after the event (see the
    # report): the decision is changed on the row to show that the rule clears.
    CustodyEvent.objects.filter(victim=victim).update(
        s45_decision=S45Decision.DOES_NOT_APPLY, s45_rationale="Schedule 4 check done."
    )
    when = T0 + timedelta(minutes=5)
    scan_at(clock, gmp, when)
    assert_cleared(flag, inv, when)


# --- supervision_overdue ----------------------------------------------------------------------


def test_supervision_is_overdue_28_days_after_allocation_without_a_review(
    clock, gmp, officer, supervisor
):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=1)
    assert inv.allocated_at == T0
    scan_at(clock, gmp, T0 + timedelta(days=28) - timedelta(hours=1))
    assert active(FlagKind.SUPERVISION_OVERDUE, inv) is None

    scan_at(clock, gmp, T0 + timedelta(days=28, hours=1))
    flag = active(FlagKind.SUPERVISION_OVERDUE, inv)
    assert flag is not None
    assert flag.severity == Severity.MEDIUM
    assert flag.evidence == {
        "last_review_at": None,
        "allocated_at": T0.isoformat(),
        "next_review_due": None,
        "days": 28,
    }

    case_actions.supervisory_review_add(
        inv,
        actor=supervisor,
        direction="Trace the employer's bank accounts.",
        next_review_due=timezone.localdate() + timedelta(days=14),
    )
    when = T0 + timedelta(days=28, hours=2)
    scan_at(clock, gmp, when)
    assert_cleared(flag, inv, when)

    # The next review date the supervisor set has passed: a new flag.
    scan_at(clock, gmp, T0 + timedelta(days=28 + 14, hours=1))
    assert active(FlagKind.SUPERVISION_OVERDUE, inv) is None
    scan_at(clock, gmp, T0 + timedelta(days=28 + 15, hours=1))
    again = active(FlagKind.SUPERVISION_OVERDUE, inv)
    assert again is not None and again.pk != flag.pk
    assert again.evidence["next_review_due"] == "2026-02-16"
    assert again.evidence["last_review_at"] == (T0 + timedelta(days=28, hours=1)).isoformat()


def test_supervision_is_not_due_on_unallocated_or_closing_cases(clock, gmp, officer, supervisor):
    recorded = factories.investigation(officer, stage="recorded", days_ago=1)
    closing = factories.investigation(
        officer, stage="closure_requested", supervisor=supervisor, days_ago=1
    )
    scan_at(clock, gmp, T0 + timedelta(days=60))
    assert active(FlagKind.SUPERVISION_OVERDUE, recorded) is None
    assert active(FlagKind.SUPERVISION_OVERDUE, closing) is None


def test_supervision_follows_the_forces_threshold(clock, gmp, officer, supervisor):
    thresholds(gmp, supervision_days=60)
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=1)
    scan_at(clock, gmp, T0 + timedelta(days=59))
    assert active(FlagKind.SUPERVISION_OVERDUE, inv) is None
    scan_at(clock, gmp, T0 + timedelta(days=61))
    flag = active(FlagKind.SUPERVISION_OVERDUE, inv)
    assert flag is not None
    assert flag.evidence["days"] == 60


# --- scope ------------------------------------------------------------------------------------


def test_a_scan_touches_only_its_force_and_its_cases(clock, gmp, officer, supervisor, people):
    mine = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=9)
    other = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=9)
    wyp_case = factories.investigation(
        people["officer.wyp"],
        stage="allocated",
        supervisor=people["supervisor.wyp"],
        days_ago=9,
    )
    run = scan_now(gmp, investigation_ids=[mine.pk])
    assert run.investigation_id == mine.pk
    assert active(FlagKind.DELAYED_START, mine) is not None
    assert active(FlagKind.DELAYED_START, other) is None
    assert active(FlagKind.DELAYED_START, wyp_case) is None

    # A narrow scan never resolves flags outside its scope.
    scan_at(clock, gmp, T0 + timedelta(minutes=1))
    scan_at(clock, gmp, T0 + timedelta(minutes=2), investigation_ids=[mine.pk])
    assert active(FlagKind.DELAYED_START, other) is not None
