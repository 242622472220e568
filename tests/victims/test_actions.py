"""victims/actions.py: multi-victim intake (one record, one involvement and one modern slavery
crime per person, all or nothing), accounts, disclosures and the offences they need, custody
events, edits; each action's refusals and the audit rows and timeline events it writes."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from investigations import actions as case_actions
from investigations.models import (
    CrimeDecision,
    Investigation,
    Offence,
    OffenceType,
    TimelineEvent,
    TimelineKind,
)
from slaverycases.accounts import roles
from slaverycases.accounts.models import Unit, User
from slaverycases.audit.models import AuditAction, AuditEvent
from slaverycases.core.errors import DomainError, NotPermitted, StaleEdit, TransitionNotAllowed
from tests import factories
from victims import actions
from victims.models import (
    CustodyEvent,
    Disclosure,
    ImmigrationStatus,
    Involvement,
    S45Decision,
    Victim,
)

pytestmark = pytest.mark.django_db


# --- helpers shared with the other victims and safeguarding tests ----------------------------

_refs = {"n": 0}


def make_user(username: str, *, unit: Unit, role: str) -> User:
    user = User.objects.create(
        username=username,
        first_name=username.split(".")[0].title(),
        last_name="Tester",
        force=unit.force,
        unit=unit,
    )
    user.groups.add(Group.objects.get(name=role))
    return user


def crime_ref() -> str:
    _refs["n"] += 1
    return f"VT/26/{_refs['n']:06d}"


def person(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "crime_reference": fields.pop("crime_reference", crime_ref()), **fields}


def years_ago(years: int, days: int = 0) -> date:
    """A date of birth: `years` whole years ago (same day and month), then `days` earlier."""
    today = timezone.localdate()
    try:
        born = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        born = today.replace(year=today.year - years, day=28)
    return born - timedelta(days=days)


def add_victims(
    inv: Investigation,
    actor: User,
    *people: dict[str, Any],
    identified_at: datetime | None = None,
    offence_type: str = OffenceType.MSA_S1,
    indicators: tuple[str, ...] = (),
) -> list[Involvement]:
    return actions.victims_add_to_investigation(
        inv,
        actor=actor,
        people=list(people),
        identified_at=identified_at or timezone.now() - timedelta(days=1),
        offence_type=offence_type,
        indicators=indicators,
    )


def counts() -> dict[str, int]:
    """Every row a victims or safeguarding write may add, to show a refusal added nothing."""
    from safeguarding.models import Contact, MissingEpisode, Relocation, SafeguardingPlan

    models = [
        Victim,
        Involvement,
        Offence,
        Disclosure,
        CustodyEvent,
        TimelineEvent,
        AuditEvent,
        SafeguardingPlan,
        Contact,
        Relocation,
        MissingEpisode,
    ]
    found = {m.__name__: m.objects.count() for m in models}
    # A refused or hidden page is itself recorded (a security event), and a refused form that
    # shows the record again is a consultation of it: neither is a write of data.
    found["AuditEvent"] = AuditEvent.objects.exclude(
        action__in=[AuditAction.ACCESS_DENIED, AuditAction.CONSULTATION]
    ).count()
    return found


def new_audits(since: int, **filters: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(pk__gt=since, **filters).order_by("id"))


def last_audit_id() -> int:
    last = AuditEvent.objects.order_by("-id").first()
    return last.pk if last else 0


def new_events(inv: Investigation, since: int) -> list[TimelineEvent]:
    return list(TimelineEvent.objects.filter(investigation=inv, pk__gt=since).order_by("id"))


def last_event_id() -> int:
    last = TimelineEvent.objects.order_by("-id").first()
    return last.pk if last else 0


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def case(officer, supervisor):
    """A GMP case, allocated to officer.gmp and supervised by supervisor.gmp, reported 3 days
    ago."""
    return factories.investigation(officer, stage="allocated", supervisor=supervisor)


@pytest.fixture
def victim_a(case, officer):
    (involvement,) = add_victims(case, officer, person("Andrei Ionescu", nationality="Romanian"))
    return involvement


# --- multi-victim intake -----------------------------------------------------------------------


def test_victims_found_together_each_get_a_record_an_involvement_and_a_crime(case, officer):
    identified = timezone.now() - timedelta(days=1)
    audit_since, event_since = last_audit_id(), last_event_id()
    version = case.version
    created = add_victims(
        case,
        officer,
        person("Andrei Ionescu", nationality="Romanian", crime_reference="GMP/26/900001"),
        person("Mihai Popa", date_of_birth=years_ago(30), crime_reference="GMP/26/900002"),
        person("Elena Dumitru", may_be_under_18=True, crime_reference="GMP/26/900003"),
        identified_at=identified,
        offence_type=OffenceType.MSA_S2,
        indicators=("movement", "documents", "movement"),
    )

    assert [i.label for i in created] == ["Victim A", "Victim B", "Victim C"]
    assert Victim.objects.count() == 3
    involvements = list(Involvement.objects.filter(investigation=case).order_by("id"))
    assert [(i.label, i.victim.name) for i in involvements] == [
        ("Victim A", "Andrei Ionescu"),
        ("Victim B", "Mihai Popa"),
        ("Victim C", "Elena Dumitru"),
    ]
    for involvement in involvements:
        assert involvement.identified_at == identified
        assert involvement.identified_by == officer
        assert involvement.indicators == ["documents", "movement"]
        assert not involvement.spoken_to
        victim = involvement.victim
        assert victim.created_by == officer
        assert victim.current_force == case.force
    # one modern slavery crime per victim, each recorded for its own victim
    crimes = Offence.objects.filter(investigation=case, offence_type=OffenceType.MSA_S2)
    assert {(o.crime_reference, o.victim.name) for o in crimes} == {
        ("GMP/26/900001", "Andrei Ionescu"),
        ("GMP/26/900002", "Mihai Popa"),
        ("GMP/26/900003", "Elena Dumitru"),
    }
    assert all(o.recorded_by == officer for o in crimes)
    assert Victim.objects.get(name="Mihai Popa").date_of_birth == years_ago(30)
    assert Victim.objects.get(name="Elena Dumitru").may_be_under_18

    # one COLLECTION row per new record, and one for the case
    rows = new_audits(audit_since)
    assert [(r.action, r.object_type, r.object_repr) for r in rows] == [
        (AuditAction.COLLECTION, "victims.victim", "Andrei Ionescu"),
        (AuditAction.COLLECTION, "victims.victim", "Mihai Popa"),
        (AuditAction.COLLECTION, "victims.victim", "Elena Dumitru"),
        (AuditAction.COLLECTION, "investigations.investigation", case.reference),
    ]
    assert {r.investigation_reference for r in rows} == {case.reference}
    assert {r.actor_id for r in rows} == {officer.pk}

    (event,) = new_events(case, event_since)
    assert event.kind == TimelineKind.VICTIM
    assert event.actor == officer
    assert event.text == (
        "3 victims added, each with a modern slavery crime: Victim A (Andrei Ionescu), "
        "Victim B (Mihai Popa), Victim C (Elena Dumitru)"
    )
    case.refresh_from_db()
    assert case.version == version + 1


def test_one_victim_reads_in_the_singular(case, officer):
    since = last_event_id()
    add_victims(case, officer, person("Andrei Ionescu"))
    assert new_events(case, since)[0].text.startswith("Victim added with a modern slavery crime")


def test_labels_continue_from_the_victims_already_on_the_case(case, officer):
    add_victims(case, officer, person("Andrei Ionescu"), person("Mihai Popa"))
    (third,) = add_victims(case, officer, person("Elena Dumitru"))
    assert third.label == "Victim C"


def test_labels_run_on_past_z(case, officer):
    created = add_victims(case, officer, *(person(f"Worker number {i}") for i in range(28)))
    labels = [i.label for i in created]
    assert labels[0] == "Victim A"
    assert labels[25] == "Victim Z"
    assert labels[26:] == ["Victim AA", "Victim AB"]
    assert Offence.objects.filter(investigation=case, victim__isnull=False).count() == 28


def test_adding_victims_records_the_crime_when_none_was_recorded(officer):
    inv = factories.investigation(officer, stage="reported")
    inv = case_actions.investigation_record_crime_decision(
        inv,
        actor=officer,
        expected_version=inv.version,
        decision=CrimeDecision.NOT_RECORDED,
        decided_at=inv.reported_at + timedelta(hours=1),
        not_recorded_reason="No victim identified yet.",
    )
    assert inv.crime_recorded_at is None
    add_victims(inv, officer, person("Andrei Ionescu"))
    inv.refresh_from_db()
    assert inv.crime_recorded_at is not None


def test_a_recorded_crime_date_is_kept(case, officer):
    recorded = case.crime_recorded_at
    add_victims(case, officer, person("Andrei Ionescu"))
    case.refresh_from_db()
    assert case.crime_recorded_at == recorded


def test_an_existing_record_is_linked_not_copied(case, officer, supervisor):
    (first,) = add_victims(case, officer, person("Andrei Ionescu"))
    other = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    audit_since = last_audit_id()
    (linked,) = add_victims(
        other,
        officer,
        person("Andrei Ionescu", existing_victim=first.victim, crime_reference="GMP/26/777"),
    )
    assert linked.victim_id == first.victim_id
    assert linked.label == "Victim A"
    assert Victim.objects.count() == 1
    assert Offence.objects.get(crime_reference="GMP/26/777").victim_id == first.victim_id
    combination = new_audits(audit_since, action=AuditAction.COMBINATION)
    assert len(combination) == 1
    assert combination[0].object_type == "victims.victim"
    assert combination[0].object_id == str(first.victim_id)
    assert combination[0].investigation_reference == other.reference
    assert combination[0].detail == {"linked_to": other.reference}
    assert not new_audits(audit_since, action=AuditAction.COLLECTION, object_type="victims.victim")


def test_a_victim_already_on_the_case_is_refused(case, officer, victim_a):
    before = counts()
    with pytest.raises(DomainError, match="already a victim in this investigation"):
        add_victims(case, officer, person("Andrei Ionescu", existing_victim=victim_a.victim))
    assert counts() == before


@pytest.mark.parametrize(
    "who",
    ["officer.wyp", "supervisor.wyp", "safeguarding.gmp", "auditor", "admin", "shared_only"],
)
def test_only_the_case_team_may_add_victims(case, people, supervisor, who):
    if who == "shared_only":
        actor = people["officer.wyp"]
        case_actions.investigation_share(
            case, actor=supervisor, reason="Joint operation", unit=actor.unit
        )
    else:
        actor = people[who]
    before = counts()
    with pytest.raises(NotPermitted):
        add_victims(case, actor, person("Andrei Ionescu"))
    assert counts() == before


def test_another_officer_of_the_unit_may_add_victims(case, officer):
    colleague = make_user("colleague.gmp", unit=officer.unit, role=roles.OFFICER)
    (involvement,) = add_victims(case, colleague, person("Andrei Ionescu"))
    assert involvement.identified_by == colleague


def test_victims_cannot_be_added_before_the_crime_decision(officer):
    inv = factories.investigation(officer, stage="reported")
    before = counts()
    with pytest.raises(DomainError, match="crime recording decision"):
        add_victims(inv, officer, person("Andrei Ionescu"))
    assert counts() == before


def test_victims_cannot_be_added_to_a_closed_case(officer, supervisor):
    inv = factories.investigation(officer, stage="closed", supervisor=supervisor)
    before = counts()
    with pytest.raises(TransitionNotAllowed, match="closed"):
        add_victims(inv, officer, person("Andrei Ionescu"))
    assert counts() == before


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"offence_type": OffenceType.RAPE}, "Choose the modern slavery offence"),
        ({"identified_at": timedelta(hours=1)}, "today or in the past"),
        ({"identified_at": -timedelta(days=30)}, "before the report"),
    ],
    ids=["not-modern-slavery", "future", "before-report"],
)
def test_bad_intake_answers_are_refused(case, officer, kwargs, message):
    if "identified_at" in kwargs:  # an offset from now, taken when the test runs
        kwargs = {"identified_at": timezone.now() + kwargs["identified_at"]}
    before = counts()
    with pytest.raises(DomainError, match=message):
        add_victims(case, officer, person("Andrei Ionescu"), **kwargs)
    assert counts() == before


def test_an_empty_batch_is_refused(case, officer):
    with pytest.raises(DomainError, match="at least one victim"):
        add_victims(case, officer)


def test_a_crime_reference_twice_in_the_batch_refuses_the_whole_batch(case, officer):
    before = counts()
    with pytest.raises(DomainError, match="its own crime reference"):
        add_victims(
            case,
            officer,
            person("Andrei Ionescu", crime_reference="GMP/26/1"),
            person("Mihai Popa", crime_reference="GMP/26/2"),
            person("Elena Dumitru", crime_reference="GMP/26/1"),
        )
    assert counts() == before


def test_a_crime_reference_used_in_the_force_refuses_the_whole_batch(case, officer, supervisor):
    other = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    add_victims(other, officer, person("Someone Else", crime_reference="GMP/26/555"))
    before = counts()
    with pytest.raises(DomainError, match="GMP/26/555 is already used in this force"):
        add_victims(
            case,
            officer,
            person("Andrei Ionescu", crime_reference="GMP/26/554"),
            person("Mihai Popa", crime_reference="GMP/26/555"),
        )
    assert counts() == before


def test_the_crime_recorded_for_the_report_becomes_the_first_victims_crime(case, officer):
    """One crime per victim (Home Office Counting Rules): the crime recorded for the report
    before anyone was identified is the victim's who is given its reference, not a second
    crime; once theirs, it is used and no one else takes it."""
    first = Offence.objects.get(investigation=case)
    assert first.victim is None
    (involvement,) = add_victims(
        case, officer, person("Andrei Ionescu", crime_reference=first.crime_reference)
    )
    first.refresh_from_db()
    assert first.victim == involvement.victim
    assert Offence.objects.filter(investigation=case).count() == 1
    with pytest.raises(DomainError, match="already used in this force"):
        add_victims(case, officer, person("Mihai Popa", crime_reference=first.crime_reference))


def test_a_crime_reference_of_another_force_may_be_used(case, officer, people):
    wyp = people["officer.wyp"]
    wyp_case = factories.investigation(wyp, stage="allocated", supervisor=people["supervisor.wyp"])
    add_victims(wyp_case, wyp, person("Piotr Nowak", crime_reference="SHARED/1"))
    add_victims(case, officer, person("Andrei Ionescu", crime_reference="SHARED/1"))
    assert Offence.objects.filter(crime_reference="SHARED/1").count() == 2


def test_a_future_date_of_birth_refuses_the_whole_batch(case, officer):
    before = counts()
    with pytest.raises(DomainError, match="Date of birth must be in the past"):
        add_victims(
            case,
            officer,
            person("Andrei Ionescu", date_of_birth=years_ago(20)),
            person("Mihai Popa", date_of_birth=timezone.localdate() + timedelta(days=1)),
        )
    assert counts() == before


# --- the child rule ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "child"),
    [
        ({"date_of_birth": (17, 0)}, True),
        ({"date_of_birth": (18, -1)}, True),  # 18 tomorrow
        ({"date_of_birth": (18, 2)}, False),  # 18 two days ago, identified yesterday
        ({"estimated_age": 17}, True),
        ({"estimated_age": 19}, False),
        ({"may_be_under_18": True}, True),
        ({"may_be_under_18": True, "estimated_age": 25}, True),
        ({}, False),
    ],
)
def test_who_is_a_child(case, officer, fields, child):
    if "date_of_birth" in fields:  # (years, days) before today, as the test runs
        fields = {**fields, "date_of_birth": years_ago(*fields["date_of_birth"])}
    (involvement,) = add_victims(case, officer, person("Someone", **fields))
    assert Victim.objects.get(pk=involvement.victim_id).is_child is child


def test_an_age_assessment_ends_the_presumption_of_childhood(case, officer):
    (involvement,) = add_victims(
        case, officer, person("Tran Thi Mai", may_be_under_18=True, estimated_age=17)
    )
    victim = involvement.victim
    assert victim.is_child
    victim = actions.victim_update(
        victim,
        actor=officer,
        expected_version=victim.version,
        age_assessed_on=timezone.localdate(),
        estimated_age=19,
    )
    assert not victim.is_child
    assert victim.age_description == "About 19 (estimated)"


def test_a_child_at_the_time_of_exploitation_stays_a_child(case, officer):
    (involvement,) = add_victims(case, officer, person("Arben Hoxha", date_of_birth=years_ago(20)))
    victim = actions.victim_update(
        involvement.victim,
        actor=officer,
        expected_version=involvement.victim.version,
        exploitation_began=years_ago(3),
    )
    assert victim.is_child  # 17 when the exploitation began


def test_a_victim_identified_at_17_is_still_a_child_after_their_18th_birthday(case, officer):
    import time_machine

    (involvement,) = add_victims(
        case, officer, person("Arben Hoxha", date_of_birth=years_ago(18, days=-10))
    )
    assert Victim.objects.get(pk=involvement.victim_id).is_child
    with time_machine.travel(timezone.now() + timedelta(days=30)):
        assert Victim.objects.get(pk=involvement.victim_id).is_child


# --- accounts -------------------------------------------------------------------------------


def record_account(involvement: Involvement, actor: User, **overrides: Any) -> Involvement:
    kwargs: dict[str, Any] = {
        "taken_at": timezone.now() - timedelta(hours=2),
        "interpreter_used": True,
        "interpreter_language": "Romanian",
        "summary": "Recruited in Iasi with a promise of building work.",
        "indicators": ["debt", "documents", "debt"],
        **overrides,
    }
    return actions.involvement_record_account(involvement, actor=actor, **kwargs)


def test_record_an_account_with_an_interpreter(case, officer, victim_a):
    audit_since, event_since = last_audit_id(), last_event_id()
    taken = timezone.now() - timedelta(hours=2)
    involvement = record_account(victim_a, officer, taken_at=taken)
    involvement.refresh_from_db()
    assert involvement.spoken_to
    assert involvement.account_taken_at == taken
    assert involvement.account_taken_by == officer
    assert involvement.interpreter_language == "Romanian"
    assert involvement.indicators == ["debt", "documents"]
    assert involvement.indicator_labels == ["Debt bondage", "Retention of identity documents"]
    (event,) = new_events(case, event_since)
    assert event.kind == TimelineKind.VICTIM
    assert event.text == "Victim A's account taken with a Romanian interpreter"
    (row,) = new_audits(audit_since)
    assert row.action == AuditAction.COLLECTION
    assert row.object_type == "victims.involvement"
    assert row.object_id == str(victim_a.pk)
    assert row.investigation_reference == case.reference


def test_an_account_without_an_interpreter_drops_the_language(case, officer, victim_a):
    since = last_event_id()
    involvement = record_account(victim_a, officer, interpreter_used=False)
    involvement.refresh_from_db()
    assert involvement.interpreter_language == ""
    assert new_events(case, since)[0].text == "Victim A's account taken"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"taken_at": timedelta(hours=1)}, "today or in the past"),
        ({"taken_at": -timedelta(days=2)}, "before the victim was identified"),
        ({"interpreter_language": "  "}, "language the interpreter used"),
    ],
    ids=["future", "before-identified", "no-language"],
)
def test_bad_account_answers_are_refused(officer, victim_a, overrides, message):
    if "taken_at" in overrides:  # an offset from now, taken when the test runs
        overrides = {"taken_at": timezone.now() + overrides["taken_at"]}
    before = counts()
    with pytest.raises(DomainError, match=message):
        record_account(victim_a, officer, **overrides)
    assert counts() == before
    victim_a.refresh_from_db()
    assert not victim_a.spoken_to


@pytest.mark.parametrize("who", ["officer.wyp", "safeguarding.gmp", "auditor"])
def test_only_the_case_team_may_record_an_account(people, victim_a, who):
    with pytest.raises(NotPermitted):
        record_account(victim_a, people[who])
    victim_a.refresh_from_db()
    assert not victim_a.spoken_to


def test_no_account_on_a_closed_case(officer, supervisor):
    inv = factories.investigation(officer, stage="under_investigation", supervisor=supervisor)
    (involvement,) = add_victims(inv, officer, person("Andrei Ionescu"))
    _close(inv, officer, supervisor)
    with pytest.raises(TransitionNotAllowed):
        record_account(involvement, officer)


def _close(inv: Investigation, officer: User, supervisor: User) -> None:
    inv.refresh_from_db()
    case_actions.closure_request(
        inv,
        actor=officer,
        expected_version=inv.version,
        proposed_outcome="charged",
        proposed_nfa_reason="",
        rationale="Charged.",
    )
    inv.refresh_from_db()
    case_actions.closure_approve(
        inv, actor=supervisor, expected_version=inv.version, rationale="Agreed."
    )


# --- disclosures and the offences they need ---------------------------------------------------


def disclose(involvement: Involvement, actor: User, offence_type: str = OffenceType.RAPE):
    return actions.disclosure_record(
        involvement,
        actor=actor,
        offence_type=offence_type,
        disclosed_at=timezone.now() - timedelta(hours=1),
        account="Raped by the controller in the caravan.",
    )


def test_record_a_disclosure(case, officer, victim_a):
    audit_since, event_since = last_audit_id(), last_event_id()
    disclosure = disclose(victim_a, officer)
    assert disclosure.offence is None
    assert disclosure.recorded_by == officer
    assert disclosure.involvement == victim_a
    (event,) = new_events(case, event_since)
    assert event.kind == TimelineKind.VICTIM
    assert event.text == "Victim A disclosed rape"
    (row,) = new_audits(audit_since)
    assert (row.action, row.object_type, row.object_id) == (
        AuditAction.COLLECTION,
        "victims.disclosure",
        str(disclosure.pk),
    )
    assert row.investigation_reference == case.reference


def test_a_disclosure_cannot_be_dated_in_the_future(officer, victim_a):
    with pytest.raises(DomainError, match="today or in the past"):
        actions.disclosure_record(
            victim_a,
            actor=officer,
            offence_type=OffenceType.RAPE,
            disclosed_at=timezone.now() + timedelta(hours=1),
            account="x",
        )
    assert not Disclosure.objects.exists()


@pytest.mark.parametrize("who", ["officer.wyp", "safeguarding.gmp", "auditor"])
def test_only_the_case_team_may_record_a_disclosure(people, victim_a, who):
    with pytest.raises(NotPermitted):
        disclose(victim_a, people[who])
    assert not Disclosure.objects.exists()


def test_link_a_disclosure_to_a_new_crime(case, officer, victim_a):
    disclosure = disclose(victim_a, officer)
    audit_since, event_since = last_audit_id(), last_event_id()
    offence = actions.disclosure_link_offence(
        disclosure, actor=officer, crime_reference="GMP/26/900010"
    )
    assert offence.offence_type == OffenceType.RAPE
    assert offence.victim_id == victim_a.victim_id
    assert offence.investigation_id == case.pk
    disclosure.refresh_from_db()
    assert disclosure.offence == offence
    (event,) = new_events(case, event_since)
    assert event.kind == TimelineKind.OFFENCE
    assert event.text == "Victim A's disclosure of rape recorded as GMP/26/900010"
    rows = new_audits(audit_since)
    assert [(r.action, r.object_type) for r in rows] == [
        (AuditAction.COLLECTION, "investigations.offence"),
        (AuditAction.ALTERATION, "victims.disclosure"),
    ]
    assert {r.investigation_reference for r in rows} == {case.reference}


def test_link_a_disclosure_to_a_crime_already_recorded(case, officer, victim_a):
    disclosure = disclose(victim_a, officer)
    recorded = case_actions.offence_record(
        case,
        actor=officer,
        crime_reference="GMP/26/900011",
        offence_type=OffenceType.RAPE,
        recorded_at=timezone.now() - timedelta(hours=1),
    )
    assert recorded.victim_id is None
    offence = actions.disclosure_link_offence(disclosure, actor=officer, offence=recorded)
    assert offence.pk == recorded.pk
    recorded.refresh_from_db()
    assert recorded.victim_id == victim_a.victim_id
    assert Offence.objects.filter(offence_type=OffenceType.RAPE).count() == 1


def test_a_disclosure_is_linked_only_once(officer, victim_a):
    disclosure = disclose(victim_a, officer)
    actions.disclosure_link_offence(disclosure, actor=officer, crime_reference="GMP/26/1")
    with pytest.raises(DomainError, match="already linked"):
        actions.disclosure_link_offence(disclosure, actor=officer, crime_reference="GMP/26/2")
    assert not Offence.objects.filter(crime_reference="GMP/26/2").exists()


def test_link_needs_an_offence_or_a_reference(officer, victim_a):
    disclosure = disclose(victim_a, officer)
    with pytest.raises(DomainError, match="Choose a recorded offence"):
        actions.disclosure_link_offence(disclosure, actor=officer, crime_reference="  ")


def test_link_refuses_a_crime_reference_used_in_the_force(case, officer, victim_a):
    disclosure = disclose(victim_a, officer)
    used = Offence.objects.filter(investigation=case).first().crime_reference
    before = counts()
    with pytest.raises(DomainError, match="already used"):
        actions.disclosure_link_offence(disclosure, actor=officer, crime_reference=used)
    assert counts() == before


def test_link_refuses_an_offence_that_does_not_match(case, officer, supervisor, victim_a):
    (victim_b,) = add_victims(case, officer, person("Mihai Popa"))
    disclosure = disclose(victim_a, officer)
    other_case = factories.investigation(officer, stage="allocated", supervisor=supervisor)

    def rape(inv: Investigation, ref: str, **extra: Any) -> Offence:
        return case_actions.offence_record(
            inv,
            actor=officer,
            crime_reference=ref,
            offence_type=extra.pop("offence_type", OffenceType.RAPE),
            recorded_at=timezone.now() - timedelta(hours=1),
            **extra,
        )

    wrong = [
        rape(case, "GMP/26/31", offence_type=OffenceType.ASSAULT),  # another type
        rape(case, "GMP/26/32", victim=victim_b.victim),  # another victim's
        rape(other_case, "GMP/26/33"),  # another case's
    ]
    for offence in wrong:
        with pytest.raises(DomainError, match="Choose an offence of the disclosed type"):
            actions.disclosure_link_offence(disclosure, actor=officer, offence=offence)
    disclosure.refresh_from_db()
    assert disclosure.offence is None


@pytest.mark.parametrize("who", ["officer.wyp", "safeguarding.gmp", "auditor"])
def test_only_the_case_team_may_link_a_disclosure(people, officer, victim_a, who):
    disclosure = disclose(victim_a, officer)
    with pytest.raises(NotPermitted):
        actions.disclosure_link_offence(disclosure, actor=people[who], crime_reference="X/1")
    assert not Offence.objects.filter(crime_reference="X/1").exists()


# --- custody events (the victim treated as an offender) ---------------------------------------


def custody(victim: Victim, inv: Investigation, actor: User, **overrides: Any) -> CustodyEvent:
    kwargs: dict[str, Any] = {
        "kind": "arrested",
        "offence": "Cannabis cultivation",
        "occurred_at": timezone.now() - timedelta(hours=3),
        "s45_decision": S45Decision.NOT_CONSIDERED,
        "s45_rationale": "",
        **overrides,
    }
    return actions.custody_event_record(victim, investigation=inv, actor=actor, **kwargs)


def test_record_an_arrest_with_section_45_not_considered(case, officer, victim_a):
    audit_since, event_since = last_audit_id(), last_event_id()
    event = custody(victim_a.victim, case, officer)
    assert event.s45_decision == S45Decision.NOT_CONSIDERED
    assert event.recorded_by == officer
    assert event.investigation == case
    (timeline,) = new_events(case, event_since)
    assert timeline.kind == TimelineKind.VICTIM
    assert timeline.text == (
        "Andrei Ionescu arrested for Cannabis cultivation; section 45: not yet considered"
    )
    (row,) = new_audits(audit_since)
    assert (row.action, row.object_type) == (AuditAction.COLLECTION, "victims.custodyevent")
    assert row.investigation_reference == case.reference


def test_a_section_45_decision_needs_reasons(case, officer, victim_a):
    with pytest.raises(DomainError, match="reasons for the section 45 decision"):
        custody(victim_a.victim, case, officer, s45_decision=S45Decision.APPLIES)
    assert not CustodyEvent.objects.exists()
    event = custody(
        victim_a.victim,
        case,
        officer,
        kind="charged",
        s45_decision=S45Decision.APPLIES,
        s45_rationale="Compelled by the controllers; a direct consequence of trafficking.",
    )
    assert event.get_s45_decision_display() == "Considered: the defence may apply"


def test_a_custody_event_cannot_be_in_the_future(case, officer, victim_a):
    with pytest.raises(DomainError, match="today or in the past"):
        custody(victim_a.victim, case, officer, occurred_at=timezone.now() + timedelta(hours=1))
    assert not CustodyEvent.objects.exists()


@pytest.mark.parametrize("who", ["officer.wyp", "safeguarding.gmp", "auditor"])
def test_only_the_case_team_may_record_a_custody_event(case, people, victim_a, who):
    with pytest.raises(NotPermitted):
        custody(victim_a.victim, case, people[who])
    assert not CustodyEvent.objects.exists()


def test_a_custody_event_needs_the_victim_to_be_in_the_case(case, officer, supervisor, victim_a):
    other = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    with pytest.raises(DomainError):
        custody(victim_a.victim, other, officer)


# --- editing a victim's record ----------------------------------------------------------------


def test_update_a_victims_record(officer, victim_a):
    victim = victim_a.victim
    since = last_audit_id()
    updated = actions.victim_update(
        victim,
        actor=officer,
        expected_version=victim.version,
        name="Andrei Ionescu",  # unchanged
        phone="07700 900123",
        immigration_status=ImmigrationStatus.ASYLUM,
    )
    assert updated.version == victim.version + 1
    fresh = Victim.objects.get(pk=victim.pk)
    assert (fresh.phone, fresh.immigration_status) == ("07700 900123", "asylum")
    (row,) = new_audits(since)
    assert row.action == AuditAction.ALTERATION
    assert row.object_type == "victims.victim"
    assert row.detail == {"fields": ["phone", "immigration_status"]}


def test_an_edit_of_an_old_copy_is_refused(officer, supervisor, victim_a):
    victim = victim_a.victim
    actions.victim_update(victim, actor=officer, expected_version=victim.version, phone="1")
    with pytest.raises(StaleEdit):
        actions.victim_update(victim, actor=supervisor, expected_version=victim.version, phone="2")
    assert Victim.objects.get(pk=victim.pk).phone == "1"


def test_a_future_date_of_birth_is_refused_on_edit(officer, victim_a):
    victim = victim_a.victim
    with pytest.raises(DomainError, match="Date of birth must be in the past"):
        actions.victim_update(
            victim,
            actor=officer,
            expected_version=victim.version,
            date_of_birth=timezone.localdate() + timedelta(days=1),
        )
    assert Victim.objects.get(pk=victim.pk).version == victim.version


@pytest.mark.parametrize("who", ["auditor", "officer.wyp"])
def test_only_those_who_may_change_the_victim_may_update_it(people, victim_a, who):
    victim = victim_a.victim
    with pytest.raises(NotPermitted):
        actions.victim_update(
            victim, actor=people[who], expected_version=victim.version, address="Somewhere"
        )


def test_viewing_a_victim_is_a_consultation(officer, victim_a):
    since = last_audit_id()
    actions.victim_consulted(victim_a.victim, actor=officer)
    (row,) = new_audits(since)
    assert row.action == AuditAction.CONSULTATION
    assert row.object_id == str(victim_a.victim_id)
    assert row.actor == officer


def test_recording_the_s45_consideration_after_an_arrest(case, officer):
    (involvement,) = add_victims(case, officer, person("Arben Hoxha", estimated_age=16))
    event = actions.custody_event_record(
        involvement.victim,
        investigation=case,
        actor=officer,
        kind="arrested",
        offence="Cannabis cultivation",
        occurred_at=timezone.now() - timedelta(hours=2),
        s45_decision="not_considered",
        s45_rationale="",
    )
    with pytest.raises(DomainError, match="Select the outcome"):
        actions.custody_event_record_s45(
            event, actor=officer, s45_decision="not_considered", s45_rationale="x"
        )
    event = actions.custody_event_record_s45(
        event,
        actor=officer,
        s45_decision="applies",
        s45_rationale="Compelled to tend the plants: a direct consequence of being trafficked",
    )
    assert event.s45_decision == "applies"
    assert case.timeline.filter(text__startswith="Section 45 considered").exists()


def test_the_same_name_is_offered_first_among_many_sharing_a_name_part(case, officer):
    """Five are offered: the same name before others sharing a name part (here the first
    name and the nationality), whatever the alphabet says."""
    add_victims(
        case,
        officer,
        *(
            person(f"Ana {surname}", nationality="Romanian")
            for surname in ("Albu", "Barbu", "Cazacu", "Dinu", "Enache", "Popescu")
        ),
    )
    offered = list(
        Victim.objects.possible_matches(
            name="ana popescu", date_of_birth=None, nationality="Romanian"
        )
    )
    assert len(offered) == 5
    assert offered[0].name == "Ana Popescu"
