"""Reads for safeguarding: the safeguarding lead's board."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery

if TYPE_CHECKING:
    from slaverycases.accounts.models import User


def board_victims(user: User) -> QuerySet[Any]:
    """The force's victims (in its cases or now in its area) that the user may see, with their
    next contact due, last contact and risk level; overdue first. One query."""
    from safeguarding.models import Contact, MissingEpisode
    from victims.models import Involvement, Victim

    latest = Contact.objects.filter(victim=OuterRef("pk")).order_by("-at", "-id")
    latest_made = latest.filter(made=True)
    in_force_case = Involvement.objects.filter(
        victim=OuterRef("pk"), investigation__force_id=user.force_id
    )
    return (
        Victim.objects.visible_to(user)
        .filter(Q(current_force_id=user.force_id) | Exists(in_force_case))
        .select_related("safeguarding_plan", "current_force")
        .annotate(
            next_contact_due=Subquery(latest.values("next_contact_due")[:1]),
            last_contact_at=Subquery(latest_made.values("at")[:1]),
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
