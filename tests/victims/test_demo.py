"""victims/demo.py and safeguarding/demo.py through `manage.py seed_demo`: safe to run twice,
and the HMICFRS "Stolen freedom" examples are there for the pages and the flags to show."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Max
from django.test import override_settings
from django.utils import timezone

from investigations.models import (
    MODERN_SLAVERY_OFFENCES,
    Investigation,
    Offence,
    OffenceType,
    Status,
    TimelineEvent,
)
from safeguarding.models import Contact, MissingEpisode, Relocation, SafeguardingPlan
from slaverycases.accounts.models import User
from slaverycases.audit.models import AuditEvent
from victims.models import CustodyEvent, Disclosure, Involvement, S45Decision, Victim

pytestmark = pytest.mark.django_db

COUNTED = [
    Investigation,
    Victim,
    Involvement,
    Offence,
    Disclosure,
    CustodyEvent,
    SafeguardingPlan,
    Contact,
    Relocation,
    MissingEpisode,
    TimelineEvent,
    AuditEvent,
]


def seed() -> str:
    out = StringIO()
    with override_settings(DEBUG=True):
        call_command("seed_demo", stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


@pytest.fixture
def demo(db) -> str:
    """The demo data, seeded once; the value is what the command printed."""
    return seed()


def victim(name: str) -> Victim:
    return Victim.objects.get(name=name)


def case_of(name: str) -> Investigation:
    return Investigation.objects.get(involvements__victim__name=name)


def latest_contact(name: str) -> Contact:
    return Contact.objects.filter(victim__name=name).order_by("-at").first()


def test_seeding_twice_adds_nothing(demo):
    assert "Victims: 11 demo victims added" in demo
    assert "Safeguarding: 9 plans, 15 contacts, 1 relocation and 1 missing episode added" in demo
    before = snapshot()
    again = seed()
    assert snapshot() == before
    assert "Victims: 0 demo victims added" in again
    assert "Safeguarding: 0 plans, 0 contacts, 0 relocations and 0 missing episodes added" in again


def test_every_victim_has_a_modern_slavery_crime_of_their_own(demo):
    for v in Victim.objects.all():
        (involvement,) = v.involvements.all()
        crimes = Offence.objects.filter(
            investigation=involvement.investigation,
            victim=v,
            offence_type__in=MODERN_SLAVERY_OFFENCES,
        )
        assert crimes.count() == 1, v.name
    labels = Involvement.objects.filter(
        investigation__title="Sexual exploitation in short-let flats, city centre"
    ).values_list("label", "victim__name")
    assert sorted(labels) == [
        ("Victim A", "Ioana Stan"),
        ("Victim B", "Bianca Radu"),
        ("Victim C", "Florentina Marin"),
    ]


def test_the_boy_on_the_cannabis_farm_was_arrested_and_s45_never_considered(demo):
    boy = victim("Arbër Hoxha")
    assert case_of("Arbër Hoxha").title.startswith("Cannabis farm at Cheetham Hill")
    assert boy.is_child
    assert boy.nationality == "Albanian"
    assert boy.age_on(boy.involvements.get().identified_at.date()) == 16
    (arrest,) = CustodyEvent.objects.filter(victim=boy)
    assert arrest.kind == "arrested"
    assert arrest.s45_decision == S45Decision.NOT_CONSIDERED
    assert not boy.involvements.get().spoken_to
    # he went missing from his foster placement and has not been found
    assert boy.status == "missing"
    assert MissingEpisode.objects.filter(victim=boy, found_at__isnull=True).exists()


def test_the_disclosed_rape_is_not_recorded_as_a_crime(demo):
    (disclosure,) = Disclosure.objects.filter(involvement__victim__name="Ioana Stan")
    assert disclosure.offence_type == OffenceType.RAPE
    assert disclosure.offence is None
    assert not Offence.objects.filter(offence_type=OffenceType.RAPE).exists()
    ioana = Involvement.objects.get(victim__name="Ioana Stan")
    assert ioana.spoken_to and ioana.interpreter_language == "Romanian"
    assert not Involvement.objects.get(victim__name="Florentina Marin").spoken_to


def test_the_age_disputed_young_woman_is_treated_as_a_child(demo):
    mai = victim("Tran Thi Mai")
    assert case_of("Tran Thi Mai").title.startswith("Nail bar in Oldham")
    assert mai.may_be_under_18 and mai.age_assessed_on is None
    assert mai.is_child
    assert not victim("Nguyen Thi Lan").is_child


def test_a_victim_moved_to_west_yorkshire_has_had_no_contact_since(demo):
    bianca = victim("Bianca Radu")
    (move,) = Relocation.objects.filter(victim=bianca)
    assert move.to_force.code == "WYP"
    assert bianca.current_force.code == "WYP"
    assert (timezone.localdate() - move.relocated_on).days > move.first_contact_within_days
    assert not Contact.objects.filter(victim=bianca, made=True, at__gt=move.recorded_at).exists()
    assert move.awaiting_contact  # as the rule gives it, after the demo dates the move back
    assert bianca.last_contact_at is None or bianca.last_contact_at <= move.recorded_at
    case = case_of("Bianca Radu")
    for username in ("officer.wyp", "safeguarding.wyp"):
        assert (
            Investigation.objects.visible_to(User.objects.get(username=username))
            .filter(pk=case.pk)
            .exists()
        )


def test_contact_is_overdue_for_some_and_up_to_date_for_others(demo):
    today = timezone.localdate()
    for name in ("Florentina Marin", "Elena Vasile", "Arbër Hoxha"):
        assert latest_contact(name).next_contact_due < today, name
        assert SafeguardingPlan.objects.filter(victim__name=name).exists()
    for name in ("Ioana Stan", "Nguyen Thi Lan", "Tran Thi Mai", "Rahim Uddin"):
        assert latest_contact(name).next_contact_due >= today, name
    for name in ("Paweł Kamiński", "Alina Munteanu"):
        assert not SafeguardingPlan.objects.filter(victim__name=name).exists(), name


def test_closed_and_reported_cases_get_no_victims(demo):
    for inv in Investigation.objects.filter(status__in=[Status.CLOSED, Status.REPORTED]):
        assert not inv.involvements.exists(), inv.title


def test_the_timelines_read_in_order(demo):
    assert TimelineEvent.objects.aggregate(last=Max("at"))["last"] <= timezone.now()
    cannabis = case_of("Arbër Hoxha")
    identified = cannabis.involvements.get().identified_at
    victim_events = cannabis.timeline.filter(kind="victim")
    assert victim_events.exists()
    assert all(e.at <= identified + timedelta(hours=1) for e in victim_events)
    assert (timezone.now() - identified).days > 200
