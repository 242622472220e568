"""Demo referrals (after victims.demo): an adult referred with consent and in the recovery
period, an age-disputed child referred without consent, an adult who declines the NRM (an
anonymous MS1), and a referral still waiting for its reasonable grounds decision with no crime
linked. Idempotent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from referrals import actions
from referrals.models import Decision, DutyToNotify, NrmReferral
from victims.models import Involvement


def _involvement(name: str) -> Involvement | None:
    return (
        Involvement.objects.filter(victim__name=name)
        .select_related("victim", "investigation__oic")
        .first()
    )


def seed(users: dict[str, Any], stdout: Any) -> None:
    today = timezone.localdate()
    made = 0

    def refer(name: str, days_ago: int, **kwargs: Any) -> NrmReferral | None:
        nonlocal made
        involvement = _involvement(name)
        if involvement is None or NrmReferral.objects.filter(victim=involvement.victim).exists():
            return None
        inv = involvement.investigation
        officer = inv.oic or users[f"officer.{inv.force.code.lower()}"]
        submitted = max(today - timedelta(days=days_ago), timezone.localdate(inv.reported_at))
        made += 1
        return actions.nrm_referral_submit(
            involvement.victim,
            investigation=inv,
            actor=officer,
            organisation=inv.force.name,
            submitted_on=submitted,
            consent_given=True,
            consent_on=submitted,
            childrens_services_told_on=submitted,
            **kwargs,
        )

    ioana = _involvement("Ioana Stan")
    if ioana is not None:
        offence = ioana.victim.offences.filter(offence_type__startswith="msa").first()
        referral = refer("Ioana Stan", 30, linked_offence=offence)
        if referral is not None:
            actions.nrm_decision_record(
                referral,
                actor=referral.first_responder,
                expected_version=referral.version,
                stage="rg",
                decision=Decision.POSITIVE,
                decided_on=referral.submitted_on + timedelta(days=5),
            )
    refer("Tran Thi Mai", 3, non_crime_reason="n200_1")  # age disputed: treated as a child
    refer("Krzysztof Wójcik", 20)  # no RG decision after 20 days, no crime linked
    lan = _involvement("Nguyen Thi Lan")
    if lan is not None and not DutyToNotify.objects.filter(victim=lan.victim).exists():
        inv = lan.investigation
        actions.duty_to_notify_submit(
            lan.victim,
            investigation=inv,
            actor=inv.oic or users["officer.gmp"],
            submitted_on=today - timedelta(days=1),
            gender="female",
            age_band="18-24",
            nationality="Vietnamese",
            exploitation_types=["labour", "domestic"],
            where_exploited="Oldham",
            consent_to_be_identified=False,
        )
        made += 1
    stdout.write(f"Referrals: {made} demo referrals and notifications added")
