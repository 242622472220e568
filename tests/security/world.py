"""A small world for the permission matrix: one case for each relation to the GMP personas,
each with an enquiry, a suspect, a victim with a disclosure, a missing episode, an NRM
referral and a flag, all made through the real actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import Group
from django.utils import timezone

from investigations import actions as case_actions
from investigations.models import Offence
from referrals import actions as referral_actions
from safeguarding import actions as safeguarding_actions
from slaverycases.accounts.actions import unit_ensure
from slaverycases.accounts.models import Force, User
from slaverycases.flags.actions import scan
from slaverycases.flags.models import Flag
from tests import factories
from victims import actions as victim_actions

RELATIONS = ("own", "other_unit", "other_force", "shared")


@dataclass
class CaseObjects:
    reference: str
    enquiry: int
    suspect: int
    offence: int
    involvement: int
    disclosure: int
    victim: int
    missing: int
    nrm: int
    flag: int
    custody: int


def _case(officer: User, supervisor: User, n: int) -> CaseObjects:
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=40)
    enquiry = case_actions.enquiry_add(
        inv, actor=officer, description="Check the premises", substantive=True, owner=officer
    )
    suspect = case_actions.suspect_add(inv, actor=officer, name=f"Suspect {n}", role="principal")
    involvement = victim_actions.victims_add_to_investigation(
        inv,
        actor=officer,
        people=[{"name": f"Victim {n}", "estimated_age": 30, "crime_reference": f"PM/{n}"}],
        identified_at=timezone.now() - timedelta(days=20),
        offence_type="msa_s1",
    )[0]
    disclosure = victim_actions.disclosure_record(
        involvement,
        actor=officer,
        offence_type="assault",
        disclosed_at=timezone.now() - timedelta(days=2),
        account="Beaten",
    )
    victim = involvement.victim
    missing = safeguarding_actions.missing_episode_open(
        victim,
        actor=officer,
        reported_missing_at=timezone.now() - timedelta(hours=3),
        risk_level="high",
        notes="",
    )
    nrm = referral_actions.nrm_referral_submit(
        victim,
        investigation=inv,
        actor=officer,
        organisation="Police",
        submitted_on=timezone.localdate() - timedelta(days=10),
        consent_given=True,
        consent_on=timezone.localdate() - timedelta(days=10),
        childrens_services_told_on=None,
    )
    custody = victim_actions.custody_event_record(
        victim,
        investigation=inv,
        actor=officer,
        kind="arrested",
        offence="Drugs supply",
        occurred_at=timezone.now() - timedelta(days=1),
        s45_decision="not_considered",
        s45_rationale="",
    )
    scan(force=inv.force)
    flag = Flag.objects.filter(investigation=inv, kind="unrecorded_linked_offence").first()
    return CaseObjects(
        inv.reference,
        enquiry.pk,
        suspect.pk,
        Offence.objects.filter(investigation=inv).values_list("pk", flat=True).first(),
        involvement.pk,
        disclosure.pk,
        victim.pk,
        missing.pk,
        nrm.pk,
        flag.pk,
        custody.pk,
    )


def build(people: dict[str, User]) -> dict[str, Any]:
    gmp = Force.objects.get(code="GMP")
    unit_b = unit_ensure(force=gmp, name="GMP Public Protection Unit")
    officer_b = User.objects.create_user(
        "officer.gmp.b", force=gmp, unit=unit_b, password="x-long-unused-password-123"
    )
    officer_b.groups.add(Group.objects.get(name="officer"))
    supervisor_b = User.objects.create_user(
        "supervisor.gmp.b", force=gmp, unit=unit_b, password="x-long-unused-password-123"
    )
    supervisor_b.groups.add(Group.objects.get(name="supervisor"))
    cases = {
        "own": _case(people["officer.gmp"], people["supervisor.gmp"], 1),
        "other_unit": _case(officer_b, supervisor_b, 2),
        "other_force": _case(people["officer.wyp"], people["supervisor.wyp"], 3),
        "shared": _case(people["officer.wyp"], people["supervisor.wyp"], 4),
    }
    from investigations.models import Investigation

    shared = Investigation.objects.get(reference=cases["shared"].reference)
    case_actions.investigation_share(
        shared, actor=people["supervisor.wyp"], force=gmp, reason="Victim moved to Manchester"
    )
    return cases
