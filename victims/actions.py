"""Every write to victims, involvements, disclosures and custody events."""

from __future__ import annotations

import string
from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from investigations import access as case_access
from investigations.actions import (
    crime_recorded_on_case,
    crime_references_claim,
    lock_investigation,
    record_on_case,
    save_investigation,
    search_text_refresh,
)
from investigations.models import (
    MODERN_SLAVERY_OFFENCES,
    Investigation,
    Offence,
    Status,
    TimelineKind,
)
from slaverycases.audit.actions import audit_record
from slaverycases.audit.models import AuditAction
from slaverycases.core.errors import DomainError, NotPermitted, StaleEdit
from victims.models import CustodyEvent, Disclosure, Involvement, S45Decision, Victim

if TYPE_CHECKING:
    from slaverycases.accounts.models import User

VICTIM_FIELDS = (
    "name",
    "aliases",
    "date_of_birth",
    "estimated_age",
    "may_be_under_18",
    "gender",
    "nationality",
    "languages",
    "interpreter_needed",
)


def _label(index: int) -> str:
    letters = string.ascii_uppercase
    if index < 26:
        return f"Victim {letters[index]}"
    return f"Victim {letters[index // 26 - 1]}{letters[index % 26]}"


def _check_dates(*, date_of_birth: date | None, when: datetime, reported_at: datetime) -> None:
    if date_of_birth and date_of_birth > timezone.localdate():
        raise DomainError("Date of birth must be in the past.")
    if when > timezone.now():
        raise DomainError("The date must be today or in the past.")


@transaction.atomic
def victims_add_to_investigation(
    investigation: Investigation,
    *,
    actor: User,
    people: Iterable[dict[str, Any]],
    identified_at: datetime,
    offence_type: str,
    indicators: Iterable[str] = (),
) -> list[Involvement]:
    """Add the victims found together (for example the 14 workers on a building site): one
    record each (or a link to an existing record), and one modern slavery crime per victim.
    The crime recorded for the report before anyone was identified (no victim yet) is the
    crime of the victim whose row gives its reference: it is theirs, not a second crime."""
    inv = lock_investigation(investigation, None, open_only=True)
    if not (case_access.may_change(actor, inv) and actor.has_perm("victims.add_victim")):
        raise NotPermitted("You cannot add victims to this investigation.")
    if inv.status == Status.REPORTED:
        raise DomainError("Record the crime recording decision before adding victims.")
    if offence_type not in MODERN_SLAVERY_OFFENCES:
        raise DomainError("Choose the modern slavery offence to record for each victim.")
    if identified_at > timezone.now():
        raise DomainError("Date identified must be today or in the past.")
    if identified_at < inv.reported_at:
        raise DomainError("Victims cannot be identified before the report was made.")
    people = list(people)
    if not people:
        raise DomainError("Add at least one victim.")
    references = [p["crime_reference"] for p in people]
    if len(set(references)) != len(references):
        raise DomainError("Each victim's crime needs its own crime reference number.")
    unassigned = {
        o.crime_reference: o
        for o in Offence.objects.filter(
            investigation=inv,
            victim__isnull=True,
            offence_type__in=MODERN_SLAVERY_OFFENCES,
            crime_reference__in=references,
        )
    }
    crime_references_claim(inv.force_id, [r for r in references if r not in unassigned])
    count = inv.involvements.count()
    created: list[Involvement] = []
    for i, person in enumerate(people):
        victim: Victim | None = person.get("existing_victim")
        if victim is None:
            _check_dates(
                date_of_birth=person.get("date_of_birth"),
                when=identified_at,
                reported_at=inv.reported_at,
            )
            victim = Victim.objects.create(
                **{name: person.get(name) for name in VICTIM_FIELDS if name in person},
                # a child at the time of exploitation stays a child on their record
                exploitation_began=person.get("exploitation_began")
                or timezone.localtime(identified_at).date(),
                current_force=inv.force,
                created_by=actor,
            )
            audit_record(
                actor=actor,
                action=AuditAction.COLLECTION,
                obj=victim,
                investigation_reference=inv.reference,
            )
        elif Involvement.objects.filter(victim=victim, investigation=inv).exists():
            raise DomainError(f"{victim.name} is already a victim in this investigation.")
        else:
            audit_record(
                actor=actor,
                action=AuditAction.COMBINATION,
                obj=victim,
                investigation_reference=inv.reference,
                detail={"linked_to": inv.reference},
            )
        involvement = Involvement.objects.create(
            victim=victim,
            investigation=inv,
            label=_label(count + i),
            identified_at=identified_at,
            identified_by=actor,
            indicators=sorted(set(indicators)),
        )
        report_crime = unassigned.get(person["crime_reference"])
        if report_crime is not None:
            report_crime.victim = victim
            report_crime.save(update_fields=["victim"])
        else:
            Offence.objects.create(
                investigation=inv,
                crime_reference=person["crime_reference"],
                offence_type=offence_type,
                recorded_at=timezone.now(),
                recorded_by=actor,
                victim=victim,
            )
        created.append(involvement)
    # The case is open (locked open_only above): its victims are on the safeguarding board.
    Victim.objects.filter(pk__in=[i.victim_id for i in created]).update(in_open_case=True)
    search_text_refresh([inv.pk])
    save_investigation(inv, crime_recorded_on_case(inv, actor=actor, at=timezone.now()))
    names = ", ".join(f"{i.label} ({i.victim.name})" for i in created)
    record_on_case(
        inv,
        actor=actor,
        kind=TimelineKind.VICTIM,
        text=(
            f"{len(created)} victims added, each with a modern slavery crime: {names}"
            if len(created) != 1
            else f"Victim added with a modern slavery crime: {names}"
        ),
        action=AuditAction.COLLECTION,
    )
    return created


@transaction.atomic
def involvement_record_account(
    involvement: Involvement,
    *,
    actor: User,
    taken_at: datetime,
    interpreter_used: bool,
    interpreter_language: str,
    summary: str,
    indicators: Iterable[str],
    expected_version: int | None = None,
) -> Involvement:
    """Record the victim's account, or change it. `expected_version` is the case's version
    the officer's form was loaded with: a change made meanwhile (another account, another
    officer's edit) refuses this one (StaleEdit) instead of overwriting it."""
    inv = lock_investigation(involvement.investigation, expected_version, open_only=True)
    if not case_access.may_change(actor, inv):
        raise NotPermitted("You cannot record accounts on this investigation.")
    involvement = Involvement.objects.select_for_update().get(pk=involvement.pk)
    if taken_at > timezone.now():
        raise DomainError("Date the account was taken must be today or in the past.")
    if taken_at < involvement.identified_at:
        raise DomainError("The account cannot be taken before the victim was identified.")
    if interpreter_used and not interpreter_language.strip():
        raise DomainError("Enter the language the interpreter used.")
    involvement.account_taken_at = taken_at
    involvement.account_taken_by = actor
    involvement.interpreter_used = interpreter_used
    involvement.interpreter_language = interpreter_language if interpreter_used else ""
    involvement.account_summary = summary
    involvement.indicators = sorted(set(indicators))
    involvement.save(
        update_fields=[
            "account_taken_at",
            "account_taken_by",
            "interpreter_used",
            "interpreter_language",
            "account_summary",
            "indicators",
        ]
    )
    save_investigation(inv, [])
    interpreter = (
        f" with a {involvement.interpreter_language} interpreter" if interpreter_used else ""
    )
    record_on_case(
        inv,
        actor=actor,
        kind=TimelineKind.VICTIM,
        text=f"{involvement.label}'s account taken{interpreter}",
        obj=involvement,
        action=AuditAction.COLLECTION,
    )
    return involvement


@transaction.atomic
def disclosure_record(
    involvement: Involvement,
    *,
    actor: User,
    offence_type: str,
    disclosed_at: datetime,
    account: str,
) -> Disclosure:
    inv = lock_investigation(involvement.investigation, None, open_only=True)
    if not case_access.may_change(actor, inv):
        raise NotPermitted("You cannot record disclosures on this investigation.")
    if disclosed_at > timezone.now():
        raise DomainError("Date disclosed must be today or in the past.")
    disclosure = Disclosure.objects.create(
        involvement=involvement,
        offence_type=offence_type,
        disclosed_at=disclosed_at,
        account=account,
        recorded_by=actor,
    )
    save_investigation(inv, [])
    record_on_case(
        inv,
        actor=actor,
        kind=TimelineKind.VICTIM,
        text=f"{involvement.label} disclosed {disclosure.get_offence_type_display().lower()}",
        obj=disclosure,
        action=AuditAction.COLLECTION,
    )
    return disclosure


@transaction.atomic
def disclosure_link_offence(
    disclosure: Disclosure,
    *,
    actor: User,
    offence: Offence | None = None,
    crime_reference: str = "",
) -> Offence:
    """Match a disclosure with the crime recorded for it: an existing offence of that type for
    that victim, or one recorded now with the crime reference given."""
    involvement = disclosure.involvement
    inv = lock_investigation(involvement.investigation, None, open_only=True)
    if not case_access.may_change(actor, inv):
        raise NotPermitted("You cannot record offences on this investigation.")
    disclosure = Disclosure.objects.select_for_update().get(pk=disclosure.pk)
    if disclosure.offence_id is not None:
        raise DomainError("This disclosure is already linked to a recorded offence.")
    if offence is None:
        if not crime_reference.strip():
            raise DomainError("Choose a recorded offence or enter a crime reference number.")
        crime_references_claim(inv.force_id, [crime_reference])
        offence = Offence.objects.create(
            investigation=inv,
            crime_reference=crime_reference,
            offence_type=disclosure.offence_type,
            recorded_at=timezone.now(),
            recorded_by=actor,
            victim=involvement.victim,
        )
        audit_record(actor=actor, action=AuditAction.COLLECTION, obj=offence)
    elif (
        offence.investigation_id != inv.pk
        or offence.offence_type != disclosure.offence_type
        or offence.victim_id not in (None, involvement.victim_id)
    ):
        raise DomainError(
            "Choose an offence of the disclosed type recorded for this victim on this case."
        )
    elif offence.victim_id is None:
        offence.victim = involvement.victim
        offence.save(update_fields=["victim"])
    disclosure.offence = offence
    disclosure.save(update_fields=["offence"])
    save_investigation(inv, crime_recorded_on_case(inv, actor=actor, at=offence.recorded_at))
    record_on_case(
        inv,
        actor=actor,
        kind=TimelineKind.OFFENCE,
        text=f"{involvement.label}'s disclosure of "
        f"{disclosure.get_offence_type_display().lower()} recorded as {offence.crime_reference}",
        obj=disclosure,
    )
    return offence


@transaction.atomic
def custody_event_record(
    victim: Victim,
    *,
    investigation: Investigation,
    actor: User,
    kind: str,
    offence: str,
    occurred_at: datetime,
    s45_decision: str,
    s45_rationale: str,
) -> CustodyEvent:
    inv = lock_investigation(investigation, None, open_only=True)
    if not case_access.may_change(actor, inv):
        raise NotPermitted("You cannot record custody events on this investigation.")
    if not Involvement.objects.filter(victim=victim, investigation=inv).exists():
        raise DomainError("This person is not a victim in that investigation.")
    if occurred_at > timezone.now():
        raise DomainError("The date must be today or in the past.")
    if s45_decision != "not_considered" and not s45_rationale.strip():
        raise DomainError("Give the reasons for the section 45 decision.")
    event = CustodyEvent.objects.create(
        victim=victim,
        investigation=inv,
        kind=kind,
        offence=offence,
        occurred_at=occurred_at,
        s45_decision=s45_decision,
        s45_rationale=s45_rationale,
        recorded_by=actor,
    )
    save_investigation(inv, [])
    record_on_case(
        inv,
        actor=actor,
        kind=TimelineKind.VICTIM,
        text=f"{victim.name} {event.get_kind_display().lower()} for {offence}; section 45: "
        f"{event.get_s45_decision_display().lower()}",
        obj=event,
        action=AuditAction.COLLECTION,
    )
    return event


@transaction.atomic
def custody_event_record_s45(
    event: CustodyEvent, *, actor: User, s45_decision: str, s45_rationale: str
) -> CustodyEvent:
    """Record the section 45 / non-punishment consideration for an arrest or charge made
    before it was considered (what the victim_criminalised flag asks for)."""
    inv = lock_investigation(event.investigation, None)  # closed cases too (may_consider_s45)
    if not case_access.may_consider_s45(actor, inv):
        raise NotPermitted("You cannot change custody events on this investigation.")
    event = CustodyEvent.objects.select_for_update().select_related("victim").get(pk=event.pk)
    if event.s45_decision != S45Decision.NOT_CONSIDERED:
        # Someone recorded it meanwhile (two officers on the same flag): keep their decision.
        raise DomainError(
            "Section 45 has already been considered for this "
            f"{event.get_kind_display().lower()}: {event.get_s45_decision_display().lower()}. "
            "Nothing was changed."
        )
    if s45_decision == "not_considered":
        raise DomainError("Select the outcome of the section 45 consideration.")
    if not s45_rationale.strip():
        raise DomainError("Give the reasons for the section 45 decision.")
    event.s45_decision = s45_decision
    event.s45_rationale = s45_rationale
    event.save(update_fields=["s45_decision", "s45_rationale"])
    save_investigation(inv, [])
    record_on_case(
        inv,
        actor=actor,
        kind=TimelineKind.VICTIM,
        text=f"Section 45 considered for {event.victim.name}'s "
        f"{event.get_kind_display().lower()} ({event.offence}): "
        f"{event.get_s45_decision_display().lower()}",
        obj=event,
    )
    return event


@transaction.atomic
def victim_update(victim: Victim, *, actor: User, expected_version: int, **fields: Any) -> Victim:
    from victims.access import may_change_victim

    # NO KEY UPDATE: a case adding this victim (an involvement's foreign key share-locks the
    # victim) while this edit waits for that case's lock (search_text_refresh) is no deadlock.
    locked = Victim.objects.select_for_update(no_key=True).get(pk=victim.pk)
    cases = list(
        Investigation.objects.visible_to(actor).filter(involvements__victim=locked).distinct()
    )
    if not may_change_victim(actor, cases):
        raise NotPermitted("You cannot change this victim's record.")
    if locked.version != expected_version:
        raise StaleEdit()
    if fields.get("date_of_birth") and fields["date_of_birth"] > timezone.localdate():
        raise DomainError("Date of birth must be in the past.")
    changed = [name for name, value in fields.items() if getattr(locked, name) != value]
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.version += 1
    locked.save(update_fields=[*fields, "version"])
    if {"name", "aliases"} & set(changed):
        # every case the victim is in, seen by this user or not
        search_text_refresh(locked.involvements.values_list("investigation_id", flat=True))
    audit_record(actor=actor, action=AuditAction.ALTERATION, obj=locked, detail={"fields": changed})
    return locked


def victim_consulted(victim: Victim, *, actor: User) -> None:
    audit_record(actor=actor, action=AuditAction.CONSULTATION, obj=victim)
