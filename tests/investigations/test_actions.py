"""investigations/actions.py: every action's happy path, forbidden transitions, refusals, and the
timeline event and audit row each writes; references without gaps; nothing half saved."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import DataError, connection, transaction
from django.utils import timezone

from investigations import actions
from investigations.models import (
    EXPLOITATION_BIT,
    ClosureDecision,
    ClosureReview,
    CrimeDecision,
    Enquiry,
    Investigation,
    InvestigationGroupObjectPermission,
    InvestigationUserObjectPermission,
    Offence,
    OffenceType,
    ReferenceCounter,
    Status,
    SupervisoryReview,
    Suspect,
    TimelineEvent,
    TimelineKind,
)
from slaverycases.accounts import roles
from slaverycases.accounts.actions import unit_ensure
from slaverycases.accounts.models import Force, Unit, User
from slaverycases.audit.models import AuditAction, AuditEvent
from slaverycases.core.errors import DomainError, NotPermitted, StaleEdit, TransitionNotAllowed
from tests import factories

pytestmark = pytest.mark.django_db

REFERENCE_RE = re.compile(r"^(?P<force>[A-Z]{2,10})-(?P<year>\d{4})-(?P<number>\d{6})$")


# --- helpers -----------------------------------------------------------------------------------


def make_user(username: str, *, unit: Unit, role: str, active: bool = True) -> User:
    user = User.objects.create(
        username=username,
        first_name=username.split(".")[0].title(),
        last_name="Tester",
        force=unit.force,
        unit=unit,
        is_active=active,
    )
    user.groups.add(Group.objects.get(name=role))
    return user


def events(inv: Investigation) -> list[TimelineEvent]:
    return list(TimelineEvent.objects.filter(investigation_id=inv.pk).order_by("id"))


def last_event(inv: Investigation) -> TimelineEvent:
    return TimelineEvent.objects.filter(investigation_id=inv.pk).latest("id")


def audits(inv: Investigation) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(investigation_reference=inv.reference).order_by("id"))


def last_audit(inv: Investigation) -> AuditEvent:
    return AuditEvent.objects.filter(investigation_reference=inv.reference).latest("id")


def snapshot(inv: Investigation) -> dict:
    """Everything an action may write for a case, to show that a refusal wrote nothing."""
    fresh = Investigation.objects.get(pk=inv.pk)
    return {
        "row": {
            f.attname: getattr(fresh, f.attname)
            for f in Investigation._meta.concrete_fields
            if f.attname != "id"
        },
        "exploitation": sorted(fresh.exploitation.values_list("type", flat=True)),
        "offences": list(Offence.objects.filter(investigation=fresh).values()),
        "enquiries": list(Enquiry.objects.filter(investigation=fresh).values()),
        "suspects": list(Suspect.objects.filter(investigation=fresh).values()),
        "reviews": SupervisoryReview.objects.filter(investigation=fresh).count(),
        "closure_reviews": list(ClosureReview.objects.filter(investigation=fresh).values()),
        "timeline": TimelineEvent.objects.filter(investigation=fresh).count(),
        "audit": AuditEvent.objects.filter(investigation_reference=fresh.reference).count(),
        "user_grants": InvestigationUserObjectPermission.objects.filter(
            content_object=fresh
        ).count(),
        "group_grants": InvestigationGroupObjectPermission.objects.filter(
            content_object=fresh
        ).count(),
    }


def create(actor: User, **overrides) -> Investigation:
    fields = {
        "title": "Car wash workers",
        "summary": "Men sleeping on site, paid nothing.",
        "source": "public",
        "exploitation_types": ["labour"],
        "reported_at": timezone.now() - timedelta(days=2),
        "location": "Ashton Old Road",
    }
    fields.update(overrides)
    return actions.investigation_create(actor=actor, **fields)


@pytest.fixture
def second_supervisor(officer):
    return make_user("second.supervisor", unit=officer.unit, role=roles.SUPERVISOR)


@pytest.fixture
def other_force_supervisor(people):
    return people["supervisor.wyp"]


# --- investigation_create ----------------------------------------------------------------------


def test_create_logs_a_report_with_a_reference_timeline_and_audit(officer):
    reported = timezone.now() - timedelta(days=1)
    inv = create(officer, reported_at=reported, exploitation_types=["sexual", "labour", "sexual"])

    inv = Investigation.objects.get(pk=inv.pk)
    match = REFERENCE_RE.match(inv.reference)
    assert match, inv.reference
    assert match["force"] == "GMP"
    assert int(match["year"]) == timezone.localdate().year
    assert match["number"] == "000001"
    assert inv.status == Status.REPORTED
    assert inv.force == officer.force
    assert inv.unit == officer.unit
    assert inv.created_by == officer
    assert inv.reported_at == reported
    assert inv.version == 1
    assert sorted(inv.exploitation.values_list("type", flat=True)) == ["labour", "sexual"]
    assert inv.exploitation_bits == EXPLOITATION_BIT["labour"] | EXPLOITATION_BIT["sexual"]
    assert inv.exploitation_types == ["labour", "sexual"]

    [event] = events(inv)
    assert event.kind == TimelineKind.CREATED
    assert event.actor == officer
    assert event.text == "Source: Member of the public"  # shown after "Report logged: "

    [audit] = audits(inv)
    assert audit.action == AuditAction.COLLECTION
    assert audit.actor == officer
    assert audit.actor_username == "officer.gmp"
    assert audit.object_type == "investigations.investigation"
    assert audit.object_id == str(inv.pk)


def test_references_are_numbered_per_force_and_year(officer, other_force_officer):
    first = create(officer)
    second = create(officer)
    wyp = create(other_force_officer)
    year = timezone.localdate().year
    assert first.reference == f"GMP-{year}-000001"
    assert second.reference == f"GMP-{year}-000002"
    assert wyp.reference == f"WYP-{year}-000001"
    assert ReferenceCounter.objects.get(force_code="GMP", year=year).last_number == 2


def test_create_can_log_for_an_explicit_unit(officer):
    other_unit = unit_ensure(force=officer.force, name="GMP Exploitation Team")
    inv = create(officer, unit=other_unit)
    assert inv.unit == other_unit
    assert inv.force == officer.force


@pytest.mark.parametrize("persona", ["safeguarding_lead", "auditor"])
def test_roles_without_intake_cannot_log_a_report(request, officer, persona):
    with pytest.raises(NotPermitted, match="role"):
        create(request.getfixturevalue(persona), unit=officer.unit)
    assert not Investigation.objects.exists()
    assert not ReferenceCounter.objects.filter(last_number__gt=0).exists()


def test_force_admin_cannot_log_a_report(force_admin, officer):
    with pytest.raises(NotPermitted, match="role"):
        create(force_admin, unit=officer.unit)


def test_an_officer_without_a_unit_cannot_log_a_report(officer):
    drifter = User.objects.create(username="no.unit", force=officer.force)
    drifter.groups.add(Group.objects.get(name=roles.OFFICER))
    with pytest.raises(NotPermitted, match="unit"):
        create(drifter)
    assert not Investigation.objects.exists()


def test_a_report_dated_in_the_future_is_refused_and_uses_no_number(officer):
    with pytest.raises(DomainError, match="today or in the past"):
        create(officer, reported_at=timezone.now() + timedelta(hours=1))
    assert not Investigation.objects.exists()
    assert create(officer).reference.endswith("-000001")


def test_a_failed_create_leaves_no_gap_in_the_numbers(officer):
    """The counter is bumped in the same transaction as the row: a failure rolls both back."""
    with pytest.raises(DataError):
        create(officer, title="x" * 201)  # longer than the column: the INSERT fails
    assert not Investigation.objects.exists()
    assert not TimelineEvent.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.COLLECTION).exists()
    assert create(officer).reference.endswith("-000001")
    assert create(officer).reference.endswith("-000002")


@pytest.mark.django_db(transaction=True)
def test_concurrent_creation_numbers_references_without_gaps_or_clashes(transactional_db, people):
    officer_pk = people["officer.gmp"].pk
    threads_n, per_thread = 8, 4
    barrier = threading.Barrier(threads_n)
    references: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            actor = User.objects.get(pk=officer_pk)  # own object, own connection
            barrier.wait(timeout=30)
            for _ in range(per_thread):
                inv = create(actor)
                with lock:
                    references.append(inv.reference)
        except BaseException as exc:  # noqa: BLE001  (reported by the assertion below)
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors, errors
    total = threads_n * per_thread
    year = timezone.localdate().year
    assert len(references) == total
    assert len(set(references)) == total
    numbers = sorted(int(REFERENCE_RE.match(r)["number"]) for r in references)
    assert numbers == list(range(1, total + 1))
    assert all(r.startswith(f"GMP-{year}-") for r in references)
    assert Investigation.objects.count() == total
    assert ReferenceCounter.objects.get(force_code="GMP", year=year).last_number == total


# --- investigation_update ----------------------------------------------------------------------


def test_update_changes_details_and_records_what_changed(officer):
    inv = create(officer)
    updated = actions.investigation_update(
        inv,
        actor=officer,
        expected_version=inv.version,
        title="Car wash workers, Ashton",
        summary=inv.summary,
        source="ngo",
        location=inv.location,
        exploitation_types=["labour", "criminal"],
    )
    fresh = Investigation.objects.get(pk=inv.pk)
    assert fresh.title == "Car wash workers, Ashton"
    assert fresh.source == "ngo"
    assert fresh.version == inv.version + 1 == updated.version
    assert sorted(fresh.exploitation.values_list("type", flat=True)) == ["criminal", "labour"]
    # The case row's bits follow the rows (the list's filter by type reads them).
    assert fresh.exploitation_types == ["criminal", "labour"]
    assert fresh.exploitation_labels == ["Criminal exploitation", "Labour exploitation"]
    event = last_event(inv)
    assert event.kind == TimelineKind.UPDATED
    assert event.text == "Changed title, source, exploitation types"
    audit = last_audit(inv)
    assert audit.action == AuditAction.ALTERATION
    assert audit.actor == officer
    assert audit.detail == {"fields": ["title", "source", "exploitation types"]}


def test_update_with_nothing_changed_writes_no_timeline_event(officer):
    inv = create(officer)
    before_events, before_audit = len(events(inv)), len(audits(inv))
    actions.investigation_update(
        inv,
        actor=officer,
        expected_version=inv.version,
        title=inv.title,
        summary=inv.summary,
        source=inv.source,
        location=inv.location,
        exploitation_types=["labour"],
    )
    assert len(events(inv)) == before_events
    assert len(audits(inv)) == before_audit


def test_two_edits_from_the_same_version_the_second_is_stale(officer, supervisor):
    inv = create(officer)
    loaded_version = inv.version
    common = {"summary": inv.summary, "source": inv.source, "location": inv.location}
    actions.investigation_update(
        inv,
        actor=officer,
        expected_version=loaded_version,
        title="First editor's title",
        exploitation_types=["labour"],
        **common,
    )
    before = snapshot(inv)
    with pytest.raises(StaleEdit, match="Someone else changed this record"):
        actions.investigation_update(
            inv,
            actor=supervisor,
            expected_version=loaded_version,
            title="Second editor's title",
            exploitation_types=["sexual"],
            **common,
        )
    assert snapshot(inv) == before
    fresh = Investigation.objects.get(pk=inv.pk)
    assert fresh.title == "First editor's title"
    assert list(fresh.exploitation.values_list("type", flat=True)) == ["labour"]


def test_update_of_a_closed_case_is_refused(officer, supervisor):
    inv = factories.investigation(officer, stage="closed", supervisor=supervisor)
    with pytest.raises(TransitionNotAllowed, match="closed"):
        actions.investigation_update(
            inv,
            actor=officer,
            expected_version=inv.version,
            title="Changed after closure",
            summary=inv.summary,
            source=inv.source,
            location=inv.location,
            exploitation_types=["labour"],
        )
    assert Investigation.objects.get(pk=inv.pk).title != "Changed after closure"


@pytest.mark.parametrize("persona", ["other_force_officer", "safeguarding_lead"])
def test_update_by_someone_outside_the_case_team_is_refused(request, officer, persona):
    inv = create(officer)
    before = snapshot(inv)
    with pytest.raises(NotPermitted):
        actions.investigation_update(
            inv,
            actor=request.getfixturevalue(persona),
            expected_version=inv.version,
            title="Hijacked",
            summary=inv.summary,
            source=inv.source,
            location=inv.location,
            exploitation_types=["labour"],
        )
    assert snapshot(inv) == before


# --- investigation_record_crime_decision --------------------------------------------------------


def test_recording_a_crime_records_the_first_offence(officer):
    inv = create(officer)
    decided = inv.reported_at + timedelta(hours=3)
    result = actions.investigation_record_crime_decision(
        inv,
        actor=officer,
        expected_version=inv.version,
        decision=CrimeDecision.RECORDED,
        decided_at=decided,
        crime_reference="GMP/26/000123",
        offence_type=OffenceType.MSA_S2,
    )
    fresh = Investigation.objects.get(pk=inv.pk)
    assert fresh.status == Status.RECORDED == result.status
    assert fresh.crime_decision == CrimeDecision.RECORDED
    assert fresh.crime_decision_at == decided
    assert fresh.crime_recorded_at == decided
    assert fresh.version == inv.version + 1
    [offence] = Offence.objects.filter(investigation=inv)
    assert offence.crime_reference == "GMP/26/000123"
    assert offence.offence_type == OffenceType.MSA_S2
    assert offence.recorded_at == decided
    assert offence.recorded_by == officer
    event = last_event(inv)
    assert event.kind == TimelineKind.CRIME_DECISION
    assert event.text.startswith("Crime recorded: GMP/26/000123")
    assert last_audit(inv).action == AuditAction.ALTERATION


def test_not_recording_a_crime_needs_and_keeps_a_reason(officer):
    inv = create(officer)
    actions.investigation_record_crime_decision(
        inv,
        actor=officer,
        expected_version=inv.version,
        decision=CrimeDecision.NOT_RECORDED,
        decided_at=inv.reported_at + timedelta(hours=1),
        not_recorded_reason="Duplicate of GMP-2026-000009",
    )
    fresh = Investigation.objects.get(pk=inv.pk)
    assert fresh.status == Status.RECORDED
    assert fresh.crime_decision == CrimeDecision.NOT_RECORDED
    assert fresh.crime_recorded_at is None
    assert fresh.crime_not_recorded_reason == "Duplicate of GMP-2026-000009"
    assert not Offence.objects.filter(investigation=inv).exists()
    assert last_event(inv).text == "Not recorded as a crime: Duplicate of GMP-2026-000009"


def test_a_crime_recorded_later_turns_a_not_recorded_decision_into_recorded(officer):
    """NCRS: "not recorded" was the decision on what was known; an offence recorded on the
    case later (here by the offence page) makes it recorded, the earlier reason on the
    timeline."""
    inv = create(officer)
    actions.investigation_record_crime_decision(
        inv,
        actor=officer,
        expected_version=inv.version,
        decision=CrimeDecision.NOT_RECORDED,
        decided_at=inv.reported_at + timedelta(hours=1),
        not_recorded_reason="No offence disclosed",
    )
    at = inv.reported_at + timedelta(days=1)
    actions.offence_record(
        inv, actor=officer, crime_reference="GMP/26/NCRS1", offence_type="msa_s1", recorded_at=at
    )
    fresh = Investigation.objects.get(pk=inv.pk)
    assert fresh.crime_decision == CrimeDecision.RECORDED
    assert fresh.crime_decision_at == at == fresh.crime_recorded_at
    assert fresh.crime_not_recorded_reason == ""
    texts = list(
        TimelineEvent.objects.filter(investigation=inv)
        .order_by("pk")
        .values_list("text", flat=True)
    )
    assert "Now recorded as a crime (it was not recorded: No offence disclosed)" in texts


def test_a_domain_error_mid_action_leaves_nothing_half_saved(officer):
    inv = create(officer)
    before = snapshot(inv)
    with pytest.raises(DomainError, match="before the report"):
        actions.investigation_record_crime_decision(
            inv,
            actor=officer,
            expected_version=inv.version,
            decision=CrimeDecision.RECORDED,
            decided_at=inv.reported_at - timedelta(minutes=1),
            crime_reference="GMP/26/1",
            offence_type=OffenceType.MSA_S1,
        )
    assert snapshot(inv) == before
    fresh = Investigation.objects.get(pk=inv.pk)
    assert fresh.status == Status.REPORTED
    assert fresh.crime_decision == ""


@pytest.mark.parametrize(
    ("decision", "extra", "message"),
    [
        (CrimeDecision.RECORDED, {"crime_reference": "", "offence_type": "msa_s1"}, "reference"),
        (CrimeDecision.RECORDED, {"crime_reference": "CR/1", "offence_type": "bogus"}, "type"),
        (CrimeDecision.NOT_RECORDED, {"not_recorded_reason": "   "}, "reason"),
    ],
)
def test_an_incomplete_crime_decision_is_refused_after_status_was_set(
    officer, decision, extra, message
):
    """The status is set on the locked copy before this check: the rollback must undo it."""
    inv = create(officer)
    before = snapshot(inv)
    with pytest.raises(DomainError, match=message):
        actions.investigation_record_crime_decision(
            inv,
            actor=officer,
            expected_version=inv.version,
            decision=decision,
            decided_at=inv.reported_at + timedelta(hours=1),
            **extra,
        )
    assert snapshot(inv) == before


def test_a_crime_decision_with_a_crime_reference_used_in_the_force_is_refused(officer, supervisor):
    used = factories.investigation(officer, stage="recorded").offences.get().crime_reference
    inv = create(officer)
    before = snapshot(inv)
    with pytest.raises(DomainError, match=f"{used} is already used in this force"):
        actions.investigation_record_crime_decision(
            inv,
            actor=officer,
            expected_version=inv.version,
            decision=CrimeDecision.RECORDED,
            decided_at=inv.reported_at + timedelta(hours=1),
            crime_reference=used,
            offence_type="msa_s1",
        )
    assert snapshot(inv) == before
    assert Offence.objects.filter(crime_reference=used).count() == 1


def one_behind_the_other(
    first: Callable[[], Any], second: Callable[[], Any]
) -> tuple[list[Any], list[BaseException]]:
    """Run `first` in a transaction kept open until `second`, started meanwhile in another
    connection, is seen waiting on a lock (pg_stat_activity); then commit the first and let the
    second go on. Returns what they returned (the first's, then the second's) and raised."""
    from tests.flags.test_worker_killed import backends

    first_done, commit_first = threading.Event(), threading.Event()
    results: list[Any] = []
    errors: list[BaseException] = []

    def run(work: Callable[[], Any], hold: bool) -> None:
        try:
            with transaction.atomic():
                results.append(work())
                if hold:
                    first_done.set()
                    assert commit_first.wait(60)
        except BaseException as exc:  # noqa: BLE001 - returned to the test
            errors.append(exc)
        finally:
            connection.close()

    holder = threading.Thread(target=run, args=(first, True))
    holder.start()
    assert first_done.wait(60), errors
    racer = threading.Thread(target=run, args=(second, False))
    racer.start()
    deadline = time.monotonic() + 60
    try:
        while not any(b["wait_type"] == "Lock" and b["blocked_by"] for b in backends()):
            assert racer.is_alive(), f"the second was not held back: {errors}"
            assert time.monotonic() < deadline, "the second did not wait for the first"
    finally:
        commit_first.set()
        holder.join()
        racer.join()
    return results, errors


@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_cases_recording_one_crime_reference_at_once_are_checked_in_turn(people):
    """Two officers record the same crime reference on two cases of the force at the same
    moment: the second waits for the first's transaction (seen waiting in pg_stat_activity)
    and is then refused, instead of both being saved."""
    officer, supervisor = people["officer.gmp"], people["supervisor.gmp"]
    first, second = (
        factories.investigation(officer, stage="under_investigation", supervisor=supervisor)
        for _ in range(2)
    )

    def record(case: Investigation) -> Callable[[], Any]:
        return lambda: actions.offence_record(
            case,
            actor=officer,
            crime_reference="GMP/26/RACE1",
            offence_type="msa_s1",
            recorded_at=timezone.now(),
        )

    _, errors = one_behind_the_other(record(first), record(second))
    (refused,) = errors
    assert isinstance(refused, DomainError)
    assert "GMP/26/RACE1 is already used in this force" in str(refused)
    assert Offence.objects.filter(crime_reference="GMP/26/RACE1").count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_the_same_report_sent_twice_at_once_is_logged_once(people):
    """Two submissions of one intake form at the same moment (a double click without
    JavaScript): the second waits on the first's token (seen in pg_stat_activity), then finds
    the report it logged."""
    import uuid

    officer = people["officer.gmp"]
    token = uuid.uuid4()
    report = {
        "title": "Nail bar",
        "summary": "Two young women, no pay.",
        "source": "ngo",
        "exploitation_types": ["labour"],
        "reported_at": timezone.now() - timedelta(hours=1),
    }

    def submit() -> tuple[Investigation, bool]:
        return actions.intake_submit(token, actor=officer, **report)

    results, errors = one_behind_the_other(submit, submit)
    assert not errors, errors
    (logged, first), (found, second) = results
    assert (first, second) == (True, False)
    assert found.pk == logged.pk
    assert Investigation.objects.count() == 1


def test_a_crime_decision_dated_in_the_future_is_refused(officer):
    inv = create(officer)
    before = snapshot(inv)
    with pytest.raises(DomainError, match="today or in the past"):
        actions.investigation_record_crime_decision(
            inv,
            actor=officer,
            expected_version=inv.version,
            decision=CrimeDecision.NOT_RECORDED,
            decided_at=timezone.now() + timedelta(days=1),
            not_recorded_reason="No offence disclosed",
        )
    assert snapshot(inv) == before


def test_a_second_crime_decision_is_a_forbidden_transition(officer, supervisor):
    inv = factories.investigation(officer, stage="recorded", supervisor=supervisor)
    before = snapshot(inv)
    with pytest.raises(TransitionNotAllowed, match="recorded: that step is not possible"):
        actions.investigation_record_crime_decision(
            inv,
            actor=officer,
            expected_version=inv.version,
            decision=CrimeDecision.NOT_RECORDED,
            decided_at=inv.reported_at + timedelta(hours=1),
            not_recorded_reason="Changed my mind",
        )
    assert snapshot(inv) == before


@pytest.mark.parametrize("persona", ["other_force_officer", "safeguarding_lead"])
def test_crime_decision_by_someone_outside_the_case_team_is_refused(request, officer, persona):
    inv = create(officer)
    before = snapshot(inv)
    with pytest.raises(NotPermitted):
        actions.investigation_record_crime_decision(
            inv,
            actor=request.getfixturevalue(persona),
            expected_version=inv.version,
            decision=CrimeDecision.NOT_RECORDED,
            decided_at=inv.reported_at + timedelta(hours=1),
            not_recorded_reason="No crime",
        )
    assert snapshot(inv) == before


def test_crime_decision_on_a_stale_copy_is_refused(officer):
    inv = create(officer)
    with pytest.raises(StaleEdit):
        actions.investigation_record_crime_decision(
            inv,
            actor=officer,
            expected_version=inv.version + 1,
            decision=CrimeDecision.NOT_RECORDED,
            decided_at=inv.reported_at + timedelta(hours=1),
            not_recorded_reason="No crime",
        )
    assert Investigation.objects.get(pk=inv.pk).status == Status.REPORTED


# --- investigation_allocate --------------------------------------------------------------------


def test_allocate_names_the_officer_in_charge(officer, supervisor):
    inv = factories.investigation(officer, stage="recorded", supervisor=supervisor)
    result = actions.investigation_allocate(
        inv, actor=supervisor, expected_version=inv.version, oic=officer, supervisor=supervisor
    )
    fresh = Investigation.objects.get(pk=inv.pk)
    assert fresh.status == Status.ALLOCATED == result.status
    assert fresh.oic == officer
    assert fresh.supervisor == supervisor
    assert fresh.allocated_at is not None
    event = last_event(inv)
    assert event.kind == TimelineKind.ALLOCATED
    assert event.actor == supervisor
    assert event.text == (
        "Allocated to Priya Shah (officer in charge), supervised by Daniel Okafor"
    )
    audit = last_audit(inv)
    assert audit.action == AuditAction.ALTERATION
    assert audit.actor == supervisor


def test_reallocation_keeps_the_status_and_first_allocation_date(officer, supervisor):
    inv = factories.investigation(officer, stage="under_investigation", supervisor=supervisor)
    second_officer = make_user("second.officer", unit=officer.unit, role=roles.OFFICER)
    actions.investigation_allocate(
        inv,
        actor=supervisor,
        expected_version=inv.version,
        oic=second_officer,
        supervisor=supervisor,
    )
    fresh = Investigation.objects.get(pk=inv.pk)
    assert fresh.status == Status.UNDER_INVESTIGATION
    assert fresh.oic == second_officer
    assert fresh.allocated_at == inv.allocated_at
    assert last_event(inv).text.startswith("Re-allocated to Second Tester")


@pytest.mark.parametrize("stage", ["reported", "closure_requested", "closed"])
def test_allocating_in_a_forbidden_state_is_refused(officer, supervisor, stage):
    inv = factories.investigation(officer, stage=stage, supervisor=supervisor)
    before = snapshot(inv)
    with pytest.raises(TransitionNotAllowed):
        actions.investigation_allocate(
            inv, actor=supervisor, expected_version=inv.version, oic=officer, supervisor=supervisor
        )
    assert snapshot(inv) == before


@pytest.mark.parametrize("persona", ["officer", "safeguarding_lead", "other_force_supervisor"])
def test_only_a_supervisor_of_the_owning_unit_allocates(request, officer, supervisor, persona):
    inv = factories.investigation(officer, stage="recorded", supervisor=supervisor)
    before = snapshot(inv)
    with pytest.raises(NotPermitted):
        actions.investigation_allocate(
            inv,
            actor=request.getfixturevalue(persona),
            expected_version=inv.version,
            oic=officer,
            supervisor=supervisor,
        )
    assert snapshot(inv) == before


def test_the_officer_in_charge_must_be_an_active_member_of_the_unit(
    officer, supervisor, other_force_officer
):
    inv = factories.investigation(officer, stage="recorded", supervisor=supervisor)
    retired = make_user("retired.officer", unit=officer.unit, role=roles.OFFICER, active=False)
    before = snapshot(inv)
    for oic in (other_force_officer, retired):
        with pytest.raises(DomainError, match="active member of the owning unit"):
            actions.investigation_allocate(
                inv, actor=supervisor, expected_version=inv.version, oic=oic, supervisor=supervisor
            )
    assert snapshot(inv) == before


def test_the_supervisor_named_must_be_a_supervisor_of_the_unit(
    officer, supervisor, other_force_officer
):
    inv = factories.investigation(officer, stage="recorded", supervisor=supervisor)
    with pytest.raises(DomainError):
        actions.investigation_allocate(
            inv,
            actor=supervisor,
            expected_version=inv.version,
            oic=officer,
            supervisor=other_force_officer,
        )
    assert Investigation.objects.get(pk=inv.pk).supervisor_id is None


def test_allocate_on_a_stale_copy_is_refused(officer, supervisor):
    inv = factories.investigation(officer, stage="recorded", supervisor=supervisor)
    with pytest.raises(StaleEdit):
        actions.investigation_allocate(
            inv,
            actor=supervisor,
            expected_version=inv.version - 1,
            oic=officer,
            supervisor=supervisor,
        )
    assert Investigation.objects.get(pk=inv.pk).oic_id is None


# --- offence_record ----------------------------------------------------------------------------


def test_record_an_offence(officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    recorded = inv.reported_at + timedelta(days=1)
    offence = actions.offence_record(
        inv,
        actor=officer,
        crime_reference="GMP/26/555",
        offence_type=OffenceType.RAPE,
        recorded_at=recorded,
        notes="Disclosed in ABE interview",
    )
    assert offence.investigation_id == inv.pk
    assert offence.offence_type == OffenceType.RAPE
    assert offence.notes == "Disclosed in ABE interview"
    assert offence.recorded_by == officer
    fresh = Investigation.objects.get(pk=inv.pk)
    assert fresh.version == inv.version + 1
    event = last_event(inv)
    assert event.kind == TimelineKind.OFFENCE
    assert event.text == "Offence recorded: GMP/26/555 (Rape)"
    audit = last_audit(inv)
    assert audit.action == AuditAction.COLLECTION
    assert audit.object_type == "investigations.offence"
    assert audit.object_id == str(offence.pk)


def test_the_first_offence_after_a_no_crime_decision_sets_the_recorded_date(officer):
    inv = create(officer)
    inv = actions.investigation_record_crime_decision(
        inv,
        actor=officer,
        expected_version=inv.version,
        decision=CrimeDecision.NOT_RECORDED,
        decided_at=inv.reported_at + timedelta(hours=1),
        not_recorded_reason="Insufficient detail",
    )
    recorded = inv.reported_at + timedelta(days=1)
    actions.offence_record(
        inv,
        actor=officer,
        crime_reference="GMP/26/9",
        offence_type=OffenceType.MSA_S1,
        recorded_at=recorded,
    )
    assert Investigation.objects.get(pk=inv.pk).crime_recorded_at == recorded


def test_an_offence_before_the_crime_decision_is_refused(officer):
    inv = create(officer)
    before = snapshot(inv)
    with pytest.raises(TransitionNotAllowed, match="crime recording decision first"):
        actions.offence_record(
            inv,
            actor=officer,
            crime_reference="GMP/26/1",
            offence_type=OffenceType.MSA_S1,
            recorded_at=inv.reported_at + timedelta(hours=1),
        )
    assert snapshot(inv) == before


def test_an_offence_on_a_closed_case_is_refused(officer, supervisor):
    inv = factories.investigation(officer, stage="closed", supervisor=supervisor)
    before = snapshot(inv)
    with pytest.raises(TransitionNotAllowed, match="closed"):
        actions.offence_record(
            inv,
            actor=officer,
            crime_reference="GMP/26/1",
            offence_type=OffenceType.MSA_S1,
            recorded_at=inv.reported_at + timedelta(hours=1),
        )
    assert snapshot(inv) == before


def test_an_offence_recorded_before_the_report_is_refused(officer, supervisor):
    inv = factories.investigation(officer, stage="recorded", supervisor=supervisor)
    before = snapshot(inv)
    with pytest.raises(DomainError, match="before the report"):
        actions.offence_record(
            inv,
            actor=officer,
            crime_reference="GMP/26/1",
            offence_type=OffenceType.MSA_S1,
            recorded_at=inv.reported_at - timedelta(days=1),
        )
    assert snapshot(inv) == before


def test_an_offence_by_another_force_is_refused(officer, supervisor, other_force_officer):
    inv = factories.investigation(officer, stage="recorded", supervisor=supervisor)
    with pytest.raises(NotPermitted):
        actions.offence_record(
            inv,
            actor=other_force_officer,
            crime_reference="WYP/1",
            offence_type=OffenceType.MSA_S1,
            recorded_at=inv.reported_at + timedelta(hours=1),
        )
    assert Offence.objects.filter(investigation=inv).count() == 1


# --- enquiry_add / enquiry_complete ------------------------------------------------------------


def test_add_an_enquiry(officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    due = timezone.localdate() + timedelta(days=7)
    enquiry = actions.enquiry_add(
        inv, actor=officer, description="Check CCTV", substantive=True, owner=officer, due_date=due
    )
    assert enquiry.investigation_id == inv.pk
    assert enquiry.due_date == due
    assert enquiry.created_by == officer
    assert not enquiry.is_complete
    assert Investigation.objects.get(pk=inv.pk).version == inv.version + 1
    event = last_event(inv)
    assert event.kind == TimelineKind.ENQUIRY
    assert event.text == "Enquiry added: Check CCTV"
    audit = last_audit(inv)
    assert audit.action == AuditAction.COLLECTION
    assert audit.object_type == "investigations.enquiry"


def test_a_non_substantive_enquiry_says_so_on_the_timeline(officer):
    inv = create(officer)
    actions.enquiry_add(
        inv, actor=officer, description="Update the briefing", substantive=False, owner=officer
    )
    assert last_event(inv).text == "Enquiry added: Update the briefing (not substantive)"


def test_adding_an_enquiry_to_a_closed_case_is_refused(officer, supervisor):
    inv = factories.investigation(officer, stage="closed", supervisor=supervisor)
    before = snapshot(inv)
    with pytest.raises(TransitionNotAllowed, match="closed"):
        actions.enquiry_add(
            inv, actor=officer, description="Too late", substantive=True, owner=officer
        )
    assert snapshot(inv) == before


@pytest.mark.parametrize("persona", ["other_force_officer", "safeguarding_lead"])
def test_adding_an_enquiry_outside_the_case_team_is_refused(request, officer, persona):
    inv = create(officer)
    with pytest.raises(NotPermitted):
        actions.enquiry_add(
            inv,
            actor=request.getfixturevalue(persona),
            description="Snoop",
            substantive=True,
            owner=officer,
        )
    assert not Enquiry.objects.filter(investigation=inv).exists()


def test_the_first_substantive_enquiry_starts_the_investigation(officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    enquiry = actions.enquiry_add(
        inv, actor=officer, description="Take the account", substantive=True, owner=officer
    )
    done = inv.reported_at + timedelta(days=1)
    actions.enquiry_complete(enquiry, actor=officer, completed_at=done, result="Account taken")
    enquiry.refresh_from_db()
    assert enquiry.completed_at == done
    assert enquiry.result == "Account taken"
    fresh = Investigation.objects.get(pk=inv.pk)
    assert fresh.status == Status.UNDER_INVESTIGATION
    assert fresh.started_at == done
    assert fresh.days_to_start == 1
    completed, started = events(inv)[-2:]
    assert (completed.kind, completed.text) == (
        TimelineKind.ENQUIRY,
        "Enquiry completed: Take the account",
    )
    assert (started.kind, started.text) == (
        TimelineKind.STARTED,
        "First substantive enquiry completed",
    )
    enquiry_audit = AuditEvent.objects.get(
        object_type="investigations.enquiry",
        object_id=str(enquiry.pk),
        action=AuditAction.ALTERATION,
    )
    assert enquiry_audit.investigation_reference == inv.reference


def test_a_non_substantive_enquiry_does_not_start_the_investigation(officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    enquiry = actions.enquiry_add(
        inv, actor=officer, description="File note", substantive=False, owner=officer
    )
    actions.enquiry_complete(
        enquiry, actor=officer, completed_at=inv.reported_at + timedelta(days=1), result="Done"
    )
    fresh = Investigation.objects.get(pk=inv.pk)
    assert fresh.status == Status.ALLOCATED
    assert fresh.started_at is None
    assert last_event(inv).kind == TimelineKind.ENQUIRY


def test_an_earlier_substantive_enquiry_moves_the_start_date_back(officer, supervisor):
    inv = factories.investigation(officer, stage="under_investigation", supervisor=supervisor)
    earlier = inv.started_at - timedelta(hours=12)
    enquiry = actions.enquiry_add(
        inv, actor=officer, description="Earlier visit", substantive=True, owner=officer
    )
    actions.enquiry_complete(enquiry, actor=officer, completed_at=earlier, result="Visited")
    fresh = Investigation.objects.get(pk=inv.pk)
    assert fresh.started_at == earlier
    assert fresh.status == Status.UNDER_INVESTIGATION
    assert last_event(inv).kind == TimelineKind.ENQUIRY  # no second "started" event


def test_completing_an_enquiry_twice_is_refused(officer, supervisor):
    inv = factories.investigation(officer, stage="under_investigation", supervisor=supervisor)
    enquiry = Enquiry.objects.get(investigation=inv)
    before = snapshot(inv)
    with pytest.raises(DomainError, match="already complete"):
        actions.enquiry_complete(
            enquiry, actor=officer, completed_at=timezone.now(), result="Again"
        )
    assert snapshot(inv) == before


def test_an_enquiry_completed_before_the_report_is_refused(officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    enquiry = actions.enquiry_add(
        inv, actor=officer, description="Take the account", substantive=True, owner=officer
    )
    before = snapshot(inv)
    with pytest.raises(DomainError, match="before the report"):
        actions.enquiry_complete(
            enquiry,
            actor=officer,
            completed_at=inv.reported_at - timedelta(days=1),
            result="Account taken",
        )
    assert snapshot(inv) == before


def test_completing_an_enquiry_on_a_closed_case_is_refused(officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    enquiry = actions.enquiry_add(
        inv, actor=officer, description="Loose end", substantive=False, owner=officer
    )
    inv.refresh_from_db()
    actions.closure_request(
        inv,
        actor=officer,
        expected_version=inv.version,
        proposed_outcome="nfa",
        proposed_nfa_reason="evidential",
        rationale="Nothing to go on",
    )
    inv.refresh_from_db()
    actions.closure_approve(inv, actor=supervisor, expected_version=inv.version, rationale="Yes")
    before = snapshot(inv)
    with pytest.raises(TransitionNotAllowed, match="closed"):
        actions.enquiry_complete(enquiry, actor=officer, completed_at=timezone.now(), result="x")
    assert snapshot(inv) == before


def test_completing_an_enquiry_from_another_force_is_refused(
    officer, supervisor, other_force_officer
):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    enquiry = actions.enquiry_add(
        inv, actor=officer, description="Take the account", substantive=True, owner=officer
    )
    with pytest.raises(NotPermitted):
        actions.enquiry_complete(
            enquiry, actor=other_force_officer, completed_at=timezone.now(), result="x"
        )
    enquiry.refresh_from_db()
    assert enquiry.completed_at is None


# --- suspect_add / suspect_update --------------------------------------------------------------

SUSPECT = {
    "name": "Arben Krasniqi",
    "aliases": "Beni",
    "date_of_birth": None,
    "nationality": "Albanian",
    "role": "controller",
    "arrested_at": None,
    "charged_at": None,
    "outcome": "open",
    "prevention_order": "not_considered",
    "risk_order": "not_considered",
}


def test_add_a_suspect(officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    suspect = actions.suspect_add(inv, actor=officer, **SUSPECT)
    assert suspect.investigation_id == inv.pk
    assert suspect.created_by == officer
    event = last_event(inv)
    assert event.kind == TimelineKind.SUSPECT
    assert event.text == "Suspect added: Arben Krasniqi (Controller or enforcer)"
    audit = last_audit(inv)
    assert audit.action == AuditAction.COLLECTION
    assert audit.object_type == "investigations.suspect"


def test_adding_a_suspect_to_a_closed_case_is_refused(officer, supervisor):
    inv = factories.investigation(officer, stage="closed", supervisor=supervisor)
    with pytest.raises(TransitionNotAllowed):
        actions.suspect_add(inv, actor=officer, **SUSPECT)
    assert not Suspect.objects.filter(investigation=inv).exists()


def test_adding_a_suspect_from_another_force_is_refused(officer, other_force_officer):
    inv = create(officer)
    with pytest.raises(NotPermitted):
        actions.suspect_add(inv, actor=other_force_officer, **SUSPECT)
    assert not Suspect.objects.filter(investigation=inv).exists()


def test_update_a_suspect_records_the_fields_changed(officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    suspect = actions.suspect_add(inv, actor=officer, **SUSPECT)
    inv.refresh_from_db()
    arrested = timezone.now() - timedelta(hours=5)
    actions.suspect_update(
        suspect,
        actor=officer,
        expected_version=inv.version,
        **{**SUSPECT, "arrested_at": arrested, "outcome": "bail"},
    )
    suspect.refresh_from_db()
    assert suspect.arrested_at == arrested
    assert suspect.outcome == "bail"
    event = last_event(inv)
    assert event.kind == TimelineKind.SUSPECT
    assert event.text == "Suspect Arben Krasniqi updated: arrested at, outcome"
    audit = last_audit(inv)
    assert audit.action == AuditAction.ALTERATION
    assert audit.object_id == str(suspect.pk)


def test_a_suspect_charged_before_arrest_is_refused(officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    suspect = actions.suspect_add(inv, actor=officer, **SUSPECT)
    inv.refresh_from_db()
    before = snapshot(inv)
    now = timezone.now()
    with pytest.raises(DomainError, match="before the arrest"):
        actions.suspect_update(
            suspect,
            actor=officer,
            expected_version=inv.version,
            **{
                **SUSPECT,
                "arrested_at": now - timedelta(hours=1),
                "charged_at": now - timedelta(2),
            },
        )
    assert snapshot(inv) == before


def test_a_stale_suspect_update_is_refused(officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    suspect = actions.suspect_add(inv, actor=officer, **SUSPECT)
    inv.refresh_from_db()
    loaded = inv.version
    actions.suspect_update(
        suspect, actor=officer, expected_version=loaded, **{**SUSPECT, "outcome": "charged"}
    )
    with pytest.raises(StaleEdit):
        actions.suspect_update(
            suspect, actor=supervisor, expected_version=loaded, **{**SUSPECT, "outcome": "nfa"}
        )
    suspect.refresh_from_db()
    assert suspect.outcome == "charged"


# --- supervisory_review_add --------------------------------------------------------------------


def test_a_supervisor_records_a_review(officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    due = timezone.localdate() + timedelta(days=28)
    review = actions.supervisory_review_add(
        inv, actor=supervisor, direction="Trace the van", next_review_due=due
    )
    assert review.reviewer == supervisor
    assert review.next_review_due == due
    event = last_event(inv)
    assert (event.kind, event.text) == (TimelineKind.REVIEW, "Supervisory review: Trace the van")
    audit = last_audit(inv)
    assert audit.action == AuditAction.ALTERATION
    assert audit.object_type == "investigations.supervisoryreview"


@pytest.mark.parametrize("persona", ["officer", "other_force_supervisor", "safeguarding_lead"])
def test_only_a_unit_supervisor_reviews(request, officer, supervisor, persona):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    with pytest.raises(NotPermitted):
        actions.supervisory_review_add(
            inv, actor=request.getfixturevalue(persona), direction="x", next_review_due=None
        )
    assert not SupervisoryReview.objects.exists()


def test_reviewing_a_closed_case_is_refused(officer, supervisor):
    inv = factories.investigation(officer, stage="closed", supervisor=supervisor)
    with pytest.raises(TransitionNotAllowed):
        actions.supervisory_review_add(inv, actor=supervisor, direction="x", next_review_due=None)
    assert not SupervisoryReview.objects.exists()


# --- closure_request ---------------------------------------------------------------------------


def test_request_closure(officer, supervisor):
    inv = factories.investigation(officer, stage="under_investigation", supervisor=supervisor)
    review = actions.closure_request(
        inv,
        actor=officer,
        expected_version=inv.version,
        proposed_outcome="nfa",
        proposed_nfa_reason="victim_not_supporting",
        rationale="Victim withdrew support.",
    )
    assert review.decision == ClosureDecision.PENDING
    assert review.status_before == Status.UNDER_INVESTIGATION
    assert review.requested_by == officer
    assert review.proposed_nfa_reason == "victim_not_supporting"
    fresh = Investigation.objects.get(pk=inv.pk)
    assert fresh.status == Status.CLOSURE_REQUESTED
    assert fresh.closure_requested_at == review.requested_at
    event = last_event(inv)
    assert event.kind == TimelineKind.CLOSURE_REQUESTED
    assert event.text == "Closure requested (No further action): Victim withdrew support."
    audit = last_audit(inv)
    assert audit.action == AuditAction.ALTERATION
    assert audit.object_type == "investigations.closurereview"


def test_an_nfa_reason_is_dropped_for_other_outcomes(officer, supervisor):
    inv = factories.investigation(officer, stage="under_investigation", supervisor=supervisor)
    review = actions.closure_request(
        inv,
        actor=officer,
        expected_version=inv.version,
        proposed_outcome="charged",
        proposed_nfa_reason="evidential",
        rationale="Charged.",
    )
    assert review.proposed_nfa_reason == ""


def test_an_nfa_closure_needs_a_reason(officer, supervisor):
    inv = factories.investigation(officer, stage="under_investigation", supervisor=supervisor)
    before = snapshot(inv)
    with pytest.raises(DomainError, match="reason for no further action"):
        actions.closure_request(
            inv,
            actor=officer,
            expected_version=inv.version,
            proposed_outcome="nfa",
            proposed_nfa_reason="",
            rationale="Nothing more to do",
        )
    assert snapshot(inv) == before


@pytest.mark.parametrize("stage", ["reported", "closure_requested", "closed"])
def test_requesting_closure_in_a_forbidden_state_is_refused(officer, supervisor, stage):
    inv = factories.investigation(officer, stage=stage, supervisor=supervisor)
    before = snapshot(inv)
    with pytest.raises(TransitionNotAllowed):
        actions.closure_request(
            inv,
            actor=officer,
            expected_version=inv.version,
            proposed_outcome="charged",
            proposed_nfa_reason="",
            rationale="Close it",
        )
    assert snapshot(inv) == before


@pytest.mark.parametrize("persona", ["safeguarding_lead", "other_force_officer"])
def test_requesting_closure_outside_the_case_team_is_refused(request, officer, supervisor, persona):
    inv = factories.investigation(officer, stage="under_investigation", supervisor=supervisor)
    before = snapshot(inv)
    with pytest.raises(NotPermitted):
        actions.closure_request(
            inv,
            actor=request.getfixturevalue(persona),
            expected_version=inv.version,
            proposed_outcome="charged",
            proposed_nfa_reason="",
            rationale="Close it",
        )
    assert snapshot(inv) == before


# --- closure_approve / closure_reject ----------------------------------------------------------


def test_approve_closure(officer, supervisor):
    inv = factories.investigation(officer, stage="closure_requested", supervisor=supervisor)
    result = actions.closure_approve(
        inv, actor=supervisor, expected_version=inv.version, rationale="Charge authorised by CPS."
    )
    fresh = Investigation.objects.get(pk=inv.pk)
    assert fresh.status == Status.CLOSED == result.status
    assert fresh.outcome == "charged"
    assert fresh.nfa_reason == ""
    assert fresh.outcome_rationale == "Charge authorised by CPS."
    assert fresh.closed_at is not None
    review = ClosureReview.objects.get(investigation=inv)
    assert review.decision == ClosureDecision.APPROVED
    assert review.reviewer == supervisor
    assert review.decision_rationale == "Charge authorised by CPS."
    event = last_event(inv)
    assert event.kind == TimelineKind.CLOSURE_APPROVED
    assert event.text == "Closure approved (Charged or summonsed): Charge authorised by CPS."
    audit = last_audit(inv)
    assert audit.action == AuditAction.ALTERATION
    assert audit.actor == supervisor
    assert audit.object_id == str(review.pk)


@pytest.mark.parametrize("decide", [actions.closure_approve, actions.closure_reject])
@pytest.mark.parametrize("stage", ["recorded", "under_investigation", "closed"])
def test_deciding_a_closure_when_nothing_is_pending_is_refused(officer, supervisor, stage, decide):
    inv = factories.investigation(officer, stage=stage, supervisor=supervisor)
    before = snapshot(inv)
    with pytest.raises(TransitionNotAllowed):
        decide(inv, actor=supervisor, expected_version=inv.version, rationale="Agreed")
    assert snapshot(inv) == before


@pytest.mark.parametrize("decide", [actions.closure_approve, actions.closure_reject])
def test_a_supervisor_cannot_decide_a_closure_they_requested(
    officer, supervisor, second_supervisor, decide
):
    inv = factories.investigation(officer, stage="under_investigation", supervisor=supervisor)
    actions.closure_request(
        inv,
        actor=supervisor,
        expected_version=inv.version,
        proposed_outcome="charged",
        proposed_nfa_reason="",
        rationale="Charged",
    )
    inv.refresh_from_db()
    before = snapshot(inv)
    with pytest.raises(NotPermitted, match="another supervisor must review it"):
        decide(inv, actor=supervisor, expected_version=inv.version, rationale="Self-approved")
    assert snapshot(inv) == before
    # another supervisor of the unit may
    decide(inv, actor=second_supervisor, expected_version=inv.version, rationale="Reviewed")
    assert ClosureReview.objects.get(investigation=inv).reviewer == second_supervisor


@pytest.mark.parametrize("decide", [actions.closure_approve, actions.closure_reject])
@pytest.mark.parametrize("persona", ["officer", "safeguarding_lead", "other_force_supervisor"])
def test_only_a_unit_supervisor_decides_a_closure(request, officer, supervisor, persona, decide):
    inv = factories.investigation(officer, stage="closure_requested", supervisor=supervisor)
    before = snapshot(inv)
    with pytest.raises(NotPermitted):
        decide(
            inv,
            actor=request.getfixturevalue(persona),
            expected_version=inv.version,
            rationale="Agreed",
        )
    assert snapshot(inv) == before


@pytest.mark.parametrize("decide", [actions.closure_approve, actions.closure_reject])
def test_a_closure_decision_needs_a_rationale(officer, supervisor, decide):
    inv = factories.investigation(officer, stage="closure_requested", supervisor=supervisor)
    before = snapshot(inv)
    with pytest.raises(DomainError, match="rationale"):
        decide(inv, actor=supervisor, expected_version=inv.version, rationale="  ")
    assert snapshot(inv) == before


def test_a_stale_closure_decision_is_refused(officer, supervisor):
    inv = factories.investigation(officer, stage="closure_requested", supervisor=supervisor)
    with pytest.raises(StaleEdit):
        actions.closure_approve(
            inv, actor=supervisor, expected_version=inv.version - 1, rationale="Agreed"
        )
    assert Investigation.objects.get(pk=inv.pk).status == Status.CLOSURE_REQUESTED


def test_reject_closure_returns_the_case_to_investigation(officer, supervisor):
    inv = factories.investigation(officer, stage="closure_requested", supervisor=supervisor)
    actions.closure_reject(
        inv, actor=supervisor, expected_version=inv.version, rationale="Trace the van first."
    )
    fresh = Investigation.objects.get(pk=inv.pk)
    assert fresh.status == Status.UNDER_INVESTIGATION
    assert fresh.closure_requested_at is None
    assert fresh.outcome == ""
    review = ClosureReview.objects.get(investigation=inv)
    assert review.decision == ClosureDecision.REJECTED
    assert review.reviewer == supervisor
    assert review.decided_at is not None
    event = last_event(inv)
    assert (event.kind, event.text) == (
        TimelineKind.CLOSURE_REJECTED,
        "Closure rejected: Trace the van first.",
    )
    assert last_audit(inv).action == AuditAction.ALTERATION
    # and a new request can then be made
    actions.closure_request(
        fresh,
        actor=officer,
        expected_version=fresh.version,
        proposed_outcome="charged",
        proposed_nfa_reason="",
        rationale="Van traced, suspect charged",
    )
    assert ClosureReview.objects.filter(investigation=inv).count() == 2


def test_reject_closure_of_an_unstarted_case_restores_its_earlier_status(officer, supervisor):
    inv = factories.investigation(officer, stage="recorded", supervisor=supervisor)
    actions.closure_request(
        inv,
        actor=officer,
        expected_version=inv.version,
        proposed_outcome="nfa",
        proposed_nfa_reason="no_offence",
        rationale="No offence",
    )
    inv.refresh_from_db()
    actions.closure_reject(inv, actor=supervisor, expected_version=inv.version, rationale="No")
    assert Investigation.objects.get(pk=inv.pk).status == Status.RECORDED


# --- investigation_reopen ----------------------------------------------------------------------


def test_reopen_a_closed_case(officer, supervisor):
    inv = factories.investigation(officer, stage="closed", supervisor=supervisor)
    actions.investigation_reopen(
        inv, actor=supervisor, expected_version=inv.version, reason="New witness came forward"
    )
    fresh = Investigation.objects.get(pk=inv.pk)
    assert fresh.status == Status.UNDER_INVESTIGATION
    assert fresh.closed_at is None
    assert fresh.closure_requested_at is None
    assert fresh.outcome == ""
    assert fresh.nfa_reason == ""
    event = last_event(inv)
    assert (event.kind, event.text) == (
        TimelineKind.REOPENED,
        "Reopened: New witness came forward",
    )
    audit = last_audit(inv)
    assert audit.action == AuditAction.ALTERATION
    assert audit.actor == supervisor


def test_a_case_closed_before_allocation_is_reopened_to_await_an_officer(officer, supervisor):
    inv = factories.investigation(officer, stage="recorded", supervisor=supervisor)
    assert inv.oic_id is None and inv.allocated_at is None
    actions.closure_request(
        inv,
        actor=officer,
        expected_version=inv.version,
        proposed_outcome="nfa",
        proposed_nfa_reason="no_offence",
        rationale="No offence",
    )
    inv.refresh_from_db()
    actions.closure_approve(inv, actor=supervisor, expected_version=inv.version, rationale="Yes")
    inv.refresh_from_db()
    actions.investigation_reopen(
        inv, actor=supervisor, expected_version=inv.version, reason="The victim came forward"
    )
    inv.refresh_from_db()
    assert inv.status == Status.RECORDED  # not under investigation with nobody in charge
    actions.investigation_allocate(
        inv, actor=supervisor, expected_version=inv.version, oic=officer, supervisor=supervisor
    )
    inv.refresh_from_db()
    assert inv.status == Status.ALLOCATED
    assert inv.allocated_at is not None  # supervision_overdue counts from it
    assert last_event(inv).text.startswith("Allocated")


@pytest.mark.parametrize("stage", ["reported", "under_investigation", "closure_requested"])
def test_reopening_an_open_case_is_refused(officer, supervisor, stage):
    inv = factories.investigation(officer, stage=stage, supervisor=supervisor)
    before = snapshot(inv)
    with pytest.raises(TransitionNotAllowed):
        actions.investigation_reopen(
            inv, actor=supervisor, expected_version=inv.version, reason="Again"
        )
    assert snapshot(inv) == before


@pytest.mark.parametrize("persona", ["officer", "safeguarding_lead", "other_force_supervisor"])
def test_only_a_unit_supervisor_reopens(request, officer, supervisor, persona):
    inv = factories.investigation(officer, stage="closed", supervisor=supervisor)
    before = snapshot(inv)
    with pytest.raises(NotPermitted):
        actions.investigation_reopen(
            inv,
            actor=request.getfixturevalue(persona),
            expected_version=inv.version,
            reason="Again",
        )
    assert snapshot(inv) == before


# --- investigation_share / investigation_consulted ---------------------------------------------


@pytest.mark.parametrize("target", ["unit", "force", "user"])
def test_share_grants_read_access_and_audits_a_grant_and_a_disclosure(
    officer, supervisor, other_force_officer, target
):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    recipient_obj = {
        "unit": other_force_officer.unit,
        "force": other_force_officer.force,
        "user": other_force_officer,
    }[target]
    actions.investigation_share(
        inv, actor=supervisor, reason="Victim relocated to Leeds", **{target: recipient_obj}
    )
    expected_recipient = {
        "unit": "WYP Modern Slavery and Human Trafficking Unit",
        "force": "West Yorkshire Police",
        "user": "Tomasz Nowak (officer.wyp)",
    }[target]
    assert Investigation.objects.visible_to(other_force_officer).filter(pk=inv.pk).exists()

    event = last_event(inv)
    assert event.kind == TimelineKind.SHARED
    assert event.text == f"Shared with {expected_recipient}: Victim relocated to Leeds"
    grant = AuditEvent.objects.get(investigation_reference=inv.reference, action="grant")
    disclosure = AuditEvent.objects.get(
        investigation_reference=inv.reference, action=AuditAction.DISCLOSURE
    )
    for row in (grant, disclosure):
        assert row.actor == supervisor
        assert row.recipient == expected_recipient
        assert row.justification == "Victim relocated to Leeds"
        assert row.object_id == str(inv.pk)


def test_sharing_twice_with_the_same_recipient_is_refused(officer, supervisor, other_force_officer):
    """A second share with the same unit (or user) would record a second disclosure of nothing
    new: refused, with nothing written."""
    inv = create(officer)
    actions.investigation_share(
        inv, actor=supervisor, reason="Relocated", unit=other_force_officer.unit
    )
    events = TimelineEvent.objects.filter(investigation=inv).count()
    audit = AuditEvent.objects.count()
    with pytest.raises(DomainError, match="already shared with"):
        actions.investigation_share(
            inv, actor=supervisor, reason="Relocated", unit=other_force_officer.unit
        )
    actions.investigation_share(inv, actor=supervisor, reason="Witness", user=other_force_officer)
    with pytest.raises(DomainError, match="already shared with"):
        actions.investigation_share(
            inv, actor=supervisor, reason="Witness", user=other_force_officer
        )
    assert InvestigationGroupObjectPermission.objects.filter(content_object=inv).count() == 1
    assert TimelineEvent.objects.filter(investigation=inv).count() == events + 1  # the user's
    assert AuditEvent.objects.count() == audit + 2  # the user's grant and disclosure


def test_the_safeguarding_lead_may_share(officer, safeguarding_lead, other_force_officer):
    inv = create(officer)
    actions.investigation_share(
        inv, actor=safeguarding_lead, reason="Relocation", force=other_force_officer.force
    )
    assert Investigation.objects.visible_to(other_force_officer).filter(pk=inv.pk).exists()


@pytest.mark.parametrize("persona", ["officer", "other_force_supervisor", "auditor"])
def test_sharing_without_the_role_or_outside_the_case_team_is_refused(
    request, officer, other_force_officer, persona
):
    inv = create(officer)
    before = snapshot(inv)
    with pytest.raises(NotPermitted):
        actions.investigation_share(
            inv,
            actor=request.getfixturevalue(persona),
            reason="Because",
            unit=other_force_officer.unit,
        )
    assert snapshot(inv) == before


def test_sharing_needs_a_reason_and_a_recipient(officer, supervisor, other_force_officer):
    inv = create(officer)
    before = snapshot(inv)
    with pytest.raises(DomainError, match="reason"):
        actions.investigation_share(
            inv, actor=supervisor, reason=" ", unit=other_force_officer.unit
        )
    with pytest.raises(DomainError, match="who to share"):
        actions.investigation_share(inv, actor=supervisor, reason="Relocated")
    assert snapshot(inv) == before


def test_sharing_with_a_unit_added_in_the_admin_gives_its_members_access(officer, supervisor):
    wyp = Force.objects.get(code="WYP")
    new_unit = Unit.objects.create(force=wyp, name="WYP Safeguarding Hub")  # as UnitAdmin does
    member = make_user("hub.officer", unit=new_unit, role=roles.OFFICER)
    inv = create(officer)
    actions.investigation_share(inv, actor=supervisor, reason="Victim moved", unit=new_unit)
    assert Investigation.objects.visible_to(member).filter(pk=inv.pk).exists()


def test_consulted_writes_a_consultation_row(officer, other_force_officer):
    inv = create(officer)
    actions.investigation_consulted(inv, actor=officer, what="case page")
    audit = last_audit(inv)
    assert audit.action == AuditAction.CONSULTATION
    assert audit.actor == officer
    assert audit.detail == {"page": "case page"}
    assert len(events(inv)) == 1  # a consultation is not a timeline event


# --- after-commit hooks ------------------------------------------------------------------------


def test_change_hooks_run_only_after_commit(officer, django_capture_on_commit_callbacks):
    seen: list[int] = []
    actions.register_after_change_hook(seen.append)
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            inv = create(officer)
            assert seen == []  # not inside the transaction
        assert callbacks
        assert set(seen) == {inv.pk}
        seen.clear()
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(DomainError):
            create(officer, reported_at=timezone.now() + timedelta(days=1))
        assert seen == []
    finally:
        actions._after_change_hooks.remove(seen.append)


# --- a case whose first substantive enquiry was completed before allocation --------------------


def _started_before_allocation(officer, supervisor) -> Investigation:
    """Recorded, not yet allocated, and the officer already took the victim's account."""
    inv = factories.investigation(officer, stage="recorded", supervisor=supervisor)
    enquiry = actions.enquiry_add(
        inv, actor=officer, description="Take the account", substantive=True, owner=officer
    )
    actions.enquiry_complete(
        enquiry, actor=officer, completed_at=inv.reported_at + timedelta(hours=4), result="Taken"
    )
    fresh = Investigation.objects.get(pk=inv.pk)
    assert fresh.status == Status.RECORDED
    assert fresh.started_at is not None
    return fresh


def test_allocating_a_case_already_started_puts_it_under_investigation(officer, supervisor):
    inv = _started_before_allocation(officer, supervisor)
    actions.investigation_allocate(
        inv, actor=supervisor, expected_version=inv.version, oic=officer, supervisor=supervisor
    )
    assert Investigation.objects.get(pk=inv.pk).status == Status.UNDER_INVESTIGATION


def test_rejecting_closure_of_an_unallocated_case_does_not_skip_allocation(officer, supervisor):
    inv = _started_before_allocation(officer, supervisor)
    actions.closure_request(
        inv,
        actor=officer,
        expected_version=inv.version,
        proposed_outcome="nfa",
        proposed_nfa_reason="evidential",
        rationale="No evidence",
    )
    inv.refresh_from_db()
    actions.closure_reject(inv, actor=supervisor, expected_version=inv.version, rationale="No")
    fresh = Investigation.objects.get(pk=inv.pk)
    assert fresh.oic_id is None
    assert fresh.status == Status.RECORDED
