"""safeguarding/actions.py: plans, the contact log, relocations (with the share to the receiving
force) and missing episodes; each action's refusals, and the timeline events and audit rows it
writes on every case the victim is in."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from investigations.models import (
    Investigation,
    InvestigationGroupObjectPermission,
    TimelineKind,
)
from safeguarding import actions
from safeguarding.models import Contact, MissingEpisode, Relocation, SafeguardingPlan
from slaverycases.accounts.models import User
from slaverycases.audit.models import AuditAction
from slaverycases.core.errors import DomainError, NotPermitted, StaleEdit
from tests import factories
from tests.victims.test_actions import (
    add_victims,
    counts,
    last_audit_id,
    last_event_id,
    new_audits,
    new_events,
    person,
)
from victims.models import Victim, VictimStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(officer, supervisor):
    return factories.investigation(officer, stage="allocated", supervisor=supervisor)


@pytest.fixture
def victim(case, officer) -> Victim:
    (involvement,) = add_victims(case, officer, person("Andrei Ionescu", nationality="Romanian"))
    return involvement.victim


def save_plan(victim: Victim, actor: User, **overrides: Any) -> SafeguardingPlan:
    kwargs: dict[str, Any] = {
        "expected_version": None,
        "lead": actor,
        "risk_level": "high",
        "risks": ["retrafficking", "exploiters", "retrafficking"],
        "measures": ["safe_house", "interpreter"],
        "contact_every_days": 7,
        "review_date": timezone.localdate() + timedelta(days=28),
        **overrides,
    }
    return actions.plan_save(victim, actor=actor, **kwargs)


def record_contact(victim: Victim, actor: User, **overrides: Any) -> Contact:
    kwargs: dict[str, Any] = {
        "at": timezone.now() - timedelta(hours=1),
        "method": "in_person",
        "made": True,
        "interpreter_used": False,
        "notes": "Settled at the safe house.",
        "next_contact_due": timezone.localdate() + timedelta(days=7),
        **overrides,
    }
    return actions.contact_record(victim, actor=actor, **kwargs)


def relocate(victim: Victim, actor: User, to_force: Any, **overrides: Any) -> Relocation:
    kwargs: dict[str, Any] = {
        "relocated_on": timezone.localdate(),
        "destination_type": "force_area",
        "to_force": to_force,
        "safe_house_location": "",
        "receiving_contact": "Gareth Lloyd, WYP MSHT Unit",
        "first_contact_within_days": 7,
        **overrides,
    }
    return actions.relocation_record(victim, actor=actor, **kwargs)


def go_missing(victim: Victim, actor: User, **overrides: Any) -> MissingEpisode:
    kwargs: dict[str, Any] = {
        "reported_missing_at": timezone.now() - timedelta(hours=6),
        "risk_level": "high",
        "notes": "Left the safe house with an unknown man.",
        **overrides,
    }
    return actions.missing_episode_open(victim, actor=actor, **kwargs)


# --- plans ---------------------------------------------------------------------------------


def test_set_a_safeguarding_plan(case, victim, safeguarding_lead):
    audit_since, event_since = last_audit_id(), last_event_id()
    plan = save_plan(victim, safeguarding_lead)
    assert plan.version == 1
    assert plan.lead == safeguarding_lead
    assert plan.risks == ["exploiters", "retrafficking"]
    assert plan.risk_labels == ["Harm from exploiters", "Re-trafficking"]
    assert plan.measures == ["interpreter", "safe_house"]
    (event,) = new_events(case, event_since)
    assert event.kind == TimelineKind.CONTACT
    assert event.text == "Safeguarding plan for Andrei Ionescu: high risk, contact every 7 days"
    (row,) = new_audits(audit_since)
    assert row.object_type == "safeguarding.safeguardingplan"
    assert row.investigation_reference == case.reference
    assert row.actor == safeguarding_lead


def test_change_a_plan_from_the_version_loaded(victim, safeguarding_lead):
    plan = save_plan(victim, safeguarding_lead)
    changed = save_plan(
        victim, safeguarding_lead, expected_version=plan.version, risk_level="medium"
    )
    assert changed.pk == plan.pk
    assert changed.version == 2
    assert SafeguardingPlan.objects.get().risk_level == "medium"


def test_a_plan_changed_meanwhile_is_not_overwritten(victim, safeguarding_lead, people):
    plan = save_plan(victim, safeguarding_lead)
    save_plan(victim, safeguarding_lead, expected_version=plan.version, risk_level="medium")
    with pytest.raises(StaleEdit):
        save_plan(victim, safeguarding_lead, expected_version=plan.version, risk_level="low")
    assert SafeguardingPlan.objects.get().risk_level == "medium"


def test_a_plan_needs_a_review_date_in_the_future(victim, safeguarding_lead):
    with pytest.raises(DomainError, match="Review date must be in the future"):
        save_plan(victim, safeguarding_lead, review_date=timezone.localdate())
    assert not SafeguardingPlan.objects.exists()


@pytest.mark.parametrize("who", ["officer.gmp", "supervisor.gmp", "auditor"])
def test_only_a_safeguarding_lead_sets_a_plan(victim, people, who):
    before = counts()
    with pytest.raises(NotPermitted, match="Only a safeguarding lead"):
        save_plan(victim, people[who])
    assert counts() == before


def test_a_plan_is_written_on_every_case_of_the_victim(
    case, victim, officer, supervisor, safeguarding_lead
):
    other = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    add_victims(other, officer, person("Andrei Ionescu", existing_victim=victim))
    audit_since, since = last_audit_id(), last_event_id()
    save_plan(victim, safeguarding_lead)
    assert len(new_events(case, since)) == 1
    assert len(new_events(other, since)) == 1
    assert {r.investigation_reference for r in new_audits(audit_since)} == {
        case.reference,
        other.reference,
    }


# --- contact -------------------------------------------------------------------------------


def test_record_contact(case, victim, safeguarding_lead):
    audit_since, event_since = last_audit_id(), last_event_id()
    due = timezone.localdate() + timedelta(days=5)
    contact = record_contact(victim, safeguarding_lead, next_contact_due=due)
    assert contact.by == safeguarding_lead
    assert contact.made
    (event,) = new_events(case, event_since)
    assert event.kind == TimelineKind.CONTACT
    assert event.text == (
        f"Contact made with Andrei Ionescu (in person); next contact due {due:%-d %b %Y}"
    )
    (row,) = new_audits(audit_since)
    assert row.object_type == "safeguarding.contact"
    assert row.object_id == str(contact.pk)
    assert row.investigation_reference == case.reference


def test_record_an_attempted_contact(case, victim, officer):
    since = last_event_id()
    record_contact(victim, officer, made=False, method="phone")
    assert new_events(case, since)[0].text.startswith(
        "Attempted contact with Andrei Ionescu (phone)"
    )


def test_new_contact_notes_are_audited_as_a_collection(victim, safeguarding_lead):
    since = last_audit_id()
    record_contact(victim, safeguarding_lead)
    (row,) = new_audits(since)
    assert row.action == AuditAction.COLLECTION


def test_the_auditor_cannot_record_contact(victim, auditor):
    with pytest.raises(NotPermitted):
        record_contact(victim, auditor)
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"at": timedelta(hours=1)}, "Date of contact must be today or in the past"),
        (
            {"at": -timedelta(days=3), "next_contact_due": -timedelta(days=4)},
            "on or after the date of this contact",
        ),
    ],
    ids=["future", "due-before-this-contact"],
)
def test_bad_contact_dates_are_refused(victim, safeguarding_lead, overrides, message):
    now, today = timezone.now(), timezone.localdate()
    kwargs = {"at": now + overrides["at"]}
    if "next_contact_due" in overrides:
        kwargs["next_contact_due"] = today + overrides["next_contact_due"]
    before = counts()
    with pytest.raises(DomainError, match=message):
        record_contact(victim, safeguarding_lead, **kwargs)
    assert counts() == before


def test_next_contact_cannot_be_due_before_the_last_contact(victim, safeguarding_lead):
    record_contact(victim, safeguarding_lead, at=timezone.now() - timedelta(minutes=30))
    before = counts()
    with pytest.raises(DomainError, match="cannot be before the last contact"):
        record_contact(
            victim,
            safeguarding_lead,
            at=timezone.now() - timedelta(days=5),
            next_contact_due=timezone.localdate() - timedelta(days=3),
        )
    assert counts() == before


def test_the_same_contact_twice_is_refused_and_saved_once(case, victim, safeguarding_lead):
    at = timezone.now() - timedelta(hours=1)
    record_contact(victim, safeguarding_lead, at=at)
    before = counts()
    with pytest.raises(DomainError, match="already been recorded"):
        record_contact(victim, safeguarding_lead, at=at)
    assert counts() == before
    assert Contact.objects.filter(victim=victim).count() == 1


def test_two_people_may_record_contact_at_the_same_time(victim, safeguarding_lead, officer):
    at = timezone.now() - timedelta(hours=1)
    record_contact(victim, safeguarding_lead, at=at)
    record_contact(victim, officer, at=at)
    assert Contact.objects.filter(victim=victim).count() == 2


def test_default_next_contact_follows_the_plan(victim, safeguarding_lead):
    today = timezone.localdate()
    assert actions.default_next_contact(None) == today + timedelta(days=7)
    plan = save_plan(victim, safeguarding_lead, contact_every_days=3)
    assert actions.default_next_contact(plan) == today + timedelta(days=3)


# --- relocation ----------------------------------------------------------------------------


def test_relocation_shares_the_case_with_the_receiving_force(
    case, victim, safeguarding_lead, people
):
    wyp = people["officer.wyp"].force
    assert not Investigation.objects.visible_to(people["officer.wyp"]).exists()
    assert not Victim.objects.visible_to(people["safeguarding.wyp"]).exists()
    audit_since, event_since = last_audit_id(), last_event_id()

    relocation = relocate(victim, safeguarding_lead, wyp)

    assert relocation.to_force == wyp
    assert relocation.recorded_by == safeguarding_lead
    fresh = Victim.objects.get(pk=victim.pk)
    assert fresh.current_force == wyp
    assert fresh.version == victim.version + 1
    assert InvestigationGroupObjectPermission.objects.filter(
        content_object=case, group=wyp.group, permission__codename="view_investigation"
    ).exists()
    for username in ("officer.wyp", "safeguarding.wyp", "supervisor.wyp"):
        assert list(Investigation.objects.visible_to(people[username])) == [case]
        assert list(Victim.objects.visible_to(people[username])) == [victim]

    events = new_events(case, event_since)
    assert [e.kind for e in events] == [TimelineKind.SHARED, TimelineKind.CONTACT]
    assert events[0].text.startswith("Shared with West Yorkshire Police: Andrei Ionescu relocated")
    assert events[1].text == (
        f"Andrei Ionescu relocated to West Yorkshire Police on "
        f"{timezone.localdate():%-d %b %Y}; first contact due within 7 days"
    )
    rows = new_audits(audit_since)
    grant = [r for r in rows if r.action == AuditAction.GRANT]
    disclosure = [r for r in rows if r.action == AuditAction.DISCLOSURE]
    assert len(grant) == len(disclosure) == 1
    for row in (*grant, *disclosure):
        assert row.recipient == "West Yorkshire Police"
        assert "Gareth Lloyd, WYP MSHT Unit" in row.justification
        assert row.investigation_reference == case.reference
        assert row.actor == safeguarding_lead
    assert any(r.object_type == "safeguarding.relocation" for r in rows)


def test_a_move_to_a_safe_house_in_the_same_force_shares_nothing(case, victim, safeguarding_lead):
    gmp = safeguarding_lead.force
    since = last_event_id()
    relocate(
        victim,
        safeguarding_lead,
        gmp,
        destination_type="safe_house",
        safe_house_location="Address withheld, Wigan",
    )
    assert not InvestigationGroupObjectPermission.objects.filter(content_object=case).exists()
    assert [e.kind for e in new_events(case, since)] == [TimelineKind.CONTACT]


def test_a_relocation_cannot_be_in_the_future(victim, safeguarding_lead, people):
    before = counts()
    with pytest.raises(DomainError, match="today or in the past"):
        relocate(
            victim,
            safeguarding_lead,
            people["officer.wyp"].force,
            relocated_on=timezone.localdate() + timedelta(days=1),
        )
    assert counts() == before
    assert Victim.objects.get(pk=victim.pk).current_force == safeguarding_lead.force


@pytest.mark.parametrize("who", ["officer.gmp", "supervisor.gmp", "auditor"])
def test_only_a_safeguarding_lead_records_a_relocation(victim, people, who):
    before = counts()
    with pytest.raises(NotPermitted, match="Only a safeguarding lead"):
        relocate(victim, people[who], people["officer.wyp"].force)
    assert counts() == before
    assert not InvestigationGroupObjectPermission.objects.exists()


def test_the_receiving_force_can_record_a_further_move(victim, safeguarding_lead, people):
    wyp_lead = people["safeguarding.wyp"]
    relocate(victim, safeguarding_lead, wyp_lead.force)
    relocate(
        victim,
        wyp_lead,
        wyp_lead.force,
        destination_type="safe_house",
        safe_house_location="Address withheld, Leeds",
        receiving_contact="Gareth Lloyd",
    )
    assert Relocation.objects.filter(victim=victim).count() == 2


def test_a_move_dated_before_the_last_recorded_move_is_refused(victim, safeguarding_lead, people):
    """The latest move decides where the victim is now and which force sees the case: a move
    dated before it would make an older place current and give access to a force that no
    longer needs it."""
    wyp = people["officer.wyp"].force
    relocate(
        victim,
        safeguarding_lead,
        safeguarding_lead.force,
        destination_type="safe_house",
        safe_house_location="Wigan",
        relocated_on=timezone.localdate() - timedelta(days=2),
    )
    before = counts()
    with pytest.raises(DomainError, match="cannot be before their last recorded move"):
        relocate(
            victim, safeguarding_lead, wyp, relocated_on=timezone.localdate() - timedelta(days=9)
        )
    assert counts() == before
    assert Victim.objects.get(pk=victim.pk).current_force == safeguarding_lead.force
    assert not InvestigationGroupObjectPermission.objects.exists()


def test_a_move_to_the_force_area_they_are_in_is_refused(victim, safeguarding_lead):
    before = counts()
    with pytest.raises(DomainError, match="already in the Greater Manchester Police area"):
        relocate(victim, safeguarding_lead, safeguarding_lead.force)
    assert counts() == before


def test_a_safe_house_needs_its_location_and_a_force_area_keeps_none(
    victim, safeguarding_lead, people
):
    before = counts()
    with pytest.raises(DomainError, match="Enter the safe house location"):
        relocate(
            victim,
            safeguarding_lead,
            safeguarding_lead.force,
            destination_type="safe_house",
            safe_house_location="  ",
        )
    assert counts() == before
    moved = relocate(
        victim, safeguarding_lead, people["officer.wyp"].force, safe_house_location="Leeds"
    )
    assert moved.safe_house_location == ""  # typed for a safe house, then another choice


# --- missing episodes ----------------------------------------------------------------------


def test_report_missing_and_found(case, victim, officer):
    since = last_event_id()
    episode = go_missing(victim, officer)
    fresh = Victim.objects.get(pk=victim.pk)
    assert fresh.status == VictimStatus.MISSING
    assert fresh.version == victim.version + 1
    assert episode.recorded_by == officer
    found_at = timezone.now() - timedelta(hours=1)
    actions.missing_episode_found(episode, actor=officer, found_at=found_at)
    episode.refresh_from_db()
    assert episode.found_at == found_at
    assert Victim.objects.get(pk=victim.pk).status == VictimStatus.POTENTIAL
    assert [e.text for e in new_events(case, since)] == [
        "Andrei Ionescu reported missing",
        "Andrei Ionescu found",
    ]


def test_missing_twice_at_once_is_refused(victim, officer):
    go_missing(victim, officer)
    with pytest.raises(DomainError, match="already recorded as missing"):
        go_missing(victim, officer, reported_missing_at=timezone.now() - timedelta(hours=1))
    assert MissingEpisode.objects.count() == 1


def test_missing_again_after_being_found(victim, officer):
    first = go_missing(victim, officer, reported_missing_at=timezone.now() - timedelta(days=3))
    actions.missing_episode_found(first, actor=officer, found_at=timezone.now() - timedelta(days=2))
    go_missing(victim, officer)
    assert MissingEpisode.objects.filter(victim=victim).count() == 2


def test_missing_cannot_be_reported_in_the_future(victim, officer):
    with pytest.raises(DomainError, match="today or in the past"):
        go_missing(victim, officer, reported_missing_at=timezone.now() + timedelta(hours=1))
    assert Victim.objects.get(pk=victim.pk).status == VictimStatus.POTENTIAL


@pytest.mark.parametrize(
    ("found", "message"),
    [
        (-timedelta(days=1), "cannot be before they were reported missing"),
        (timedelta(hours=1), "today or in the past"),
    ],
    ids=["before-missing", "future"],
)
def test_bad_found_dates_are_refused(victim, officer, found, message):
    episode = go_missing(victim, officer)
    with pytest.raises(DomainError, match=message):
        actions.missing_episode_found(episode, actor=officer, found_at=timezone.now() + found)
    episode.refresh_from_db()
    assert episode.found_at is None
    assert Victim.objects.get(pk=victim.pk).status == VictimStatus.MISSING


def test_found_only_once(victim, officer):
    episode = go_missing(victim, officer)
    actions.missing_episode_found(episode, actor=officer, found_at=timezone.now())
    with pytest.raises(DomainError, match="already been recorded as found"):
        actions.missing_episode_found(episode, actor=officer, found_at=timezone.now())


def test_a_confirmed_victim_found_is_still_confirmed(victim, officer):
    from victims.actions import victim_update

    victim = victim_update(
        victim, actor=officer, expected_version=victim.version, status=VictimStatus.CONFIRMED
    )
    episode = go_missing(victim, officer)
    actions.missing_episode_found(episode, actor=officer, found_at=timezone.now())
    assert Victim.objects.get(pk=victim.pk).status == VictimStatus.CONFIRMED


def test_a_status_decided_while_missing_stands_when_they_are_found(case, victim, officer):
    from victims.actions import victim_update

    episode = go_missing(victim, officer)
    missing = Victim.objects.get(pk=victim.pk)
    victim_update(
        missing, actor=officer, expected_version=missing.version, status=VictimStatus.CONFIRMED
    )
    since = last_event_id()
    actions.missing_episode_found(episode, actor=officer, found_at=timezone.now())
    assert Victim.objects.get(pk=victim.pk).status == VictimStatus.CONFIRMED  # not "potential"
    assert [e.text for e in new_events(case, since)] == [
        "Andrei Ionescu found; status stays confirmed victim"
    ]


# --- who may act on a victim ---------------------------------------------------------------


def test_the_auditor_cannot_report_a_victim_missing(victim, auditor):
    with pytest.raises(NotPermitted):
        go_missing(victim, auditor)


def _plan(victim: Victim, actor: User) -> Any:
    return save_plan(victim, actor)


def _contact(victim: Victim, actor: User) -> Any:
    return record_contact(victim, actor)


def _relocate(victim: Victim, actor: User) -> Any:
    return relocate(victim, actor, actor.force)


def _missing(victim: Victim, actor: User) -> Any:
    return go_missing(victim, actor)


@pytest.mark.parametrize("write", [_plan, _contact, _relocate, _missing])
def test_a_lead_of_another_force_cannot_act_on_a_victim_they_cannot_see(victim, people, write):
    outsider = people["safeguarding.wyp"]
    assert not Victim.objects.visible_to(outsider).exists()
    with pytest.raises(NotPermitted):
        write(victim, outsider)
