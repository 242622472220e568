"""Every write to NRM referrals, MS1 notifications and agency referrals."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from investigations.actions import lock_investigation, record_on_case, save_investigation
from investigations.models import MODERN_SLAVERY_OFFENCES, Investigation, Offence, TimelineKind
from referrals import access
from referrals.models import (
    RECOVERY_PERIOD_DAYS,
    Agency,
    AgencyReferral,
    Decision,
    DutyToNotify,
    NrmReferral,
)
from slaverycases.audit.models import AuditAction
from slaverycases.core.errors import DomainError, NotPermitted, StaleEdit
from victims.models import Involvement, Victim

if TYPE_CHECKING:
    from slaverycases.accounts.models import User


def _case_for(victim: Victim, investigation: Investigation, actor: User) -> Investigation:
    """Lock the case a new referral is made from: the actor must work it (seeing it through a
    share is not enough) and the person must be a victim in it."""
    inv = lock_investigation(investigation, None)
    if not access.may_refer(actor, inv):
        raise NotPermitted("You cannot make referrals for this investigation.")
    if not Involvement.objects.filter(victim=victim, investigation=inv).exists():
        raise DomainError("This person is not a victim in that investigation.")
    return inv


def _referral_to_change(
    referral: NrmReferral, actor: User, expected_version: int
) -> tuple[NrmReferral, Investigation]:
    """Lock the referral's own case, then the referral (cases before their rows, as every
    action here). Only that case's team may change the referral, whichever other case of the
    victim they work."""
    inv = lock_investigation(Investigation(pk=referral.investigation_id), None)
    locked = NrmReferral.objects.select_for_update().get(pk=referral.pk)
    locked.investigation = inv
    if not access.may_change_referral(actor, locked):
        raise NotPermitted("Only the team working this referral's investigation can change it.")
    if locked.version != expected_version:
        raise StaleEdit()
    return locked, inv


def _not_future(day: date, what: str) -> None:
    if day > timezone.localdate():
        raise DomainError(f"{what} must be today or in the past.")


def _identified_on(victim: Victim, inv: Investigation) -> date | None:
    """The (local) day the victim was identified on the case a referral is made from."""
    identified_at = (
        Involvement.objects.filter(victim=victim, investigation=inv)
        .values_list("identified_at", flat=True)
        .first()
    )
    return timezone.localdate(identified_at) if identified_at else None


def _check_crime_link(
    victim: Victim, inv: Investigation, offence: Offence | None, non_crime_reason: str
) -> None:
    if offence is not None and (
        offence.investigation_id != inv.pk
        or offence.offence_type not in MODERN_SLAVERY_OFFENCES
        or offence.victim_id not in (None, victim.pk)
    ):
        raise DomainError(
            "Link the referral to a modern slavery crime recorded for this victim on this case."
        )
    if offence is not None and non_crime_reason:
        raise DomainError("Give either the linked crime or the non-crime reason, not both.")


@transaction.atomic
def nrm_referral_submit(
    victim: Victim,
    *,
    investigation: Investigation,
    actor: User,
    organisation: str,
    submitted_on: date,
    consent_given: bool | None,
    consent_on: date | None,
    childrens_services_told_on: date | None,
    competent_authority_reference: str = "",
    places_of_safety_used: bool = False,
    linked_offence: Offence | None = None,
    non_crime_reason: str = "",
) -> NrmReferral:
    """Refer a victim to the NRM. Adults must consent; a child (including anyone presumed to be
    a child under MSA s51) is referred without consent and children's services are told."""
    inv = _case_for(victim, investigation, actor)
    victim = Victim.objects.select_for_update().get(pk=victim.pk)
    _not_future(submitted_on, "Date submitted")
    identified = _identified_on(victim, inv)
    if identified is not None and submitted_on < identified:
        raise DomainError(
            f"Date submitted cannot be before {victim.name} was identified on this case "
            f"({identified:%-d %b %Y})."
        )
    child = victim.is_child
    if child:
        consent_given, consent_on = None, None
        if childrens_services_told_on is None:
            raise DomainError("Enter the date children's services were told about the child.")
        _not_future(childrens_services_told_on, "Date children's services were told")
    else:
        childrens_services_told_on = None
        if consent_given is not True:
            raise DomainError(
                "An adult must consent to an NRM referral. If they decline, make a Duty to "
                "Notify (MS1) notification instead."
            )
        if consent_on is None:
            raise DomainError("Enter the date the adult gave consent.")
        if consent_on > submitted_on:
            raise DomainError("Consent must be given on or before the date submitted.")
    _check_crime_link(victim, inv, linked_offence, non_crime_reason)
    referral = NrmReferral.objects.create(
        victim=victim,
        investigation=inv,
        first_responder_organisation=organisation,
        first_responder=actor,
        referred_as_child=child,
        consent_given=consent_given,
        consent_on=consent_on,
        childrens_services_told_on=childrens_services_told_on,
        submitted_on=submitted_on,
        competent_authority_reference=competent_authority_reference,
        places_of_safety_used=places_of_safety_used,
        linked_offence=linked_offence,
        non_crime_reason=non_crime_reason,
    )
    save_investigation(inv, [])
    who = "child (no consent needed; children's services told)" if child else "adult, with consent"
    record_on_case(
        inv,
        actor=actor,
        kind=TimelineKind.REFERRAL,
        text=f"NRM referral of {victim.name} submitted {submitted_on:%-d %b %Y} as {who}",
        obj=referral,
        action=AuditAction.DISCLOSURE,
        recipient="Single Competent Authority (NRM)",
    )
    return referral


@transaction.atomic
def nrm_decision_record(
    referral: NrmReferral,
    *,
    actor: User,
    expected_version: int,
    stage: str,
    decision: str,
    decided_on: date,
) -> NrmReferral:
    referral, inv = _referral_to_change(referral, actor, expected_version)
    _not_future(decided_on, "Date of the decision")
    if decision not in (Decision.POSITIVE, Decision.NEGATIVE):
        raise DomainError("Select the decision.")
    if stage == "rg":
        if referral.cg_decision != Decision.PENDING:
            # a conclusive grounds decision rests on a positive RG decision made before it
            raise DomainError(
                "The conclusive grounds decision is recorded: the reasonable grounds decision "
                "it followed can no longer be changed."
            )
        if decided_on < referral.submitted_on:
            raise DomainError("The decision date cannot be before the referral was submitted.")
        referral.rg_decision, referral.rg_decision_on = decision, decided_on
        label = "Reasonable grounds"
    elif stage == "cg":
        if referral.rg_decision != Decision.POSITIVE:
            raise DomainError("A conclusive grounds decision follows a positive RG decision.")
        end = referral.recovery_period_ends
        if end and decided_on < end:
            raise DomainError(
                f"A conclusive grounds decision comes no earlier than the end of the "
                f"{RECOVERY_PERIOD_DAYS}-day recovery period ({end:%-d %B %Y})."
            )
        referral.cg_decision, referral.cg_decision_on = decision, decided_on
        label = "Conclusive grounds"
    else:
        raise DomainError("Unknown decision stage.")
    referral.version += 1
    referral.save(
        update_fields=["rg_decision", "rg_decision_on", "cg_decision", "cg_decision_on", "version"]
    )
    text = f"{label} decision for {referral.victim.name}: {decision} ({decided_on:%-d %b %Y})"
    if stage == "rg" and referral.recovery_period_ends:
        text += f"; recovery period ends {referral.recovery_period_ends:%-d %b %Y}"
    record_on_case(inv, actor=actor, kind=TimelineKind.REFERRAL, text=text, obj=referral)
    return referral


@transaction.atomic
def nrm_referral_link_crime(
    referral: NrmReferral,
    *,
    actor: User,
    expected_version: int,
    offence: Offence | None,
    non_crime_reason: str,
) -> NrmReferral:
    referral, inv = _referral_to_change(referral, actor, expected_version)
    if offence is None and not non_crime_reason:
        raise DomainError("Choose the linked crime or the reason no crime is recorded.")
    _check_crime_link(referral.victim, inv, offence, non_crime_reason)
    referral.linked_offence = offence
    referral.non_crime_reason = non_crime_reason
    referral.version += 1
    referral.save(update_fields=["linked_offence", "non_crime_reason", "version"])
    text = (
        f"NRM referral of {referral.victim.name} linked to crime {offence.crime_reference}"
        if offence
        else f"NRM referral of {referral.victim.name}: {referral.get_non_crime_reason_display()}"
    )
    record_on_case(
        inv,
        actor=actor,
        kind=TimelineKind.REFERRAL,
        text=text,
        obj=referral,
        action=AuditAction.COMBINATION,
    )
    return referral


@transaction.atomic
def duty_to_notify_submit(
    victim: Victim,
    *,
    investigation: Investigation,
    actor: User,
    submitted_on: date,
    gender: str,
    age_band: str,
    nationality: str,
    exploitation_types: Iterable[str],
    where_exploited: str,
    consent_to_be_identified: bool,
    identified_name: str = "",
    identified_date_of_birth: date | None = None,
    identified_address: str = "",
) -> DutyToNotify:
    """An MS1 for an adult who declines the NRM. Without consent to be identified it holds no
    name, date of birth or address (MSA 2015 s52(3))."""
    inv = _case_for(victim, investigation, actor)
    if victim.is_child:
        raise DomainError(
            "Children are referred to the NRM without consent: make an NRM referral instead."
        )
    _not_future(submitted_on, "Date submitted")
    referred = (
        NrmReferral.objects.filter(victim=victim).order_by("submitted_on").only("submitted_on")
    ).first()
    if referred is not None:
        raise DomainError(
            f"{victim.name} was referred to the NRM on {referred.submitted_on:%-d %b %Y} with "
            "their consent: an MS1 is for an adult who declines the NRM."
        )
    has_identifiers = bool(
        identified_name.strip() or identified_date_of_birth or identified_address.strip()
    )
    if has_identifiers and not consent_to_be_identified:
        raise DomainError(
            "Without the adult's consent to be identified the notification must not hold their "
            "name, date of birth or address."
        )
    ms1 = DutyToNotify.objects.create(
        victim=victim,
        investigation=inv,
        submitted_on=submitted_on,
        gender=gender,
        age_band=age_band,
        nationality=nationality,
        exploitation_types=sorted(set(exploitation_types)),
        where_exploited=where_exploited,
        consent_to_be_identified=consent_to_be_identified,
        identified_name=identified_name if consent_to_be_identified else "",
        identified_date_of_birth=identified_date_of_birth if consent_to_be_identified else None,
        identified_address=identified_address if consent_to_be_identified else "",
        submitted_by=actor,
    )
    save_investigation(inv, [])
    record_on_case(
        inv,
        actor=actor,
        kind=TimelineKind.REFERRAL,
        text=f"Duty to Notify (MS1) submitted {submitted_on:%-d %b %Y}: adult declined the NRM"
        + ("" if consent_to_be_identified else "; anonymous"),
        obj=ms1,
        action=AuditAction.DISCLOSURE,
        recipient="Home Office (Duty to Notify)",
    )
    return ms1


@transaction.atomic
def agency_referral_record(
    victim: Victim,
    *,
    investigation: Investigation,
    actor: User,
    agency: str,
    organisation: str,
    referred_on: date,
    reason: str,
    justification: str = "",
    response: str = "",
) -> AgencyReferral:
    inv = _case_for(victim, investigation, actor)
    _not_future(referred_on, "Date referred")
    if agency == Agency.IMMIGRATION and not justification.strip():
        raise DomainError(
            "Sharing a victim's details with Immigration Enforcement needs a justification."
        )
    referral = AgencyReferral.objects.create(
        victim=victim,
        investigation=inv,
        agency=agency,
        organisation=organisation,
        referred_on=referred_on,
        reason=reason,
        justification=justification,
        response=response,
        referred_by=actor,
    )
    recipient = referral.get_agency_display() + (f" ({organisation})" if organisation else "")
    save_investigation(inv, [])
    record_on_case(
        inv,
        actor=actor,
        kind=TimelineKind.REFERRAL,
        text=f"{victim.name} referred to {recipient}",
        obj=referral,
        action=AuditAction.DISCLOSURE,
        justification=justification,
        recipient=recipient,
    )
    return referral
