"""slaverycases/flags/actions.py: the reconcile step (a second scan changes nothing, dismissed
flags stay dismissed, acknowledged flags stay active and single, concurrent scans never make a
duplicate) and the supervisor's actions on a flag (each transition, each refusal, the timeline
event and audit row each writes)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone

from investigations.models import TimelineEvent
from slaverycases.audit.models import AuditAction, AuditEvent
from slaverycases.core.errors import DomainError, NotPermitted
from slaverycases.flags import actions
from slaverycases.flags.models import ACTIVE_STATUSES, Flag, FlagKind, FlagStatus, Severity
from tests import factories
from tests.flags.test_rules import (
    T0,
    active,
    add_victim,
    close,
    complete_enquiry,
    contact,
    criminalise,
    flag_rows,
    frozen_clock,
    relocate,
    scan_at,
    scan_now,
    timeline_texts,
)
from victims.actions import disclosure_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    yield from frozen_clock()


@pytest.fixture
def gmp(people):
    return people["officer.gmp"].force


def snapshot() -> list[tuple[Any, ...]]:
    return list(
        Flag.objects.order_by("pk").values_list(
            "pk",
            "kind",
            "investigation_id",
            "victim_key",
            "status",
            "severity",
            "evidence",
            "raised_at",
            "resolved_at",
            "acted_at",
        )
    )


def build_one_of_each(officer, supervisor, safeguarding_lead, wyp):
    """At T0: cases that, a month later, raise every kind of flag the rules know."""
    delayed = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=1)
    sexual = factories.investigation(
        officer, stage="allocated", supervisor=supervisor, days_ago=1, types=("sexual",)
    )
    closed = factories.investigation(officer, stage="closed", supervisor=supervisor, days_ago=5)
    victims = factories.investigation(
        officer, stage="under_investigation", supervisor=supervisor, days_ago=1
    )
    involvement = add_victim(victims, officer)
    contact(involvement.victim, safeguarding_lead, next_in_days=3)
    moved = add_victim(victims, officer, name="Mihai Popescu")
    relocate(moved.victim, safeguarding_lead, wyp)
    criminalise(involvement.victim, victims, officer)
    disclosure_record(
        involvement, actor=officer, offence_type="assault", disclosed_at=T0, account="Beaten."
    )
    closing = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=1)
    add_victim(closing, officer, name="Elena Rusu")
    close(closing, officer, supervisor)
    return [delayed, sexual, closed, victims, closing]


def test_a_second_scan_opens_nothing_resolves_nothing_and_changes_no_row(
    clock, gmp, officer, supervisor, safeguarding_lead, people
):
    cases = build_one_of_each(officer, supervisor, safeguarding_lead, people["officer.wyp"].force)
    first = scan_at(clock, gmp, T0 + timedelta(days=30))
    expected = {
        FlagKind.DELAYED_START,
        FlagKind.UNRECORDED_LINKED_OFFENCE,
        FlagKind.PREMATURE_CLOSURE,
        FlagKind.VICTIM_CONTACT_OVERDUE,
        FlagKind.RELOCATED_VICTIM_NO_CONTACT,
        FlagKind.VICTIM_CRIMINALISED,
        FlagKind.SUPERVISION_OVERDUE,
    }
    opened_kinds = {kind for kind, n in first.opened.items() if n}
    assert expected <= opened_kinds
    before = snapshot()
    events = TimelineEvent.objects.count()
    assert len(before) == sum(first.opened.values())

    second = scan_at(clock, gmp, T0 + timedelta(days=30, minutes=1))

    assert second.error == ""
    assert not any(second.opened.values()), second.opened
    assert not any(second.resolved.values()), second.resolved
    assert snapshot() == before
    assert TimelineEvent.objects.count() == events
    assert all(Flag.objects.filter(investigation=inv).exists() for inv in cases)


def test_a_dismissed_flag_is_not_reopened(clock, gmp, officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=8)
    scan_now(gmp)
    flag = active(FlagKind.DELAYED_START, inv)

    actions.flag_dismiss(flag, actor=supervisor, reason="Waiting for the NCA to hand over.")
    flag.refresh_from_db()
    assert flag.status == FlagStatus.DISMISSED
    assert flag.reason == "Waiting for the NCA to hand over."
    assert flag.acted_by == supervisor
    assert flag.acted_at == T0 and flag.resolved_at == T0

    run = scan_at(clock, gmp, T0 + timedelta(days=100))  # still true, and now high
    assert run.opened.get(FlagKind.DELAYED_START, 0) == 0
    assert active(FlagKind.DELAYED_START, inv) is None
    assert [(f.pk, f.status) for f in flag_rows(FlagKind.DELAYED_START, inv)] == [
        (flag.pk, FlagStatus.DISMISSED)
    ]


def test_dismissing_without_a_reason_is_refused(clock, gmp, officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=8)
    scan_now(gmp)
    flag = active(FlagKind.DELAYED_START, inv)
    audits = AuditEvent.objects.count()
    for reason in ("", "   "):
        with pytest.raises(DomainError, match=r"Give the reason for dismissing the flag\."):
            actions.flag_dismiss(flag, actor=supervisor, reason=reason)
    flag.refresh_from_db()
    assert flag.status == FlagStatus.OPEN and flag.acted_by is None
    assert AuditEvent.objects.count() == audits


def test_an_acknowledged_flag_stays_active_single_and_up_to_date(clock, gmp, officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=8)
    scan_now(gmp)
    flag = active(FlagKind.DELAYED_START, inv)
    assert flag.severity == Severity.LOW
    actions.flag_acknowledge(flag, actor=supervisor)

    scan_at(clock, gmp, T0 + timedelta(days=25))  # 33 days: medium
    assert len(flag_rows(FlagKind.DELAYED_START, inv)) == 1
    flag.refresh_from_db()
    assert flag.status == FlagStatus.ACKNOWLEDGED
    assert flag.severity == Severity.MEDIUM
    assert flag.acted_by == supervisor

    # When the condition clears, an acknowledged flag is resolved like an open one.
    complete_enquiry(inv, officer)
    scan_at(clock, gmp, T0 + timedelta(days=25, hours=1))
    flag.refresh_from_db()
    assert flag.status == FlagStatus.RESOLVED


def test_a_flag_resolved_by_hand_while_still_true_is_raised_again(clock, gmp, officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=8)
    scan_now(gmp)
    flag = active(FlagKind.DELAYED_START, inv)
    actions.flag_resolve(flag, actor=supervisor, reason="Spoke to the OIC.")
    assert active(FlagKind.DELAYED_START, inv) is None

    scan_at(clock, gmp, T0 + timedelta(hours=1))
    again = active(FlagKind.DELAYED_START, inv)
    assert again is not None and again.pk != flag.pk
    flag.refresh_from_db()
    assert flag.status == FlagStatus.RESOLVED and flag.reason == "Spoke to the OIC."


def test_each_action_writes_a_timeline_event_and_an_audit_row(clock, gmp, officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=8)
    scan_now(gmp)
    flag = active(FlagKind.DELAYED_START, inv)

    actions.flag_acknowledge(flag, actor=supervisor)
    actions.flag_resolve(flag, actor=supervisor, reason="Enquiry set.")
    scan_at(clock, gmp, T0 + timedelta(minutes=1))
    again = active(FlagKind.DELAYED_START, inv)
    actions.flag_dismiss(again, actor=supervisor, reason="Transferred to the NCA.")

    assert timeline_texts(inv) == [
        "Flag raised: Delayed start (low)",
        "Flag acknowledged: Delayed start",
        "Flag resolved: Delayed start (Enquiry set.)",
        "Flag raised: Delayed start (low)",
        "Flag dismissed: Delayed start (Transferred to the NCA.)",
    ]
    audits = list(
        AuditEvent.objects.filter(object_type__icontains="flag")
        .order_by("id")
        .values_list("action", "actor_id", "object_id", "investigation_reference", "justification")
    )
    assert audits == [
        (AuditAction.ALTERATION, supervisor.pk, str(flag.pk), inv.reference, ""),
        (AuditAction.ALTERATION, supervisor.pk, str(flag.pk), inv.reference, "Enquiry set."),
        (
            AuditAction.ALTERATION,
            supervisor.pk,
            str(again.pk),
            inv.reference,
            "Transferred to the NCA.",
        ),
    ]


def test_forbidden_transitions_are_refused(clock, gmp, officer, supervisor, safeguarding_lead):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=8)
    scan_now(gmp)
    flag = active(FlagKind.DELAYED_START, inv)

    with pytest.raises(NotPermitted):
        actions.flag_acknowledge(flag, actor=officer)
    with pytest.raises(NotPermitted):  # not a victim-contact flag
        actions.flag_acknowledge(flag, actor=safeguarding_lead)
    actions.flag_acknowledge(flag, actor=supervisor)
    with pytest.raises(DomainError, match="already acknowledged"):
        actions.flag_acknowledge(flag, actor=supervisor)
    actions.flag_resolve(flag, actor=supervisor)
    for act in (
        lambda: actions.flag_acknowledge(flag, actor=supervisor),
        lambda: actions.flag_resolve(flag, actor=supervisor),
        lambda: actions.flag_dismiss(flag, actor=supervisor, reason="x"),
    ):
        with pytest.raises(DomainError, match=r"This flag is already resolved\."):
            act()
    flag.refresh_from_db()
    assert flag.status == FlagStatus.RESOLVED


def test_another_forces_supervisor_cannot_act(clock, gmp, officer, supervisor, people):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=8)
    scan_now(gmp)
    flag = active(FlagKind.DELAYED_START, inv)
    with pytest.raises(NotPermitted):
        actions.flag_dismiss(flag, actor=people["supervisor.wyp"], reason="Not ours.")


def test_a_safeguarding_lead_acts_on_victim_contact_flags(
    clock, gmp, officer, supervisor, safeguarding_lead
):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=1)
    victim = add_victim(inv, officer).victim
    contact(victim, safeguarding_lead, next_in_days=1)
    scan_at(clock, gmp, T0 + timedelta(days=3))
    flag = active(FlagKind.VICTIM_CONTACT_OVERDUE, inv, victim)
    actions.flag_acknowledge(flag, actor=safeguarding_lead)
    flag.refresh_from_db()
    assert flag.status == FlagStatus.ACKNOWLEDGED and flag.acted_by == safeguarding_lead


# --- concurrency ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_scans_at_once_make_no_duplicate_flag(clock, people):
    officer, supervisor = people["officer.gmp"], people["supervisor.gmp"]
    lead = people["safeguarding.gmp"]
    gmp = officer.force
    # Committed data (the after-commit scans run now, at T0, and find nothing due yet).
    build_one_of_each(officer, supervisor, lead, people["officer.wyp"].force)
    for _ in range(3):
        factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=1)
    clock.move_to(T0 + timedelta(days=30))
    when = timezone.now()
    # The after-commit scans already raised what was due at T0 (custody, premature closure).
    before = Flag.objects.filter(status__in=ACTIVE_STATUSES).count()

    for round_ in range(3):
        now = when + timedelta(minutes=round_)
        barrier = threading.Barrier(2)
        runs: list[Any] = []
        errors: list[BaseException] = []

        def worker(now=now, barrier=barrier, runs=runs, errors=errors) -> None:
            try:
                barrier.wait(timeout=30)
                runs.append(actions.scan(force=gmp, now=now))
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)
        assert errors == []
        assert len(runs) == 2
        assert all(run.error == "" for run in runs)
        if round_ == 0:
            # Between them, the two runs opened each flag exactly once.
            opened = sum(sum(run.opened.values()) for run in runs)
            after = Flag.objects.filter(status__in=ACTIVE_STATUSES).count()
            assert opened == after - before > 10
        else:
            assert not any(run.opened.get(k) for run in runs for k in run.opened)

    per_key: dict[tuple[str, int, int], int] = {}
    for kind, inv_id, victim_key in Flag.objects.filter(status__in=ACTIVE_STATUSES).values_list(
        "kind", "investigation_id", "victim_key"
    ):
        per_key[(kind, inv_id, victim_key)] = per_key.get((kind, inv_id, victim_key), 0) + 1
    assert per_key and set(per_key.values()) == {1}
    raised = TimelineEvent.objects.filter(text__startswith="Flag raised").count()
    assert raised == Flag.objects.count()


# --- e-mail -----------------------------------------------------------------------------------


def test_a_new_high_flag_emails_the_cases_supervisor_once(
    clock, gmp, officer, supervisor, mailoutbox, django_capture_on_commit_callbacks
):
    high = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=100)
    factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=30)
    factories.investigation(officer, stage="recorded", days_ago=100)  # high, no supervisor yet

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = scan_now(gmp)
    assert run.opened[FlagKind.DELAYED_START] == 3
    assert len(callbacks) == 1

    assert len(mailoutbox) == 1
    (mail,) = mailoutbox
    assert mail.to == [supervisor.email]
    assert mail.subject == f"[OFFICIAL-SENSITIVE] High-severity flag on {high.reference}"
    assert high.reference in mail.body and "delayed start flag" in mail.body
    assert high.title not in mail.body  # no case details in an e-mail

    # The flag is not new the next time: no second e-mail.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        scan_at(clock, gmp, T0 + timedelta(minutes=5))
    assert callbacks == []
    assert len(mailoutbox) == 1
