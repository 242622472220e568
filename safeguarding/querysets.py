"""Reads for safeguarding: the safeguarding lead's board."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet

if TYPE_CHECKING:
    from slaverycases.accounts.models import User


def board_victims(user: User) -> QuerySet[Any]:
    """The victims the force is safeguarding, that the user may see: those in an open case of
    the force, and those now living in the force area who are in an open case elsewhere; with
    their next contact due, last contact and risk level, overdue first.

    A victim whose every case is closed leaves the board (as the victim_contact_overdue flag
    rule leaves them): after ten years a force holds hundreds of thousands of victims of closed
    cases, and listing them would bury the few hundred whose contact is due. One query, which
    walks the partial index of victims in open cases (victim_board) in board order and keeps
    those the user may see (PostgreSQL hashes the victims of the visible open cases first): the
    next contact due and last contact are the victim's own columns (kept by the contact
    action), so no subquery runs per victim and no victim outside the page is sorted."""
    from investigations.models import OPEN_STATUSES, Investigation
    from safeguarding.models import MissingEpisode
    from victims.models import Involvement, Victim

    if user.force_id is None:
        return Victim.objects.none()
    open_cases = Investigation.objects.visible_to(user).filter(status__in=OPEN_STATUSES)
    in_open_case = Involvement.objects.filter(
        victim=OuterRef("pk"), investigation__in=open_cases.order_by().values("pk")
    )
    return (
        Victim.objects.filter(in_open_case=True)
        .filter(
            Exists(in_open_case.filter(investigation__force_id=user.force_id))
            | Q(current_force_id=user.force_id) & Exists(in_open_case)
        )
        .select_related("safeguarding_plan", "current_force")
        .annotate(
            is_missing=Exists(
                MissingEpisode.objects.filter(victim=OuterRef("pk"), found_at__isnull=True)
            ),
        )
        .order_by(F("next_contact_due").asc(nulls_first=True), "name", "id")
    )


def relocations_awaiting_contact(user: User) -> QuerySet[Any]:
    """Relocations into or out of the user's force with no contact made since the move."""
    from safeguarding.models import Contact, Relocation
    from victims.models import Involvement, Victim

    visible = Victim.objects.visible_to(user).values("pk")
    contact_since = Contact.objects.filter(
        victim=OuterRef("victim"), made=True, at__gt=OuterRef("recorded_at")
    )
    from_force_case = Involvement.objects.filter(
        victim=OuterRef("victim"), investigation__force_id=user.force_id
    )
    return (
        Relocation.objects.filter(victim_id__in=visible)
        .filter(Q(to_force_id=user.force_id) | Exists(from_force_case))
        .filter(~Exists(contact_since))
        .select_related("victim", "to_force")
        .order_by("relocated_on", "id")
    )


def missing_victims(user: User) -> QuerySet[Any]:
    from safeguarding.models import MissingEpisode
    from victims.models import Victim

    visible = Victim.objects.visible_to(user).values("pk")
    return (
        MissingEpisode.objects.filter(victim_id__in=visible, found_at__isnull=True)
        .select_related("victim")
        .order_by("reported_missing_at", "id")
    )
