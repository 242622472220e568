"""Demo investigations in every state, for both demo forces. Idempotent (keyed by title).

Some are modelled on the HMICFRS "Stolen freedom" findings: a report left for months with no
investigative action, and a case closed with no enquiries made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.utils import timezone

from investigations import actions, retention
from investigations.models import (
    CrimeDecision,
    Investigation,
    OffenceType,
    Outcome,
    TimelineEvent,
    TimelineKind,
)


@dataclass
class DemoCase:
    force: str
    title: str
    summary: str
    source: str
    types: list[str]
    days_ago: int
    location: str = ""
    # how far along the workflow to take it
    stage: str = "reported"
    crime: tuple[str, str] | None = None  # (crime reference, offence type)
    enquiries: list[tuple[str, bool, bool]] = field(
        default_factory=list
    )  # (what, substantive, done)
    suspects: list[dict[str, Any]] = field(default_factory=list)
    outcome: str = Outcome.CHARGED
    nfa_reason: str = ""
    allocate_after_days: int = 1
    close_after_days: int | None = None


CASES = [
    DemoCase(
        "GMP",
        "Car wash workers on Ashton Old Road",
        "Anonymous caller reports men working long hours at a hand car wash, sleeping on site, "
        "appearing frightened and not speaking English. A van collects them at night.",
        "public",
        ["labour"],
        days_ago=2,
        location="Ashton Old Road, Manchester",
    ),
    DemoCase(
        "GMP",
        "Nail bar in Oldham: young women living above the shop",
        "Referral from the Salvation Army: two Vietnamese women say their passports are held by "
        "the owner and their wages go to pay a travel debt.",
        "ngo",
        ["labour", "domestic"],
        days_ago=5,
        location="Oldham",
        stage="recorded",
        crime=("GMP/26/004411", OffenceType.MSA_S1),
    ),
    DemoCase(
        "GMP",
        "Cannabis farm at Cheetham Hill: teenager found tending plants",
        "Drugs warrant found a 16-year-old Albanian boy locked in a house converted to a cannabis "
        "farm. He was arrested at the scene. Report passed to the Modern Slavery Unit.",
        "proactive",
        ["criminal"],
        days_ago=214,
        location="Cheetham Hill, Manchester",
        stage="allocated",
        crime=("GMP/26/000173", OffenceType.MSA_S2),
    ),
    DemoCase(
        "GMP",
        "Sexual exploitation in short-let flats, city centre",
        "Online adverts for three women moved between short-let flats every few days. One woman "
        "disclosed being raped by a controller.",
        "nca",
        ["sexual"],
        days_ago=40,
        location="Manchester city centre",
        stage="under_investigation",
        crime=("GMP/26/002950", OffenceType.MSA_S2),
        enquiries=[
            ("Take the first victim's account with an interpreter", True, True),
            ("Obtain advert and payment records from the platform", True, False),
            ("Check flats against letting agent records", True, False),
        ],
        suspects=[
            {"name": "Marius Popescu", "role": "controller", "nationality": "Romanian"},
        ],
    ),
    DemoCase(
        "GMP",
        "Factory agency workers in Trafford Park",
        "Agency workers housed ten to a house, wages paid into accounts controlled by the agency "
        "owner. GLAA joint operation.",
        "other_force",
        ["labour"],
        days_ago=120,
        location="Trafford Park",
        stage="closure_requested",
        crime=("GMP/26/001207", OffenceType.MSA_S1),
        enquiries=[
            ("Joint visit with the GLAA", True, True),
            ("Financial investigation of the agency accounts", True, True),
        ],
        suspects=[{"name": "Derek Hollins", "role": "principal", "nationality": "British"}],
        outcome=Outcome.CHARGED,
    ),
    DemoCase(
        "GMP",
        "Domestic servitude in Bolton: closed without enquiries",
        "A neighbour reported a woman who never leaves the house, does all the housework for a "
        "family and is not allowed a phone. Closed two weeks later; nobody spoke to her.",
        "public",
        ["domestic"],
        days_ago=300,
        location="Bolton",
        stage="closed",
        crime=("GMP/25/009812", OffenceType.MSA_S1),
        outcome=Outcome.NFA,
        nfa_reason="victim_not_supporting",
        close_after_days=14,
    ),
    DemoCase(
        "GMP",
        "County lines from Salford to Blackpool",
        "Two boys aged 15 and 17 found with drugs in Blackpool, both reported missing from "
        "Salford. Both disclosed being made to deal to pay off a debt.",
        "other_force",
        ["criminal"],
        days_ago=190,
        location="Salford and Blackpool",
        stage="closed",
        crime=("GMP/26/000512", OffenceType.MSA_S2),
        enquiries=[
            ("Take both boys' accounts with appropriate adults", True, True),
            ("Cell site analysis of the deal line", True, True),
            ("Arrest and interview the line holder", True, True),
        ],
        suspects=[
            {"name": "Jordan Kelly", "role": "principal", "nationality": "British"},
        ],
        outcome=Outcome.CHARGED,
        close_after_days=160,
    ),
    DemoCase(
        "GMP",
        "Cannabis farm in Oldham (2016)",
        "Two Vietnamese teenagers found tending a cannabis farm in a terraced house, the windows "
        "boarded. Closed after the controller was convicted; due for MoPI retention review.",
        "proactive",
        ["criminal"],
        days_ago=3930,
        location="Oldham",
        stage="closed",
        crime=("GMP/16/000231", OffenceType.MSA_S2),
        enquiries=[
            ("Take the boys' accounts with appropriate adults", True, True),
            ("Trace the tenancy and the electricity bypass", True, True),
        ],
        suspects=[{"name": "Van Long Tran", "role": "principal", "nationality": "Vietnamese"}],
        outcome=Outcome.CHARGED,
        close_after_days=240,
    ),
    DemoCase(
        "WYP",
        "Recycling yard in Bradford: workers paid nothing",
        "Polish workers at a recycling yard say they were recruited with promises of good pay; "
        "they are paid in food and cigarettes.",
        "victim",
        ["labour"],
        days_ago=3,
        location="Bradford",
    ),
    DemoCase(
        "WYP",
        "Takeaway in Leeds: worker with no documents",
        "Immigration Enforcement visit found a man working 80-hour weeks, sleeping in the "
        "storeroom, whose documents are held by the owner.",
        "immigration",
        ["labour"],
        days_ago=20,
        location="Leeds",
        stage="allocated",
        crime=("WYP/26/003317", OffenceType.MSA_S1),
    ),
    DemoCase(
        "WYP",
        "Brothel network across Huddersfield and Dewsbury",
        "Intelligence-led operation into a network moving women between addresses.",
        "proactive",
        ["sexual"],
        days_ago=75,
        location="Huddersfield and Dewsbury",
        stage="under_investigation",
        crime=("WYP/26/002001", OffenceType.MSA_S2),
        enquiries=[("Execute warrants at three addresses", True, True)],
    ),
]


def _backdate(inv: Investigation, *, reported: Any, allocated_days: int, close_days: int | None):
    """Spread the demo case's dates over the past, as a real case's would be."""
    updates: dict[str, Any] = {"created_at": reported}
    if inv.crime_decision_at:
        updates["crime_decision_at"] = reported + timedelta(hours=20)
        if inv.crime_recorded_at:
            updates["crime_recorded_at"] = reported + timedelta(hours=20)
    if inv.allocated_at:
        updates["allocated_at"] = reported + timedelta(days=allocated_days)
    if inv.closed_at and close_days is not None:
        updates["closed_at"] = reported + timedelta(days=close_days)
        updates["closure_requested_at"] = reported + timedelta(days=close_days - 1)
        updates["review_due_on"] = retention.first_review_on(
            inv, timezone.localdate(updates["closed_at"])
        )
    Investigation.objects.filter(pk=inv.pk).update(**updates)
    kinds = {
        TimelineKind.CREATED: reported,
        TimelineKind.CRIME_DECISION: updates.get("crime_decision_at"),
        TimelineKind.ALLOCATED: updates.get("allocated_at"),
        TimelineKind.CLOSURE_REQUESTED: updates.get("closure_requested_at"),
        TimelineKind.CLOSURE_APPROVED: updates.get("closed_at"),
    }
    for kind, at in kinds.items():
        if at is not None:
            TimelineEvent.objects.filter(investigation=inv, kind=kind).update(at=at)


def seed(users: dict[str, Any], stdout: Any) -> None:
    now = timezone.now()
    created = 0
    for case in CASES:
        code = case.force.lower()
        officer = users[f"officer.{code}"]
        supervisor = users[f"supervisor.{code}"]
        if Investigation.objects.filter(title=case.title, unit=officer.unit).exists():
            continue
        reported = now - timedelta(days=case.days_ago)
        inv = actions.investigation_create(
            actor=officer,
            title=case.title,
            summary=case.summary,
            source=case.source,
            exploitation_types=case.types,
            reported_at=reported,
            location=case.location,
        )
        created += 1
        if case.stage == "reported":
            _backdate(inv, reported=reported, allocated_days=0, close_days=None)
            continue
        ref, offence = case.crime or ("", "")
        inv = actions.investigation_record_crime_decision(
            inv,
            actor=officer,
            expected_version=inv.version,
            decision=CrimeDecision.RECORDED,
            decided_at=reported + timedelta(hours=20),
            crime_reference=ref,
            offence_type=offence,
        )
        if case.stage != "recorded":
            inv = actions.investigation_allocate(
                inv,
                actor=supervisor,
                expected_version=inv.version,
                oic=officer,
                supervisor=supervisor,
            )
        for i, (what, substantive, done) in enumerate(case.enquiries):
            enquiry = actions.enquiry_add(
                inv, actor=officer, description=what, substantive=substantive, owner=officer
            )
            if done:
                actions.enquiry_complete(
                    enquiry,
                    actor=officer,
                    completed_at=reported + timedelta(days=3 + i * 4),
                    result="Completed; see the case file.",
                )
        for suspect in case.suspects:
            actions.suspect_add(inv, actor=officer, **suspect)
        inv.refresh_from_db()
        if case.stage in ("closure_requested", "closed"):
            actions.closure_request(
                inv,
                actor=officer,
                expected_version=inv.version,
                proposed_outcome=case.outcome,
                proposed_nfa_reason=case.nfa_reason,
                rationale="Enquiries complete; recommend closure."
                if case.enquiries
                else "Victim would not engage when the neighbour's report was followed up.",
            )
            inv.refresh_from_db()
        if case.stage == "closed":
            actions.closure_approve(
                inv,
                actor=supervisor,
                expected_version=inv.version,
                rationale="Agreed." if case.enquiries else "Agreed, no further lines.",
            )
            inv.refresh_from_db()
        _backdate(
            inv,
            reported=reported,
            allocated_days=case.allocate_after_days,
            close_days=case.close_after_days,
        )
    stdout.write(f"Investigations: {created} demo cases added")
