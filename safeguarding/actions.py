"""Every write to safeguarding records. Each writes an audit row and a timeline event on the
victim's cases, in one transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from investigations.actions import force_sees_case, record_on_case, share_with_group
from investigations.models import Investigation, TimelineKind
from safeguarding import access
from safeguarding.models import (
    Contact,
    DestinationType,
    MissingEpisode,
    Relocation,
    SafeguardingPlan,
    awaits_contact,
)
from slaverycases.audit.actions import audit_record
from slaverycases.audit.models import AuditAction
from slaverycases.core.errors import DomainError, NotPermitted, StaleEdit
from victims.models import Victim, VictimStatus

if TYPE_CHECKING:
    from slaverycases.accounts.models import Force, User


def _victim_cases(victim: Victim, actor: User) -> list[Investigation]:
    return list(
        Investigation.objects.visible_to(actor).filter(involvements__victim=victim).distinct()
    )


def _on_cases(
    victim: Victim,
    actor: User,
    text: str,
    kind: TimelineKind,
    obj: Any,
    action: AuditAction = AuditAction.ALTERATION,
) -> None:
    cases = _victim_cases(victim, actor)
    if not cases:
        audit_record(actor=actor, action=action, obj=obj)
    for case in cases:
        record_on_case(case, actor=actor, kind=kind, text=text, obj=obj, action=action)


def _check_victim(actor: User, victim: Victim) -> None:
    """Safeguarding records are kept only by people who may see the victim."""
    if not Victim.objects.visible_to(actor).filter(pk=victim.pk).exists():
        raise NotPermitted("You cannot see this victim's record.")


@transaction.atomic
def plan_save(
    victim: Victim,
    *,
    actor: User,
    expected_version: int | None,
    lead: User,
    risk_level: str,
    risks: Iterable[str],
    measures: Iterable[str],
    contact_every_days: int,
    review_date: date,
) -> SafeguardingPlan:
    if not access.may_plan(actor):
        raise NotPermitted("Only a safeguarding lead can set a safeguarding plan.")
    _check_victim(actor, victim)
    if review_date <= timezone.localdate():
        raise DomainError("Review date must be in the future.")
    victim = Victim.objects.select_for_update().get(pk=victim.pk)
    plan = SafeguardingPlan.objects.filter(victim=victim).first()
    if plan is not None and plan.version != expected_version:
        raise StaleEdit()
    if plan is None:
        plan = SafeguardingPlan(victim=victim, version=0, created_at=timezone.now())
    plan.lead = lead
    plan.risk_level = risk_level
    plan.risks = sorted(set(risks))
    plan.measures = sorted(set(measures))
    plan.contact_every_days = contact_every_days
    plan.review_date = review_date
    plan.updated_at = timezone.now()
    plan.version += 1
    plan.save()
    _on_cases(
        victim,
        actor,
        f"Safeguarding plan for {victim.name}: {plan.get_risk_level_display().lower()} risk, "
        f"contact every {contact_every_days} days",
        TimelineKind.CONTACT,
        plan,
        AuditAction.COLLECTION,
    )
    return plan


def _lock_victim(victim: Victim) -> None:
    Victim.objects.select_for_update().filter(pk=victim.pk).values_list("pk").get()


def contact_state_refresh(victim: Victim) -> None:
    """Copy the victim's latest contact (its next contact due) and latest contact made onto the
    victim row, for the board, and mark their relocations recorded before that contact as no
    longer awaiting contact. The row is locked first, so two contacts recorded at once leave
    the state of both; a contact recorded late (an earlier `at`) changes nothing it should not."""
    _lock_victim(victim)
    contacts = Contact.objects.filter(victim=victim).order_by("-at", "-id")
    latest = contacts.values_list("next_contact_due", flat=True).first()
    last_made = contacts.filter(made=True).values_list("at", flat=True).first()
    Victim.objects.filter(pk=victim.pk).update(next_contact_due=latest, last_contact_at=last_made)
    victim.next_contact_due, victim.last_contact_at = latest, last_made
    if last_made is not None:
        Relocation.objects.filter(
            victim=victim, awaiting_contact=True, recorded_at__lt=last_made
        ).update(awaiting_contact=False)


@transaction.atomic
def contact_record(
    victim: Victim,
    *,
    actor: User,
    at: datetime,
    method: str,
    made: bool,
    interpreter_used: bool,
    notes: str,
    next_contact_due: date,
) -> Contact:
    if not access.may_record_contact(actor):
        raise NotPermitted("Your role cannot record contact with victims.")
    _check_victim(actor, victim)
    if at > timezone.now():
        raise DomainError("Date of contact must be today or in the past.")
    if next_contact_due < timezone.localtime(at).date():
        raise DomainError("Next contact due must be on or after the date of this contact.")
    # Locked before the last contact is read: two contacts recorded at once are checked and
    # copied onto the victim row one after the other.
    _lock_victim(victim)
    last = Contact.objects.filter(victim=victim).order_by("-at").first()
    if last is not None and next_contact_due < timezone.localtime(last.at).date():
        raise DomainError("Next contact due cannot be before the last contact.")
    try:
        with transaction.atomic():
            contact = Contact.objects.create(
                victim=victim,
                at=at,
                method=method,
                made=made,
                by=actor,
                interpreter_used=interpreter_used,
                notes=notes,
                next_contact_due=next_contact_due,
            )
    except IntegrityError:
        raise DomainError("This contact has already been recorded.") from None
    contact_state_refresh(victim)
    verb = "Contact made with" if made else "Attempted contact with"
    _on_cases(
        victim,
        actor,
        f"{verb} {victim.name} ({contact.get_method_display().lower()}); next contact due "
        f"{next_contact_due:%-d %b %Y}",
        TimelineKind.CONTACT,
        contact,
        AuditAction.COLLECTION,
    )
    return contact


@transaction.atomic
def relocation_record(
    victim: Victim,
    *,
    actor: User,
    relocated_on: date,
    destination_type: str,
    to_force: Force,
    safe_house_location: str,
    receiving_contact: str,
    first_contact_within_days: int,
) -> Relocation:
    """Record a move to another force area or safe house. The receiving force gets access to
    the victim's investigations (a django-guardian share, audited as a disclosure)."""
    if not access.may_relocate(actor):
        raise NotPermitted("Only a safeguarding lead can record a relocation.")
    _check_victim(actor, victim)
    if relocated_on > timezone.localdate():
        raise DomainError("Date of the move must be today or in the past.")
    # A share writes the case (its version), so the cases are locked first, in the order every
    # case action takes its lock (case, then victim): an edit saved meanwhile is not undone.
    cases = list(
        Investigation.objects.select_for_update()
        .filter(pk__in=[case.pk for case in _victim_cases(victim, actor)])
        .order_by("pk")
    )
    victim = Victim.objects.select_for_update().get(pk=victim.pk)
    _check_move(victim, relocated_on, destination_type, to_force, safe_house_location)
    if destination_type != DestinationType.SAFE_HOUSE:
        safe_house_location = ""  # typed before another choice was made: not a safe house
    recorded_at = timezone.now()
    relocation = Relocation.objects.create(
        victim=victim,
        relocated_on=relocated_on,
        destination_type=destination_type,
        to_force=to_force,
        safe_house_location=safe_house_location,
        receiving_contact=receiving_contact,
        first_contact_within_days=first_contact_within_days,
        recorded_by=actor,
        recorded_at=recorded_at,
        # The victim row is locked: no contact is recorded meanwhile. (A contact's time is
        # never after the moment it was recorded; a server's clock behind another's could
        # make it so.)
        awaiting_contact=awaits_contact(victim.last_contact_at, recorded_at),
    )
    victim.current_force = to_force
    victim.version += 1
    victim.save(update_fields=["current_force", "version"])
    for case in cases:
        if case.force_id != to_force.pk and not force_sees_case(to_force, case):
            share_with_group(
                case,
                actor=actor,
                target=to_force,
                reason=f"{victim.name} relocated to {to_force.name}; contact owner "
                f"{receiving_contact}",
            )
        record_on_case(
            case,
            actor=actor,
            kind=TimelineKind.CONTACT,
            text=f"{victim.name} relocated to {to_force.name} on {relocated_on:%-d %b %Y}; "
            f"first contact due within {first_contact_within_days} days",
            obj=relocation,
            action=AuditAction.COLLECTION,
        )
    if not cases:
        audit_record(actor=actor, action=AuditAction.COLLECTION, obj=relocation)
    return relocation


def _check_move(
    victim: Victim,
    relocated_on: date,
    destination_type: str,
    to_force: Force,
    safe_house_location: str,
) -> None:
    """Moves are recorded in the order they happened: the latest decides where the victim is
    now (and which force is given access), so an earlier date than the last move is refused."""
    last = victim.relocations.order_by("-relocated_on", "-id").first()
    if last is not None and relocated_on < last.relocated_on:
        raise DomainError(
            f"Date of the move cannot be before their last recorded move "
            f"({last.relocated_on:%-d %b %Y})."
        )
    if destination_type == DestinationType.SAFE_HOUSE and not safe_house_location.strip():
        raise DomainError("Enter the safe house location (town or area)")
    if destination_type == DestinationType.FORCE_AREA and to_force.pk == victim.current_force_id:
        raise DomainError(
            f"{victim.name} is already in the {to_force.name} area: choose the force they moved "
            "to, or record a move to a safe house."
        )


@transaction.atomic
def missing_episode_open(
    victim: Victim, *, actor: User, reported_missing_at: datetime, risk_level: str, notes: str
) -> MissingEpisode:
    if not actor.has_perm("safeguarding.add_missingepisode"):
        raise NotPermitted("Your role cannot record missing episodes.")
    _check_victim(actor, victim)
    if reported_missing_at > timezone.now():
        raise DomainError("Date reported missing must be today or in the past.")
    victim = Victim.objects.select_for_update().get(pk=victim.pk)
    if MissingEpisode.objects.filter(victim=victim, found_at__isnull=True).exists():
        raise DomainError(f"{victim.name} is already recorded as missing.")
    episode = MissingEpisode.objects.create(
        victim=victim,
        status_before=victim.status,
        reported_missing_at=reported_missing_at,
        risk_level=risk_level,
        notes=notes,
        recorded_by=actor,
    )
    victim.status = VictimStatus.MISSING
    victim.version += 1
    victim.save(update_fields=["status", "version"])
    _on_cases(
        victim,
        actor,
        f"{victim.name} reported missing",
        TimelineKind.CONTACT,
        episode,
        AuditAction.COLLECTION,
    )
    return episode


@transaction.atomic
def missing_episode_found(episode: MissingEpisode, *, actor: User, found_at: datetime) -> None:
    if not actor.has_perm("safeguarding.change_missingepisode"):
        raise NotPermitted("Your role cannot change missing episodes.")
    episode = MissingEpisode.objects.select_for_update().get(pk=episode.pk)
    _check_victim(actor, episode.victim)
    if episode.found_at is not None:
        raise DomainError("This person has already been recorded as found.")
    if found_at < episode.reported_missing_at:
        raise DomainError("Date found cannot be before they were reported missing.")
    if found_at > timezone.now():
        raise DomainError("Date found must be today or in the past.")
    episode.found_at = found_at
    episode.save(update_fields=["found_at"])
    victim = Victim.objects.select_for_update().get(pk=episode.victim_id)
    text = f"{victim.name} found"
    if victim.status == VictimStatus.MISSING:
        victim.status = episode.status_before or VictimStatus.POTENTIAL
    else:
        # The status was changed while they were missing: that later decision stands.
        text += f"; status stays {victim.get_status_display().lower()}"
    victim.version += 1
    victim.save(update_fields=["status", "version"])
    _on_cases(victim, actor, text, TimelineKind.CONTACT, episode)


def default_next_contact(plan: SafeguardingPlan | None) -> date:
    days = plan.contact_every_days if plan else 7
    return timezone.localdate() + timedelta(days=days)
