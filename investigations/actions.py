"""Every write to an investigation. Each action runs in one transaction, locks the row it
changes, checks the actor and the state, writes a timeline event and an audit event, and
refuses an edit made on a stale copy.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import Permission
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from investigations import access, retention
from investigations.models import (
    ClosureDecision,
    ClosureReview,
    CrimeDecision,
    Enquiry,
    IntakeSubmission,
    Investigation,
    InvestigationExploitation,
    InvestigationGroupObjectPermission,
    InvestigationUserObjectPermission,
    NfaReason,
    Offence,
    OffenceOutcome,
    OffenceType,
    Outcome,
    ReferenceCounter,
    RetentionDecision,
    RetentionNotice,
    RetentionReview,
    Status,
    SupervisoryReview,
    Suspect,
    TimelineEvent,
    TimelineKind,
    exploitation_bits,
    search_text,
)
from slaverycases.accounts.actions import sharing_group
from slaverycases.accounts.roles import SUPERVISOR, works_cases
from slaverycases.audit.actions import audit_record
from slaverycases.audit.models import AuditAction
from slaverycases.core.actions import advisory_lock
from slaverycases.core.errors import DomainError, NotPermitted, StaleEdit, TransitionNotAllowed

if TYPE_CHECKING:
    from slaverycases.accounts.models import Force, Unit, User

# The status workflow: which statuses each transition may start from, and where it goes.
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "record_crime_decision": (frozenset({Status.REPORTED}), Status.RECORDED),
    "allocate": (
        frozenset({Status.RECORDED, Status.ALLOCATED, Status.UNDER_INVESTIGATION}),
        None,  # RECORDED -> ALLOCATED; a re-allocation keeps the status
    ),
    "start": (frozenset({Status.ALLOCATED}), Status.UNDER_INVESTIGATION),
    "request_closure": (
        frozenset({Status.RECORDED, Status.ALLOCATED, Status.UNDER_INVESTIGATION}),
        Status.CLOSURE_REQUESTED,
    ),
    "approve_closure": (frozenset({Status.CLOSURE_REQUESTED}), Status.CLOSED),
    "reject_closure": (frozenset({Status.CLOSURE_REQUESTED}), None),  # back to where it was
    # Back to where the case had got to: RECORDED with no officer in charge, ALLOCATED if its
    # work had not started, else UNDER_INVESTIGATION (investigation_reopen).
    "reopen": (frozenset({Status.CLOSED}), None),
}

# Hooks run after commit when a case changes (the flag rules register here).
_after_change_hooks: list[Callable[[int], None]] = []


def register_after_change_hook(hook: Callable[[int], None]) -> None:
    _after_change_hooks.append(hook)


def _after_commit(investigation_id: int) -> None:
    """Run the hooks once per case per transaction, after it commits."""
    connection = transaction.get_connection()
    for hook in _after_change_hooks:
        key = (hook, investigation_id)
        if any(getattr(f, "hook_key", None) == key for _, f, _ in connection.run_on_commit):
            continue

        def run(hook: Callable[[int], None] = hook) -> None:
            hook(investigation_id)

        run.hook_key = key  # type: ignore[attr-defined]
        transaction.on_commit(run)


def _check_transition(investigation: Investigation, transition: str) -> None:
    allowed_from, _ = TRANSITIONS[transition]
    if investigation.status not in allowed_from:
        raise TransitionNotAllowed(
            f"This investigation is {investigation.get_status_display().lower()}: "
            "that step is not possible now."
        )


def lock_investigation(
    investigation: Investigation, expected_version: int | None, *, open_only: bool = False
) -> Investigation:
    locked = Investigation.objects.select_for_update().get(pk=investigation.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleEdit()
    if open_only and locked.status == Status.CLOSED:
        raise TransitionNotAllowed(
            "This investigation is closed. A supervisor must reopen it before it can change."
        )
    return locked


def crime_references_claim(force_id: int, references: Iterable[str]) -> None:
    """A crime reference is used once in a force. Called before offences are written with
    these references: each reference is locked in the force until the transaction ends (two
    cases recording one at the same moment are checked one after the other), then any already
    used is refused."""
    wanted = sorted(set(references))
    for reference in wanted:  # in order: two claims of the same pair never wait on each other
        advisory_lock(f"crime-reference:{force_id}:{reference}")
    used = sorted(
        Offence.objects.filter(
            investigation__force_id=force_id, crime_reference__in=wanted
        ).values_list("crime_reference", flat=True)
    )
    if used:
        raise DomainError(f"Crime reference {used[0]} is already used in this force.")


def crime_recorded_on_case(inv: Investigation, *, actor: User, at: datetime) -> list[str]:
    """A crime was just recorded on the locked case, by whichever path (an offence, victims
    added with their crimes, a disclosure's offence): the case's first crime date, and a
    decision of "not recorded" that no longer holds becomes "recorded" (NCRS), its earlier
    reason kept on the timeline. The fields changed, for save_investigation."""
    fields: list[str] = []
    if inv.crime_recorded_at is None:
        inv.crime_recorded_at = at
        fields.append("crime_recorded_at")
    if inv.crime_decision == CrimeDecision.NOT_RECORDED:
        was = inv.crime_not_recorded_reason
        inv.crime_decision = CrimeDecision.RECORDED
        inv.crime_decision_at = at
        inv.crime_not_recorded_reason = ""
        fields += ["crime_decision", "crime_decision_at", "crime_not_recorded_reason"]
        record_on_case(
            inv,
            actor=actor,
            kind=TimelineKind.CRIME_DECISION,
            text=f"Now recorded as a crime (it was not recorded: {was})",
        )
    return fields


def save_investigation(investigation: Investigation, fields: Iterable[str]) -> None:
    fields = list(fields)
    investigation.version += 1
    investigation.updated_at = timezone.now()
    investigation.save(update_fields=[*fields, "version", "updated_at"])
    if "status" in fields:
        victims_open_case_refresh(investigation)


def victims_open_case_refresh(investigation: Investigation) -> None:
    """After a case's status changed: whether each of its victims is still in an open case
    (Victim.in_open_case, read by the safeguarding board). One UPDATE of the case's victims."""
    from victims.models import Involvement, Victim

    in_open = Involvement.objects.filter(victim=OuterRef("pk")).exclude(
        investigation__status=Status.CLOSED
    )
    Victim.objects.filter(involvements__investigation=investigation).update(
        in_open_case=Exists(in_open)
    )


def search_text_refresh(case_ids: Iterable[int]) -> None:
    """Rewrite these cases' search_text after their title or the names of their suspects or
    victims changed (querysets.case_search_texts); in the caller's transaction. The cases are
    locked first (in id order), so the names are read after any other change to a case has
    committed: a suspect added while a victim of the case is renamed is not lost."""
    from investigations.querysets import case_search_texts

    ids = list(
        Investigation.objects.filter(pk__in=set(case_ids))
        .order_by("pk")
        .select_for_update()
        .values_list("pk", flat=True)
    )
    texts = case_search_texts(ids)
    for pk, text in texts.items():
        Investigation.objects.filter(pk=pk).exclude(search_text=text).update(search_text=text)


def record_on_case(
    investigation: Investigation,
    *,
    actor: User,
    kind: TimelineKind,
    text: str,
    action: AuditAction = AuditAction.ALTERATION,
    obj: Any = None,
    detail: dict[str, Any] | None = None,
    justification: str = "",
    recipient: str = "",
    at: datetime | None = None,
) -> None:
    TimelineEvent.objects.create(
        investigation=investigation,
        actor=actor,
        kind=kind,
        text=text[:500],
        at=at or timezone.now(),
    )
    audit_record(
        actor=actor,
        action=action,
        obj=obj if obj is not None else investigation,
        investigation_reference=investigation.reference,
        detail=detail,
        justification=justification,
        recipient=recipient,
    )
    _after_commit(investigation.pk)


def _next_reference(force_code: str, year: int) -> str:
    counter, _ = ReferenceCounter.objects.get_or_create(force_code=force_code, year=year)
    counter = ReferenceCounter.objects.select_for_update().get(pk=counter.pk)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"{force_code}-{year}-{counter.last_number:06d}"


@transaction.atomic
def intake_submit(
    submission: uuid.UUID, *, actor: User, **report: Any
) -> tuple[Investigation, bool]:
    """Log the report sent with the intake form's token, once: (the report, True) when this
    submission logged it; (the report already logged, False) when the same form was sent
    before (or is being sent at this moment: the token's row is written first, so a second
    submission waits for the first to commit, then finds its report)."""
    if not (works_cases(actor) and actor.has_perm("investigations.add_investigation")):
        raise NotPermitted("Your role cannot log new reports.")
    try:
        with transaction.atomic():  # a savepoint: a duplicate token leaves the rest usable
            claim = IntakeSubmission.objects.create(token=submission, created_by=actor)
    except IntegrityError:
        earlier = IntakeSubmission.objects.select_related("investigation").get(token=submission)
        if earlier.created_by_id != actor.pk or earlier.investigation is None:
            raise DomainError(
                "This form has already been used. Open a new one to log a report."
            ) from None
        return earlier.investigation, False
    investigation = investigation_create(actor=actor, **report)
    claim.investigation = investigation
    claim.save(update_fields=["investigation"])
    return investigation, True


@transaction.atomic
def investigation_create(
    *,
    actor: User,
    title: str,
    summary: str,
    source: str,
    exploitation_types: Iterable[str],
    reported_at: datetime,
    location: str = "",
    unit: Unit | None = None,
) -> Investigation:
    """Log a new report for the actor's unit. The reference is FORCE-YYYY-NNNNNN, numbered
    without gaps per force and year under concurrent creation."""
    if not (works_cases(actor) and actor.has_perm("investigations.add_investigation")):
        raise NotPermitted("Your role cannot log new reports.")
    unit = unit or actor.unit
    if unit is None:
        raise NotPermitted("You need to belong to a unit to log a report.")
    if reported_at > timezone.now():
        raise DomainError("The date of the report must be today or in the past.")
    force = unit.force
    now = timezone.now()
    reference = _next_reference(force.code, timezone.localdate(now).year)
    investigation = Investigation.objects.create(
        reference=reference,
        force=force,
        unit=unit,
        title=title,
        summary=summary,
        source=source,
        location=location,
        reported_at=reported_at,
        exploitation_bits=exploitation_bits(exploitation_types),
        search_text=search_text([reference, title]),
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    InvestigationExploitation.objects.bulk_create(
        InvestigationExploitation(investigation=investigation, type=t)
        for t in sorted(set(exploitation_types))
    )
    record_on_case(
        investigation,
        actor=actor,
        kind=TimelineKind.CREATED,
        text=f"Source: {investigation.get_source_display()}",
        action=AuditAction.COLLECTION,
    )
    return investigation


@transaction.atomic
def investigation_update(
    investigation: Investigation,
    *,
    actor: User,
    expected_version: int,
    title: str,
    summary: str,
    source: str,
    location: str,
    exploitation_types: Iterable[str],
) -> Investigation:
    inv = lock_investigation(investigation, expected_version, open_only=True)
    if not access.may_change(actor, inv):
        raise NotPermitted("You cannot change this investigation.")
    changed = [
        name
        for name, value in (
            ("title", title),
            ("summary", summary),
            ("source", source),
            ("location", location),
        )
        if getattr(inv, name) != value
    ]
    inv.title, inv.summary, inv.source, inv.location = title, summary, source, location
    wanted = set(exploitation_types)
    current = set(inv.exploitation.values_list("type", flat=True))
    if wanted != current:
        changed.append("exploitation types")
        inv.exploitation.filter(type__in=current - wanted).delete()
        InvestigationExploitation.objects.bulk_create(
            InvestigationExploitation(investigation=inv, type=t) for t in sorted(wanted - current)
        )
    inv.exploitation_bits = exploitation_bits(wanted)
    save_investigation(inv, ["title", "summary", "source", "location", "exploitation_bits"])
    if "title" in changed:
        search_text_refresh([inv.pk])
    if changed:
        record_on_case(
            inv,
            actor=actor,
            kind=TimelineKind.UPDATED,
            text="Changed " + ", ".join(changed),
            detail={"fields": changed},
        )
    return inv


@transaction.atomic
def investigation_record_crime_decision(
    investigation: Investigation,
    *,
    actor: User,
    expected_version: int,
    decision: str,
    decided_at: datetime,
    crime_reference: str = "",
    offence_type: str = "",
    not_recorded_reason: str = "",
) -> Investigation:
    """The National Crime Recording Standard decision: record the crime (with its first
    offence) or record a written reason for not recording it."""
    inv = lock_investigation(investigation, expected_version)
    _check_transition(inv, "record_crime_decision")
    if not access.may_change(actor, inv):
        raise NotPermitted("You cannot record the crime decision for this investigation.")
    if decided_at < inv.reported_at:
        raise DomainError("The decision cannot be before the report was made.")
    if decided_at > timezone.now():
        raise DomainError("The date of the decision must be today or in the past.")
    inv.crime_decision = decision
    inv.crime_decision_at = decided_at
    inv.status = Status.RECORDED
    if decision == CrimeDecision.RECORDED:
        if not crime_reference or offence_type not in OffenceType.values:
            raise DomainError("A recorded crime needs a crime reference and an offence type.")
        crime_references_claim(inv.force_id, [crime_reference])
        inv.crime_recorded_at = decided_at
        offence = Offence.objects.create(
            investigation=inv,
            crime_reference=crime_reference,
            offence_type=offence_type,
            recorded_at=decided_at,
            recorded_by=actor,
        )
        text = f"Crime recorded: {offence}"
    else:
        if not not_recorded_reason.strip():
            raise DomainError("Give the reason the crime is not recorded.")
        inv.crime_not_recorded_reason = not_recorded_reason
        text = f"Not recorded as a crime: {not_recorded_reason}"
    save_investigation(
        inv,
        [
            "crime_decision",
            "crime_decision_at",
            "crime_recorded_at",
            "crime_not_recorded_reason",
            "status",
        ],
    )
    record_on_case(inv, actor=actor, kind=TimelineKind.CRIME_DECISION, text=text)
    return inv


@transaction.atomic
def investigation_allocate(
    investigation: Investigation,
    *,
    actor: User,
    expected_version: int,
    oic: User,
    supervisor: User,
) -> Investigation:
    inv = lock_investigation(investigation, expected_version)
    _check_transition(inv, "allocate")
    if not access.may_allocate(actor, inv):
        raise NotPermitted("Only a supervisor of the owning unit can allocate this case.")
    if oic.unit_id != inv.unit_id or not oic.is_active:
        raise DomainError("The officer in charge must be an active member of the owning unit.")
    if (
        supervisor.unit_id != inv.unit_id
        or not supervisor.is_active
        or not supervisor.has_role(SUPERVISOR)
    ):
        raise DomainError("The supervisor must be an active supervisor of the owning unit.")
    first = inv.status == Status.RECORDED
    inv.oic, inv.supervisor = oic, supervisor
    if first:
        inv.status = Status.UNDER_INVESTIGATION if inv.started_at else Status.ALLOCATED
    if inv.allocated_at is None:  # supervision_overdue counts from the first allocation
        inv.allocated_at = timezone.now()
    save_investigation(inv, ["oic", "supervisor", "status", "allocated_at"])
    verb = "Allocated" if first else "Re-allocated"
    record_on_case(
        inv,
        actor=actor,
        kind=TimelineKind.ALLOCATED,
        text=f"{verb} to {oic.display_name} (officer in charge), supervised by "
        f"{supervisor.display_name}",
    )
    return inv


@transaction.atomic
def offence_record(
    investigation: Investigation,
    *,
    actor: User,
    crime_reference: str,
    offence_type: str,
    recorded_at: datetime,
    notes: str = "",
    **extra: Any,
) -> Offence:
    inv = lock_investigation(investigation, None, open_only=True)
    if not access.may_add_case_records(actor, inv):
        raise NotPermitted("You cannot record offences on this investigation.")
    if inv.status == Status.REPORTED:
        raise TransitionNotAllowed("Record the crime recording decision first.")
    if recorded_at < inv.reported_at:
        raise DomainError("The offence cannot be recorded before the report was made.")
    if recorded_at > timezone.now():
        raise DomainError("The date the offence was recorded must be today or in the past.")
    victim = extra.get("victim")
    if victim is not None and not inv.involvements.filter(victim=victim).exists():
        raise DomainError("The offence can only be recorded for a victim of this investigation.")
    crime_references_claim(inv.force_id, [crime_reference])
    offence = Offence.objects.create(
        investigation=inv,
        crime_reference=crime_reference,
        offence_type=offence_type,
        recorded_at=recorded_at,
        notes=notes,
        recorded_by=actor,
        **extra,
    )
    save_investigation(inv, crime_recorded_on_case(inv, actor=actor, at=recorded_at))
    record_on_case(
        inv,
        actor=actor,
        kind=TimelineKind.OFFENCE,
        text=f"Offence recorded: {offence}",
        obj=offence,
        action=AuditAction.COLLECTION,
    )
    return offence


@transaction.atomic
def offence_outcome_record(
    offence: Offence, *, actor: User, outcome: str, expected_version: int
) -> Offence:
    """Record what became of a recorded offence (charged, caution, no further action, then
    convicted or acquitted): the prosecutions a force's figures count. Also on a closed case
    (access.may_record_offence_outcome)."""
    inv = lock_investigation(offence.investigation, expected_version)
    if not access.may_record_offence_outcome(actor, inv):
        raise NotPermitted("You cannot record offence outcomes on this investigation.")
    if outcome not in OffenceOutcome.values:
        raise DomainError("Select the outcome of the offence.")
    locked = Offence.objects.select_for_update().get(pk=offence.pk, investigation=inv)
    if locked.outcome == outcome:
        raise DomainError(f"The outcome is already: {locked.get_outcome_display().lower()}.")
    before = locked.get_outcome_display().lower()
    locked.outcome = outcome
    locked.save(update_fields=["outcome"])
    save_investigation(inv, [])
    record_on_case(
        inv,
        actor=actor,
        kind=TimelineKind.OFFENCE,
        text=f"Outcome of {locked}: {locked.get_outcome_display().lower()} (was {before})",
        obj=locked,
        action=AuditAction.ALTERATION,
    )
    return locked


@transaction.atomic
def enquiry_add(
    investigation: Investigation,
    *,
    actor: User,
    description: str,
    substantive: bool,
    owner: User,
    due_date: date | None = None,
) -> Enquiry:
    inv = lock_investigation(investigation, None, open_only=True)
    if not access.may_add_case_records(actor, inv):
        raise NotPermitted("You cannot add enquiries to this investigation.")
    enquiry = Enquiry.objects.create(
        investigation=inv,
        description=description,
        substantive=substantive,
        owner=owner,
        due_date=due_date,
        created_by=actor,
    )
    save_investigation(inv, [])
    record_on_case(
        inv,
        actor=actor,
        kind=TimelineKind.ENQUIRY,
        text=f"Enquiry added: {description}" + ("" if substantive else " (not substantive)"),
        obj=enquiry,
        action=AuditAction.COLLECTION,
    )
    return enquiry


@transaction.atomic
def enquiry_complete(
    enquiry: Enquiry, *, actor: User, completed_at: datetime, result: str
) -> Enquiry:
    """Complete an enquiry. The first completed substantive enquiry starts the investigation."""
    inv = lock_investigation(enquiry.investigation, None, open_only=True)
    enquiry = Enquiry.objects.select_for_update().get(pk=enquiry.pk)
    if not access.may_add_case_records(actor, inv):
        raise NotPermitted("You cannot complete enquiries on this investigation.")
    if enquiry.completed_at is not None:
        raise DomainError("This enquiry is already complete.")
    if completed_at < inv.reported_at:
        raise DomainError("The enquiry cannot be completed before the report was made.")
    if completed_at > timezone.now():
        raise DomainError("The date completed must be today or in the past.")
    enquiry.completed_at = completed_at
    enquiry.result = result
    enquiry.save(update_fields=["completed_at", "result"])
    fields: list[str] = []
    if enquiry.substantive and (inv.started_at is None or completed_at < inv.started_at):
        inv.started_at = completed_at
        fields.append("started_at")
    if enquiry.substantive and inv.status == Status.ALLOCATED:
        inv.status = TRANSITIONS["start"][1]  # type: ignore[assignment]
        fields.append("status")
    save_investigation(inv, fields)
    record_on_case(
        inv,
        actor=actor,
        kind=TimelineKind.ENQUIRY,
        text=f"Enquiry completed: {enquiry.description}",
        obj=enquiry,
    )
    if "status" in fields:
        record_on_case(
            inv,
            actor=actor,
            kind=TimelineKind.STARTED,
            text="First substantive enquiry completed",
        )
    return enquiry


@transaction.atomic
def suspect_add(investigation: Investigation, *, actor: User, **fields: Any) -> Suspect:
    inv = lock_investigation(investigation, None, open_only=True)
    if not access.may_add_case_records(actor, inv):
        raise NotPermitted("You cannot add suspects to this investigation.")
    suspect = Suspect.objects.create(investigation=inv, created_by=actor, **fields)
    save_investigation(inv, [])
    search_text_refresh([inv.pk])
    record_on_case(
        inv,
        actor=actor,
        kind=TimelineKind.SUSPECT,
        text=f"Suspect added: {suspect.name} ({suspect.get_role_display()})",
        obj=suspect,
        action=AuditAction.COLLECTION,
    )
    return suspect


@transaction.atomic
def suspect_update(
    suspect: Suspect, *, actor: User, expected_version: int, **fields: Any
) -> Suspect:
    inv = lock_investigation(suspect.investigation, expected_version, open_only=True)
    if not access.may_add_case_records(actor, inv):
        raise NotPermitted("You cannot change suspects on this investigation.")
    suspect = Suspect.objects.select_for_update().get(pk=suspect.pk)
    changed = [name for name, value in fields.items() if getattr(suspect, name) != value]
    for name, value in fields.items():
        setattr(suspect, name, value)
    if suspect.charged_at and suspect.arrested_at and suspect.charged_at < suspect.arrested_at:
        raise DomainError("The charge cannot be before the arrest.")
    suspect.save(update_fields=list(fields))
    save_investigation(inv, [])
    if {"name", "aliases"} & set(changed):
        search_text_refresh([inv.pk])
    if changed:
        labels = ", ".join(Suspect._meta.get_field(n).verbose_name for n in changed)
        record_on_case(
            inv,
            actor=actor,
            kind=TimelineKind.SUSPECT,
            text=f"Suspect {suspect.name} updated: {labels}",
            obj=suspect,
        )
    return suspect


@transaction.atomic
def supervisory_review_add(
    investigation: Investigation,
    *,
    actor: User,
    direction: str,
    next_review_due: date | None,
) -> SupervisoryReview:
    inv = lock_investigation(investigation, None, open_only=True)
    if not access.may_review(actor, inv):
        raise NotPermitted("Only a supervisor of the owning unit can review this case.")
    review = SupervisoryReview.objects.create(
        investigation=inv,
        reviewer=actor,
        direction=direction,
        next_review_due=next_review_due,
    )
    save_investigation(inv, [])
    record_on_case(
        inv,
        actor=actor,
        kind=TimelineKind.REVIEW,
        text=f"Supervisory review: {direction}",
        obj=review,
    )
    return review


@transaction.atomic
def closure_request(
    investigation: Investigation,
    *,
    actor: User,
    expected_version: int,
    proposed_outcome: str,
    proposed_nfa_reason: str,
    rationale: str,
) -> ClosureReview:
    inv = lock_investigation(investigation, expected_version)
    _check_transition(inv, "request_closure")
    if not access.may_request_closure(actor, inv):
        raise NotPermitted("You cannot request closure of this investigation.")
    if proposed_outcome == Outcome.NFA and proposed_nfa_reason not in NfaReason.values:
        raise DomainError("Select the reason for no further action.")
    if proposed_outcome != Outcome.NFA:
        proposed_nfa_reason = ""
    review = ClosureReview.objects.create(
        investigation=inv,
        requested_by=actor,
        status_before=inv.status,
        proposed_outcome=proposed_outcome,
        proposed_nfa_reason=proposed_nfa_reason,
        request_rationale=rationale,
    )
    inv.status = Status.CLOSURE_REQUESTED
    inv.closure_requested_at = review.requested_at
    save_investigation(inv, ["status", "closure_requested_at"])
    record_on_case(
        inv,
        actor=actor,
        kind=TimelineKind.CLOSURE_REQUESTED,
        text=f"Closure requested ({review.get_proposed_outcome_display()}): {rationale}",
        obj=review,
    )
    return review


def _pending_review(inv: Investigation) -> ClosureReview:
    review = (
        ClosureReview.objects.select_for_update()
        .filter(investigation=inv, decision=ClosureDecision.PENDING)
        .first()
    )
    if review is None:
        raise TransitionNotAllowed("There is no closure request awaiting review.")
    return review


def _check_reviewer(actor: User, inv: Investigation, review: ClosureReview) -> None:
    if not access.may_review_closure(actor, inv):
        raise NotPermitted("Only a supervisor of the owning unit can review a closure.")
    if review.requested_by_id == actor.pk:
        raise NotPermitted("You requested this closure: another supervisor must review it.")


@transaction.atomic
def closure_approve(
    investigation: Investigation, *, actor: User, expected_version: int, rationale: str
) -> Investigation:
    inv = lock_investigation(investigation, expected_version)
    _check_transition(inv, "approve_closure")
    review = _pending_review(inv)
    _check_reviewer(actor, inv, review)
    if not rationale.strip():
        raise DomainError("Give the rationale for your decision.")
    now = timezone.now()
    review.decision = ClosureDecision.APPROVED
    review.reviewer = actor
    review.decided_at = now
    review.decision_rationale = rationale
    review.save(update_fields=["decision", "reviewer", "decided_at", "decision_rationale"])
    inv.status = Status.CLOSED
    inv.closed_at = now
    inv.outcome = review.proposed_outcome
    inv.nfa_reason = review.proposed_nfa_reason
    inv.outcome_rationale = rationale
    inv.review_due_on = retention.first_review_on(inv, timezone.localdate(now))
    fields = ["status", "closed_at", "outcome", "nfa_reason", "outcome_rationale"]
    save_investigation(inv, [*fields, "review_due_on"])
    record_on_case(
        inv,
        actor=actor,
        kind=TimelineKind.CLOSURE_APPROVED,
        text=f"Closure approved ({inv.get_outcome_display()}): {rationale}",
        obj=review,
    )
    return inv


@transaction.atomic
def closure_reject(
    investigation: Investigation, *, actor: User, expected_version: int, rationale: str
) -> Investigation:
    inv = lock_investigation(investigation, expected_version)
    _check_transition(inv, "reject_closure")
    review = _pending_review(inv)
    _check_reviewer(actor, inv, review)
    if not rationale.strip():
        raise DomainError("Give the rationale for your decision.")
    review.decision = ClosureDecision.REJECTED
    review.reviewer = actor
    review.decided_at = timezone.now()
    review.decision_rationale = rationale
    review.save(update_fields=["decision", "reviewer", "decided_at", "decision_rationale"])
    allocated = review.status_before != Status.RECORDED and inv.oic_id is not None
    inv.status = (
        Status.UNDER_INVESTIGATION
        if inv.started_at is not None and allocated
        else review.status_before
    )
    inv.closure_requested_at = None
    save_investigation(inv, ["status", "closure_requested_at"])
    record_on_case(
        inv,
        actor=actor,
        kind=TimelineKind.CLOSURE_REJECTED,
        text=f"Closure rejected: {rationale}",
        obj=review,
    )
    return inv


@transaction.atomic
def investigation_reopen(
    investigation: Investigation, *, actor: User, expected_version: int, reason: str
) -> Investigation:
    inv = lock_investigation(investigation, expected_version)
    _check_transition(inv, "reopen")
    if not access.may_reopen(actor, inv):
        raise NotPermitted("Only a supervisor of the owning unit can reopen this case.")
    if not reason.strip():
        raise DomainError("Give the reason for reopening the investigation.")
    # Back to where the work stands: a case closed before anyone was allocated waits for an
    # officer in charge again (and the flags that watch allocation see it).
    if inv.oic_id is None:
        inv.status = Status.RECORDED
    else:
        inv.status = Status.UNDER_INVESTIGATION if inv.started_at else Status.ALLOCATED
    inv.closed_at = None
    inv.closure_requested_at = None
    inv.outcome = ""
    inv.nfa_reason = ""
    inv.outcome_rationale = ""
    inv.review_due_on = None  # an open case is not reviewed for retention
    fields = ["status", "closed_at", "closure_requested_at", "outcome", "nfa_reason"]
    save_investigation(inv, [*fields, "outcome_rationale", "review_due_on"])
    record_on_case(inv, actor=actor, kind=TimelineKind.REOPENED, text=f"Reopened: {reason}")
    return inv


def _view_permission() -> Permission:
    return Permission.objects.get(
        content_type__app_label="investigations", codename="view_investigation"
    )


def force_sees_case(force: Force, investigation: Investigation) -> bool:
    """Whether the whole force already has read access (its own case, or shared with it)."""
    if investigation.force_id == force.pk:
        return True
    group = force.group
    return (
        group is not None
        and InvestigationGroupObjectPermission.objects.filter(
            group=group, content_object=investigation, permission__codename="view_investigation"
        ).exists()
    )


def share_with_group(
    investigation: Investigation, *, actor: User, target: Force | Unit, reason: str
) -> None:
    """Grant read access to a force's or unit's group and record it (no permission check:
    callers check who may share, see investigation_share and relocation_record)."""
    InvestigationGroupObjectPermission.objects.get_or_create(
        group=sharing_group(target), permission=_view_permission(), content_object=investigation
    )
    _record_share(investigation, actor=actor, recipient=str(target), reason=reason)


def _record_share(
    investigation: Investigation, *, actor: User, recipient: str, reason: str
) -> None:
    """A share is a grant (timeline + audit) and a disclosure to its recipient (audit)."""
    save_investigation(investigation, [])
    record_on_case(
        investigation,
        actor=actor,
        kind=TimelineKind.SHARED,
        text=f"Shared with {recipient}: {reason}",
        action=AuditAction.GRANT,
        justification=reason,
        recipient=recipient,
    )
    audit_record(
        actor=actor,
        action=AuditAction.DISCLOSURE,
        obj=investigation,
        justification=reason,
        recipient=recipient,
    )


@transaction.atomic
def investigation_share(
    investigation: Investigation,
    *,
    actor: User,
    reason: str,
    unit: Unit | None = None,
    force: Force | None = None,
    user: User | None = None,
) -> None:
    """Share read access with another unit, force or user (django-guardian), with a reason.
    Audited as a disclosure and a grant. Sharing again with the same recipient is refused:
    it would record a second disclosure of nothing new."""
    from investigations.querysets import shared_group_ids

    inv = lock_investigation(investigation, None)
    if not access.may_share(actor, inv):
        raise NotPermitted("You cannot share this investigation.")
    if not reason.strip():
        raise DomainError("Give the reason for sharing.")
    if user is not None:
        _, granted = InvestigationUserObjectPermission.objects.get_or_create(
            user=user, permission=_view_permission(), content_object=inv
        )
        if not granted:
            raise DomainError(f"This investigation is already shared with {user.display_name}.")
        recipient = f"{user.display_name} ({user.username})"
        _record_share(inv, actor=actor, recipient=recipient, reason=reason)
        return
    target = unit if unit is not None else force
    if target is None:
        raise DomainError("Choose who to share the investigation with.")
    if sharing_group(target).pk in shared_group_ids(inv):
        raise DomainError(f"This investigation is already shared with {target}.")
    share_with_group(inv, actor=actor, target=target, reason=reason)


@transaction.atomic
def investigation_consulted(investigation: Investigation, *, actor: User, what: str = "") -> None:
    """Record that the actor viewed the case (DPA 2018 s62 consultation)."""
    audit_record(
        actor=actor,
        action=AuditAction.CONSULTATION,
        obj=investigation,
        detail={"page": what} if what else None,
    )


# --- MoPI retention review (docs/decisions/0004-retention.md) ---------------------------------


@transaction.atomic
def retention_review(
    investigation: Investigation,
    *,
    actor: User,
    expected_version: int,
    decision: str,
    reason: str,
    next_review_on: date | None = None,
) -> RetentionReview:
    """Retain a closed record until its next review, or dispose of it. A disposal erases the
    case and every record that hangs off it (and its victims' records where they appear in no
    other case) and keeps the review row naming what was erased, with an ERASURE audit row."""
    inv = lock_investigation(investigation, expected_version)
    if not access.may_review_retention(actor, inv):
        raise NotPermitted("Only an administrator of the owning force can review retention.")
    if inv.status != Status.CLOSED or inv.review_due_on is None:
        raise TransitionNotAllowed("Only a closed investigation is reviewed for retention.")
    today = timezone.localdate()
    if inv.review_due_on > today:
        raise DomainError(f"This record is not due for review until {inv.review_due_on:%-d %B %Y}.")
    if not reason.strip():
        raise DomainError("Give the reason for your decision.")
    group = retention.retention_group(inv)
    recorded = {
        "reference": inv.reference,
        "force_id": inv.force_id,
        "reviewed_by": actor,
        "retention_group": group,
        "decision": decision,
        "reason": reason,
    }
    if decision == RetentionDecision.RETAIN:
        latest = retention.add_years(today, retention.MAX_RETAIN_YEARS)
        if next_review_on is None:
            raise DomainError("Give the date of the next review.")
        if not today < next_review_on <= latest:
            raise DomainError(
                "The next review must be after today and no later than "
                f"{latest:%-d %B %Y} ({retention.MAX_RETAIN_YEARS} years)."
            )
        review = RetentionReview.objects.create(
            investigation=inv, next_review_on=next_review_on, **recorded
        )
        inv.review_due_on = next_review_on
        save_investigation(inv, ["review_due_on"])
        record_on_case(
            inv,
            actor=actor,
            kind=TimelineKind.RETENTION,
            text=f"Retained until a review on {next_review_on:%-d %B %Y}: {reason}",
            obj=review,
            justification=reason,
            detail={
                "decision": decision,
                "group": int(group),
                "next_review_on": str(next_review_on),
            },
        )
        return review
    if decision != RetentionDecision.DISPOSE:
        raise DomainError("Choose retain or dispose.")
    erased = _erase_case(inv)
    review = RetentionReview.objects.create(investigation=None, erased=erased, **recorded)
    audit_record(
        actor=actor,
        action=AuditAction.ERASURE,
        obj=review,
        investigation_reference=review.reference,
        justification=reason,
        detail={"decision": decision, "group": int(group), "erased": erased},
    )
    return review


def _erase_case(inv: Investigation) -> dict[str, int]:
    """Delete the case and everything that hangs off it, children before parents (the foreign
    keys PROTECT, so a row this list forgets stops the disposal instead of being orphaned).
    Victims go too when they appear in no other case. Returns {model label: rows erased}."""
    from django.db.models import Exists, OuterRef, ProtectedError, Q, RestrictedError

    from referrals.models import AgencyReferral, DutyToNotify, NrmReferral
    from safeguarding.models import Contact, MissingEpisode, Relocation, SafeguardingPlan
    from slaverycases.flags.models import Flag
    from victims.models import CustodyEvent, Disclosure, Involvement, Victim

    elsewhere = Involvement.objects.filter(victim=OuterRef("pk")).exclude(investigation=inv)
    victim_ids = list(
        Victim.objects.filter(involvements__investigation=inv)
        .exclude(Exists(elsewhere))
        .values_list("pk", flat=True)
        .distinct()
    )
    case = Q(investigation=inv)
    person = Q(victim_id__in=victim_ids)
    steps: list[tuple[type, Q]] = [
        (Flag, case | person),
        (Disclosure, Q(involvement__investigation=inv) | Q(involvement__victim_id__in=victim_ids)),
        (NrmReferral, case | person),
        (DutyToNotify, case | person),
        (AgencyReferral, case | person),
        (CustodyEvent, case | person),
        (Offence, case),
        (Involvement, case | person),
        (SafeguardingPlan, person),
        (Contact, person),
        (Relocation, person),
        (MissingEpisode, person),
        (Victim, Q(pk__in=victim_ids)),
        (Enquiry, case),
        (Suspect, case),
        (SupervisoryReview, case),
        (ClosureReview, case),
        (TimelineEvent, case),
        (InvestigationExploitation, case),
        (IntakeSubmission, case),
        (InvestigationUserObjectPermission, Q(content_object=inv)),
        (InvestigationGroupObjectPermission, Q(content_object=inv)),
    ]
    steps.append((Investigation, Q(pk=inv.pk)))
    erased: dict[str, int] = {}
    for model, condition in steps:
        try:
            _, by_model = model.objects.filter(condition).delete()
        except (ProtectedError, RestrictedError) as exc:
            kinds = sorted({str(o._meta.verbose_name_plural) for o in exc.args[1]})
            raise DomainError(
                "This record cannot be disposed of: records of other cases refer to it "
                f"({', '.join(kinds)}). Nothing has been erased."
            ) from exc
        for label, n in by_model.items():
            if n:
                erased[label] = erased.get(label, 0) + n
    return erased


def retention_notify_due(on: date) -> dict[str, int]:
    """Tell each force's administrators, once a day, how many closed records are due for MoPI
    review. Safe to run twice: a RetentionNotice row per force per day records the sending.
    Returns {force code: records due} for the notices sent by this run."""
    from django.core.mail import send_mail

    from slaverycases.accounts.models import Force, User
    from slaverycases.accounts.roles import FORCE_ADMIN

    sent: dict[str, int] = {}
    due = retention.forces_with_records_due(on)
    for force in Force.objects.filter(pk__in=due).order_by("code"):
        admins = list(
            User.objects.filter(force=force, is_active=True, groups__name=FORCE_ADMIN)
            .exclude(email="")
            .values_list("email", flat=True)
            .distinct()
        )
        try:
            with transaction.atomic():
                notice = RetentionNotice.objects.create(
                    force=force, on=on, due=due[force.pk], sent_to=len(admins)
                )
        except IntegrityError:
            continue  # already told today
        if admins:
            send_mail(
                subject=f"[OFFICIAL-SENSITIVE] {notice.due} records due for MoPI review",
                message=(
                    f"{notice.due} closed records of {force.name} are due for retention review "
                    "(retain with a reason, or dispose).\n\n"
                    "Sign in to slaverycases and open Retention to review them.\n"
                ),
                from_email=None,
                recipient_list=admins,
                fail_silently=True,
            )
        sent[force.code] = notice.due
    return sent
