"""Demo safeguarding for the demo victims (victims/demo.py), for `manage.py seed_demo`.
Idempotent: a victim who already has a plan, contacts, a relocation or a missing episode keeps
them and gets no more of that kind.

The mix the safeguarding board and the flags need: contact up to date, contact overdue, a
victim relocated from Greater Manchester to West Yorkshire with no contact since the move, a
child missing from a foster placement, victims with no plan at all. Everything is written
through safeguarding.actions, then, as in investigations/demo.py, the rows' business dates are
moved into the past so the case timelines read in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from django.utils import timezone

from investigations.models import TimelineEvent
from safeguarding import actions
from safeguarding.models import (
    Contact,
    MissingEpisode,
    Relocation,
    SafeguardingPlan,
    awaits_contact,
)
from victims.demo import demo_case, demo_victim, last_event_id

SHORT_LETS = "Sexual exploitation in short-let flats, city centre"
CANNABIS = "Cannabis farm at Cheetham Hill: teenager found tending plants"
NAIL_BAR = "Nail bar in Oldham: young women living above the shop"
TRAFFORD = "Factory agency workers in Trafford Park"
TAKEAWAY = "Takeaway in Leeds: worker with no documents"
BROTHELS = "Brothel network across Huddersfield and Dewsbury"


@dataclass
class DemoContact:
    days_ago: float
    next_due_in_days: int  # from today; negative when overdue
    method: str = "in_person"
    made: bool = True
    interpreter_used: bool = False
    notes: str = ""


@dataclass
class DemoSafeguarding:
    force: str
    case_title: str
    victim: str
    plan: dict[str, Any] | None = None  # risk_level, risks, measures, contact_every_days
    plan_days_ago: float = 0
    contacts: list[DemoContact] = field(default_factory=list)
    relocation: dict[str, Any] | None = None  # days_ago, to_force, receiving_contact, ...
    missing: dict[str, Any] | None = None  # days_ago, risk_level, notes


PLANS = [
    DemoSafeguarding(
        "GMP",
        CANNABIS,
        "Arbër Hoxha",
        plan={
            "risk_level": "high",
            "risks": ["retrafficking", "missing", "exploiters", "detention"],
            "measures": ["childrens_services", "place_of_safety", "interpreter"],
            "contact_every_days": 7,
        },
        plan_days_ago=210,
        contacts=[
            DemoContact(
                60,
                -53,
                interpreter_used=True,
                notes="Seen at the foster placement with an Albanian interpreter. Quiet; says "
                "he still owes the men who brought him.",
            ),
            DemoContact(
                50,
                -46,
                method="phone",
                made=False,
                notes="Foster carer says he has a new phone and goes out at night.",
            ),
        ],
        missing={
            "days_ago": 40,
            "risk_level": "high",
            "notes": "Left the foster placement at 22:00; a car seen at the cannabis farm "
            "collected him. Missing from care: high risk of re-trafficking.",
        },
    ),
    DemoSafeguarding(
        "GMP",
        SHORT_LETS,
        "Ioana Stan",
        plan={
            "risk_level": "high",
            "risks": ["retrafficking", "exploiters", "self_harm"],
            "measures": ["safe_house", "interpreter", "support_worker", "medical"],
            "contact_every_days": 7,
        },
        plan_days_ago=37,
        contacts=[
            DemoContact(30, -23, interpreter_used=True, notes="Settled at the safe house."),
            DemoContact(23, -16, method="support_worker", notes="Seen by her support worker."),
            DemoContact(16, -9, interpreter_used=True, notes="Sexual health appointment kept."),
            DemoContact(9, -2, method="phone", notes="Asked about the court process."),
            DemoContact(3, 4, interpreter_used=True, notes="Well; attending English classes."),
        ],
    ),
    DemoSafeguarding(
        "GMP",
        SHORT_LETS,
        "Bianca Radu",
        plan={
            "risk_level": "medium",
            "risks": ["retrafficking", "exploiters"],
            "measures": ["support_worker"],
            "contact_every_days": 14,
        },
        plan_days_ago=33,
        contacts=[DemoContact(22, -8, notes="Wants to move to her cousin in Leeds.")],
        relocation={
            "days_ago": 20,
            "to_force": "WYP",
            "receiving_contact": "Gareth Lloyd, WYP Modern Slavery and Human Trafficking Unit",
            "first_contact_within_days": 7,
        },
    ),
    DemoSafeguarding(
        "GMP",
        SHORT_LETS,
        "Florentina Marin",
        plan={
            "risk_level": "medium",
            "risks": ["retrafficking", "missing"],
            "measures": ["interpreter"],
            "contact_every_days": 7,
        },
        plan_days_ago=36,
        contacts=[
            DemoContact(
                15,
                -8,
                method="phone",
                made=False,
                notes="Number unobtainable; left a message with the Salvation Army.",
            )
        ],
    ),
    DemoSafeguarding(
        "GMP",
        NAIL_BAR,
        "Nguyen Thi Lan",
        plan={
            "risk_level": "medium",
            "risks": ["retrafficking", "detention"],
            "measures": ["safe_house", "interpreter", "support_worker"],
            "contact_every_days": 7,
        },
        plan_days_ago=4,
        contacts=[DemoContact(2, 5, method="interpreter", interpreter_used=True)],
    ),
    DemoSafeguarding(
        "GMP",
        NAIL_BAR,
        "Tran Thi Mai",
        plan={
            "risk_level": "high",
            "risks": ["retrafficking", "missing"],
            "measures": ["childrens_services", "place_of_safety", "interpreter"],
            "contact_every_days": 3,
        },
        plan_days_ago=4,
        contacts=[
            DemoContact(
                1,
                2,
                interpreter_used=True,
                notes="Treated as a child until her age is assessed; children's services told.",
            )
        ],
    ),
    DemoSafeguarding(
        "GMP",
        TRAFFORD,
        "Krzysztof Wójcik",
        plan={
            "risk_level": "low",
            "risks": ["exploiters"],
            "measures": ["support_worker"],
            "contact_every_days": 28,
        },
        plan_days_ago=110,
        contacts=[DemoContact(10, 18, method="phone", notes="In new work through a legal agency.")],
    ),
    # Paweł Kamiński (Trafford Park) and Alina Munteanu (Huddersfield) have no plan at all.
    DemoSafeguarding(
        "WYP",
        TAKEAWAY,
        "Rahim Uddin",
        plan={
            "risk_level": "medium",
            "risks": ["detention", "exploiters"],
            "measures": ["safe_house", "interpreter"],
            "contact_every_days": 7,
        },
        plan_days_ago=17,
        contacts=[
            DemoContact(11, -4, interpreter_used=True),
            DemoContact(4, 3, interpreter_used=True, notes="Solicitor instructed."),
        ],
    ),
    DemoSafeguarding(
        "WYP",
        BROTHELS,
        "Elena Vasile",
        plan={
            "risk_level": "high",
            "risks": ["retrafficking", "exploiters"],
            "measures": ["safe_house", "interpreter"],
            "contact_every_days": 7,
        },
        plan_days_ago=70,
        contacts=[DemoContact(25, -18, interpreter_used=True, notes="Moved safe house.")],
    ),
]


def _backdate_events(since_id: int, at: datetime) -> None:
    TimelineEvent.objects.filter(pk__gt=since_id).update(at=at)


def _plan(spec: DemoSafeguarding, victim: Any, lead: Any, now: datetime) -> None:
    if spec.plan is None or SafeguardingPlan.objects.filter(victim=victim).exists():
        return
    at = now - timedelta(days=spec.plan_days_ago)
    since = last_event_id()
    plan = actions.plan_save(
        victim,
        actor=lead,
        expected_version=None,
        lead=lead,
        review_date=timezone.localdate(now) + timedelta(days=21),
        **spec.plan,
    )
    SafeguardingPlan.objects.filter(pk=plan.pk).update(updated_at=at)
    _backdate_events(since, at)


def _contacts(spec: DemoSafeguarding, victim: Any, lead: Any, now: datetime) -> None:
    if not spec.contacts or Contact.objects.filter(victim=victim).exists():
        return
    today = timezone.localdate(now)
    for contact in sorted(spec.contacts, key=lambda c: -c.days_ago):
        at = now - timedelta(days=contact.days_ago)
        since = last_event_id()
        actions.contact_record(
            victim,
            actor=lead,
            at=at,
            method=contact.method,
            made=contact.made,
            interpreter_used=contact.interpreter_used,
            notes=contact.notes,
            next_contact_due=today + timedelta(days=contact.next_due_in_days),
        )
        _backdate_events(since, at)


def _relocation(
    spec: DemoSafeguarding, victim: Any, lead: Any, users: dict[str, Any], now: datetime
) -> None:
    if spec.relocation is None or Relocation.objects.filter(victim=victim).exists():
        return
    details = dict(spec.relocation)
    moved = timezone.localdate(now) - timedelta(days=details.pop("days_ago"))
    to_force = users[f"officer.{details.pop('to_force').lower()}"].force
    since = last_event_id()
    relocation = actions.relocation_record(
        victim,
        actor=lead,
        relocated_on=moved,
        destination_type="force_area",
        to_force=to_force,
        safe_house_location=details.pop("safe_house_location", ""),
        **details,
    )
    recorded = timezone.make_aware(datetime.combine(moved, time(11, 0)))
    # Recorded on the day of the move: awaiting contact unless a contact was made after it.
    victim.refresh_from_db(fields=["last_contact_at"])
    Relocation.objects.filter(pk=relocation.pk).update(
        recorded_at=recorded, awaiting_contact=awaits_contact(victim.last_contact_at, recorded)
    )
    _backdate_events(since, recorded)


def _missing(spec: DemoSafeguarding, victim: Any, lead: Any, now: datetime) -> None:
    if spec.missing is None or MissingEpisode.objects.filter(victim=victim).exists():
        return
    details = dict(spec.missing)
    at = now - timedelta(days=details.pop("days_ago"))
    since = last_event_id()
    actions.missing_episode_open(victim, actor=lead, reported_missing_at=at, **details)
    _backdate_events(since, at)


def seed(users: dict[str, Any], stdout: Any) -> None:
    now = timezone.now()
    before = (
        SafeguardingPlan.objects.count(),
        Contact.objects.count(),
        Relocation.objects.count(),
        MissingEpisode.objects.count(),
    )
    for spec in PLANS:
        case = demo_case(spec.force, spec.case_title, users)
        victim = demo_victim(case, spec.victim) if case else None
        if victim is None:
            continue
        lead = users[f"safeguarding.{spec.force.lower()}"]
        _plan(spec, victim, lead, now)
        _contacts(spec, victim, lead, now)
        _relocation(spec, victim, lead, users, now)
        _missing(spec, victim, lead, now)
    after = (
        SafeguardingPlan.objects.count(),
        Contact.objects.count(),
        Relocation.objects.count(),
        MissingEpisode.objects.count(),
    )
    added = [a - b for a, b in zip(after, before, strict=True)]
    names = ("plan", "contact", "relocation", "missing episode")
    parts = [f"{n} {name}{'' if n == 1 else 's'}" for n, name in zip(added, names, strict=True)]
    stdout.write(f"Safeguarding: {', '.join(parts[:3])} and {parts[3]} added")
