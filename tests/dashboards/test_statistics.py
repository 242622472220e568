"""slaverycases/dashboards/querysets.py and tables.py: each force statistic against a world
built through the real actions and counted by hand (see `world`), for March 2026."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from investigations import actions as case_actions
from investigations.models import Investigation, Offence, OffenceType, Outcome
from referrals import actions as referral_actions
from safeguarding import actions as safeguarding_actions
from slaverycases.dashboards import access
from slaverycases.dashboards import querysets as q
from slaverycases.dashboards.tables import (
    compute_statistics,
    describe_duration,
    percent,
)
from slaverycases.flags import actions as flag_actions
from slaverycases.flags.models import Flag, FlagKind
from tests import factories
from victims import actions as victim_actions
from victims.models import Victim

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
MARCH = q.Period(date(2026, 3, 1), date(2026, 3, 31))
_refs = itertools.count(1)


# --- building the world through the actions ---------------------------------------------


def case(officer: Any, supervisor: Any, *, days_ago: float, types: tuple[str, ...]) -> Any:
    return factories.investigation(
        officer, stage="allocated", supervisor=supervisor, days_ago=days_ago, types=types
    )


def start(inv: Investigation, officer: Any, after: timedelta) -> None:
    enquiry = case_actions.enquiry_add(
        inv, actor=officer, description="Visit the address", substantive=True, owner=officer
    )
    case_actions.enquiry_complete(
        enquiry, actor=officer, completed_at=inv.reported_at + after, result="Visited"
    )


def close(inv: Investigation, officer: Any, supervisor: Any, outcome: str) -> None:
    inv.refresh_from_db()
    case_actions.closure_request(
        inv,
        actor=officer,
        expected_version=inv.version,
        proposed_outcome=outcome,
        proposed_nfa_reason="evidential" if outcome == Outcome.NFA else "",
        rationale="Closing.",
    )
    inv.refresh_from_db()
    case_actions.closure_approve(
        inv, actor=supervisor, expected_version=inv.version, rationale="Agreed."
    )


def victim(inv: Investigation, officer: Any, name: str, nationality: str, identified: Any) -> Any:
    (involvement,) = victim_actions.victims_add_to_investigation(
        inv,
        actor=officer,
        people=[
            {
                "name": name,
                "crime_reference": f"CR/S{next(_refs):05d}",
                "nationality": nationality,
                "date_of_birth": date(1990, 1, 1),
            }
        ],
        identified_at=identified,
        offence_type=OffenceType.MSA_S2,
    )
    return involvement.victim


def refer(v: Victim, inv: Investigation, officer: Any, on: date, **link: Any) -> None:
    referral_actions.nrm_referral_submit(
        v,
        investigation=inv,
        actor=officer,
        organisation="Greater Manchester Police",
        submitted_on=on,
        consent_given=True,
        consent_on=on,
        childrens_services_told_on=None,
        **link,
    )


def plan(v: Victim, lead: Any, every: int) -> None:
    safeguarding_actions.plan_save(
        v,
        actor=lead,
        expected_version=None,
        lead=lead,
        risk_level="high",
        risks=["retrafficking"],
        measures=["safe_house"],
        contact_every_days=every,
        review_date=timezone.localdate() + timedelta(days=60),
    )


def contact(v: Victim, lead: Any, *, made: bool = True) -> None:
    safeguarding_actions.contact_record(
        v,
        actor=lead,
        at=timezone.now(),
        method="phone",
        made=made,
        interpreter_used=False,
        notes="",
        next_contact_due=timezone.localdate() + timedelta(days=7),
    )


@pytest.fixture
def world(people) -> Any:
    """GMP cases (one unit), counted by hand for March 2026 (the clock ends on 15 April):

    case  reported     types             started after  closed (outcome)     victims
    A     1 Mar 12:00  labour, sexual    6 hours        25 Mar (charged)     V1 Albanian, V2
                                                                             Vietnamese
    B     1 Mar        labour            3 days         25 Mar (nfa)         -
    C     1 Mar        criminal          10 days        15 Apr (transferred) -
    D     1 Mar        labour            20 days        -                    V4 " Albanian "
    E     1 Mar        domestic          not started    -                    -
    H     1 Mar        labour            40 days        -                    -
    G     10 Feb       sexual            2 days         25 Mar (caution)     V3 (identified
                                                                             15 Feb)
    W     20 Mar, WYP: closed (charged) 25 Mar, with a victim: never in GMP's figures.

    Crimes recorded in March: one crime per victim, recorded 2 March (s2: 4), and the crime
    decisions of the cases with no victim, B, C, E, H (s1: 4) = 8; A's and D's crime decisions
    (recorded before their victims were identified, whose crimes now count), A's rape and G's
    February crime are not counted.
    NRM referrals in March: V1 (linked to V1's crime), V2 (N200/1), V4 (neither); V3's was in
    February. Plans: V1 every 7 days (contact 28 Mar), V2 every 14 (contact 10 Mar), V3 every 7
    (never), V4 every 45 (never): at the end of March V2 and V3 are overdue.
    """
    officer, supervisor = people["officer.gmp"], people["supervisor.gmp"]
    lead = people["safeguarding.gmp"]
    with time_machine.travel(T0, tick=False) as clock:
        g = case(officer, supervisor, days_ago=20, types=("sexual",))
        a = case(officer, supervisor, days_ago=1, types=("labour", "sexual"))
        b = case(officer, supervisor, days_ago=1, types=("labour",))
        c = case(officer, supervisor, days_ago=1, types=("criminal",))
        d = case(officer, supervisor, days_ago=1, types=("labour",))
        e = case(officer, supervisor, days_ago=1, types=("domestic",))
        h = case(officer, supervisor, days_ago=1, types=("labour",))
        hour_ago = timezone.now() - timedelta(hours=1)
        v1 = victim(a, officer, "Arben Hoxha", "Albanian", hour_ago)
        v2 = victim(a, officer, "Nguyen Van An", "Vietnamese", hour_ago)
        v4 = victim(d, officer, "Elira Gashi", " Albanian ", hour_ago)
        v3 = victim(g, officer, "Ion Popescu", "Romanian", datetime(2026, 2, 15, 12, tzinfo=UTC))
        case_actions.offence_record(
            a,
            actor=officer,
            crime_reference="CR/RAPE1",
            offence_type=OffenceType.RAPE,
            recorded_at=hour_ago,
        )
        start(g, officer, timedelta(days=2))
        start(a, officer, timedelta(hours=6))
        refer(v1, a, officer, date(2026, 3, 2), linked_offence=Offence.objects.get(victim=v1))
        refer(v2, a, officer, date(2026, 3, 2), non_crime_reason="n200_1")
        refer(v4, d, officer, date(2026, 3, 2))
        refer(v3, g, officer, date(2026, 2, 20))
        plan(v1, lead, 7)
        plan(v2, lead, 14)
        plan(v3, lead, 7)
        plan(v4, lead, 45)

        clock.move_to(datetime(2026, 3, 10, 12, tzinfo=UTC))
        start(b, officer, timedelta(days=3))
        contact(v2, lead)

        clock.move_to(datetime(2026, 3, 25, 12, tzinfo=UTC))
        start(c, officer, timedelta(days=10))
        start(d, officer, timedelta(days=20))
        close(a, officer, supervisor, Outcome.CHARGED)
        close(b, officer, supervisor, Outcome.NFA)
        close(g, officer, supervisor, Outcome.CAUTION)
        wyp_officer, wyp_supervisor = people["officer.wyp"], people["supervisor.wyp"]
        wyp = factories.investigation(
            wyp_officer, stage="under_investigation", supervisor=wyp_supervisor, days_ago=5
        )
        victim(wyp, wyp_officer, "Jan Kowalski", "Polish", timezone.now())
        close(wyp, wyp_officer, wyp_supervisor, Outcome.CHARGED)

        clock.move_to(datetime(2026, 3, 28, 12, tzinfo=UTC))
        contact(v1, lead)
        clock.move_to(datetime(2026, 3, 30, 12, tzinfo=UTC))
        contact(v1, lead, made=False)

        clock.move_to(datetime(2026, 4, 15, 12, tzinfo=UTC))
        start(h, officer, timedelta(days=40))
        close(c, officer, supervisor, Outcome.TRANSFERRED)
        flag_actions.scan(force=officer.force, now=timezone.now())
        flag_actions.scan(force=wyp.force, now=timezone.now())
        yield {"a": a, "b": b, "c": c, "e": e, "g": g, "wyp": wyp, "clock": clock}


def stats_for(user: Any, period: q.Period = MARCH, unit: Any = None) -> Any:
    cases = access.statistics_base(user)
    if unit is not None:
        cases = cases.filter(unit_id=unit.pk)
    return compute_statistics(cases, period, timezone.now())


# --- each figure ------------------------------------------------------------------------


def test_modern_slavery_crimes_recorded(world, supervisor):
    stats = stats_for(supervisor)
    assert stats.crimes == {"msa_s1": 4, "msa_s2": 4}
    assert stats.crimes_total == 8


def test_nrm_referrals_and_the_share_linked_to_a_crime(world, supervisor):
    stats = stats_for(supervisor)
    assert stats.referrals == {"crime": 1, "n200_1": 1, "": 1}
    assert stats.referrals_total == 3
    assert stats.referrals_linked_share == "33.3%"


def test_time_to_first_substantive_action_buckets_and_median(world, supervisor):
    stats = stats_for(supervisor)
    assert stats.start_buckets == {
        "under_1": 1,
        "1_7": 1,
        "8_28": 2,
        "29_90": 1,
        "not_started": 1,
    }
    # A 6 hours, B 3 days, C 10 days, D 20 days, H 40 days: the middle one is C.
    assert stats.median_to_start == timedelta(days=10)
    assert stats.median_text == "10 days"
    table = stats.tables()["time_to_start"]
    assert table.rows == [
        ["Under 1 day", 1, "16.7%"],
        ["1 to 7 days", 1, "16.7%"],
        ["8 to 28 days", 2, "33.3%"],
        ["29 to 90 days", 1, "16.7%"],
        ["Over 90 days", 0, "0%"],
        ["Not started yet", 1, "16.7%"],
    ]
    assert table.total == ["Total", 6, "100%"]


def test_the_median_of_an_even_number_is_halfway_between_the_middle_two(world, supervisor):
    # Those started in March: A (6 hours), B (3 days), C (10 days), D (20 days).
    started = access.statistics_base(supervisor).filter(
        MARCH.at("reported_at"), MARCH.at("started_at")
    )
    assert started.count() == 4
    assert q.median_time_to_start(started, 4) == timedelta(days=6, hours=12)


def test_the_sqlite_median_reads_the_middle_rows_with_offset(world, supervisor, monkeypatch):
    """The fallback for databases without percentile_cont, run here on PostgreSQL."""
    monkeypatch.setattr(connection, "vendor", "sqlite")
    started = access.statistics_base(supervisor).filter(
        MARCH.at("reported_at"), started_at__isnull=False
    )
    assert q.median_time_to_start(started, 5) == timedelta(days=10)
    assert q.median_time_to_start(started.exclude(pk=world["c"].pk), 4) == timedelta(
        days=11, hours=12
    )  # 3 days and 20 days
    assert q.median_time_to_start(started.none(), 0) is None


def test_closures_by_outcome_and_the_charge_rate(world, supervisor):
    stats = stats_for(supervisor)
    assert stats.closures == {"charged": 1, "nfa": 1, "caution": 1}
    assert stats.closures_total == 3
    assert stats.charge_rate == "33.3%"
    table = stats.tables()["closures"]
    assert table.rows[0] == ["Charged or summonsed", 1, "33.3%"]
    assert ["Transferred to another force or agency", 0, "0%"] in table.rows


def test_premature_closure_flags_per_closure(world, supervisor):
    # A (victims never spoken to) and G (V3 never spoken to) were closed too soon; B was not.
    flagged = set(
        Flag.objects.filter(kind=FlagKind.PREMATURE_CLOSURE).values_list(
            "investigation_id", flat=True
        )
    )
    assert {world["a"].pk, world["g"].pk} <= flagged
    assert world["b"].pk not in flagged
    stats = stats_for(supervisor)
    assert stats.premature == {"flags": 2, "closures": 2}
    assert stats.premature_per_closure == "0.67"


def test_a_premature_closure_flag_of_a_rejected_request_is_not_counted_for_the_closure(
    world, supervisor
):
    """A's flag was raised on its closing request; had it been raised on an earlier request,
    rejected (or closed and reopened), it belongs to that request, not to the period's
    closure."""
    flag = Flag.objects.get(kind=FlagKind.PREMATURE_CLOSURE, investigation=world["a"])
    case = world["a"]
    case.refresh_from_db()
    Flag.objects.filter(pk=flag.pk).update(raised_at=case.closure_requested_at - timedelta(days=30))
    assert stats_for(supervisor).premature == {"flags": 1, "closures": 1}


def test_a_dismissed_premature_closure_flag_is_not_counted(world, supervisor):
    flag = Flag.objects.get(kind=FlagKind.PREMATURE_CLOSURE, investigation=world["a"])
    flag_actions.flag_dismiss(flag, actor=supervisor, reason="Victims spoken to off the record.")
    assert stats_for(supervisor).premature == {"flags": 1, "closures": 1}


def test_victims_without_contact_for_longer_than_their_plan_allows(world, supervisor):
    stats = stats_for(supervisor)
    assert stats.contact == {"with_plan": 4, "overdue": 2}  # V2 and V3
    # Measured on 12 March instead: V1's plan (2 March, every 7 days) had run out; V2 was
    # contacted on the 10th; V3's plan had run out; V4's had not.
    early = q.Period(date(2026, 3, 1), date(2026, 3, 11))
    assert stats_for(supervisor, early).contact == {"with_plan": 4, "overdue": 2}
    cases = access.statistics_base(supervisor)
    on_the_9th = datetime(2026, 3, 9, 13, tzinfo=UTC)  # V1 and V3; V2's 14 days have not run
    assert q.victims_contact_overdue(cases, on_the_9th) == {"with_plan": 4, "overdue": 2}
    on_the_17th = datetime(2026, 3, 17, 13, tzinfo=UTC)  # V1 and V3; V2 contacted on the 10th
    assert q.victims_contact_overdue(cases, on_the_17th) == {"with_plan": 4, "overdue": 2}
    on_the_25th = datetime(2026, 3, 25, 13, tzinfo=UTC)  # V1, V2 (15 days on) and V3
    assert q.victims_contact_overdue(cases, on_the_25th) == {"with_plan": 4, "overdue": 3}
    on_the_3rd = datetime(2026, 3, 3, 12, tzinfo=UTC)  # every plan is new
    assert q.victims_contact_overdue(cases, on_the_3rd) == {"with_plan": 4, "overdue": 0}


def test_exploitation_types_of_the_cases_reported(world, supervisor):
    stats = stats_for(supervisor)
    assert stats.exploitation == {"labour": 4, "sexual": 1, "criminal": 1, "domestic": 1}
    rows = stats.tables()["exploitation"].rows
    assert rows[1] == ["Labour exploitation", 4]
    assert ["Organ harvesting", 0] in rows


def test_nationalities_of_the_victims_identified(world, supervisor):
    stats = stats_for(supervisor)
    # V4's " Albanian " counts with V1's; V3 was identified in February.
    assert stats.nationalities == [
        {"label": "Albanian", "n": 2},
        {"label": "Vietnamese", "n": 1},
    ]
    table = stats.tables()["nationalities"]
    assert table.rows == [["Albanian", 2], ["Vietnamese", 1]]
    assert table.total == ["Total", 3]


def test_key_figures(world, supervisor):
    rows = dict(stats_for(supervisor).tables()["summary"].rows)
    assert rows["Modern slavery crimes recorded"] == 8
    assert rows["NRM referrals linked to a recorded crime"] == "1 (33.3%)"
    assert rows["Charge rate"] == "33.3% (1 of 3)"
    assert rows["Premature-closure flags per closure"] == (
        "0.67 (2 flags; 2 of 3 closures flagged)"
    )
    assert rows["Victims without contact for longer than their plan allows"] == (
        "2 of 4 with a safeguarding plan"
    )


# --- whose figures ------------------------------------------------------------------------


def test_every_gmp_case_worker_and_the_force_lead_count_the_same_cases(world, people):
    expected = stats_for(people["supervisor.gmp"])
    for username in ("safeguarding.gmp", "officer.gmp", "admin"):
        stats = stats_for(people[username])
        assert stats.crimes == expected.crimes, username
        assert stats.closures == expected.closures, username
        assert stats.contact == expected.contact, username


def test_another_force_sees_none_of_gmps_figures(world, people):
    stats = stats_for(people["supervisor.wyp"])
    assert stats.closures == {"charged": 1}
    assert stats.crimes == {"msa_s2": 1}  # W's victim's crime, not also its crime decision
    assert stats.nationalities == [{"label": "Polish", "n": 1}]
    assert stats.referrals == {}
    assert stats.contact == {"with_plan": 0, "overdue": 0}


def test_the_auditor_counts_nothing(world, people):
    assert not access.statistics_base(people["auditor"]).exists()
    stats = stats_for(people["auditor"])
    assert stats.crimes_total == 0 and stats.closures_total == 0
    assert stats.charge_rate == "Not applicable"


def test_a_case_shared_with_gmp_counts_for_gmp(world, people):
    supervisor = people["supervisor.gmp"]
    wyp = world["wyp"]
    case_actions.investigation_share(
        wyp,
        actor=people["supervisor.wyp"],
        reason="Victim moved to Manchester",
        force=supervisor.force,
    )
    assert stats_for(supervisor).closures == {"charged": 2, "nfa": 1, "caution": 1}
    # ...but not for GMP's force lead, who counts their own force's cases only.
    assert stats_for(people["admin"]).closures == {"charged": 1, "nfa": 1, "caution": 1}
    # ...and not when the supervisor chooses their own unit.
    assert stats_for(supervisor, unit=supervisor.unit).closures["charged"] == 1


# --- small helpers ----------------------------------------------------------------------


def test_percent_and_durations_read_well():
    assert percent(25, 1265) == "2%"
    assert percent(1, 3) == "33.3%"
    assert percent(3, 3) == "100%"
    assert percent(0, 0) == "Not applicable"
    assert describe_duration(timedelta(hours=14)) == "14 hours"
    assert describe_duration(timedelta(hours=1)) == "1 hour"
    assert describe_duration(timedelta(days=6, hours=12)) == "6.5 days"
    assert describe_duration(timedelta(days=1)) == "1 day"
    assert describe_duration(None) == "Not applicable"


def test_the_period_covers_whole_days_in_london_time():
    period = q.Period(date(2026, 3, 1), date(2026, 3, 31))
    assert period.start_at == datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    assert period.end_at == datetime(2026, 3, 31, 23, 0, tzinfo=UTC)  # 1 April 00:00 BST
    assert period.label == "1 March 2026 to 31 March 2026"
    assert q.Period.last_12_months(date(2026, 6, 15)) == q.Period(
        date(2025, 6, 16), date(2026, 6, 15)
    )
    assert q.Period.last_12_months(date(2028, 2, 29)).start == date(2027, 3, 1)
