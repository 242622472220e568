"""Reads for safeguarding: the safeguarding lead's board."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.lookups import Exact

from investigations.querysets import visibility_condition

if TYPE_CHECKING:
    from slaverycases.accounts.models import User


def board_victims(user: User, *, deep: bool = False) -> QuerySet[Any]:
    """The victims the force is safeguarding, that the user may see: those in an open case of
    the force, and those now living in the force area who are in an open case elsewhere; with
    their next contact due, last contact and risk level, overdue first.

    A victim whose every case is closed leaves the board (as the victim_contact_overdue flag
    rule leaves them): after ten years a force holds hundreds of thousands of victims of closed
    cases, and listing them would bury the few hundred whose contact is due. One query, which
    walks the partial index of victims in open cases (victim_board) in board order: the next
    contact due and last contact are the victim's own columns (kept by the contact action), so
    no victim outside the page is sorted.

    Two shapes of the same condition. By default each victim walked is tested on its own
    (one EXISTS that names the victim's current force, which PostgreSQL cannot turn into a
    hash): the first page of the benchmark's unit in 11 ms, but each later page walks further
    (page 11: 300 ms). `deep` (for later pages) lets PostgreSQL hash the victims of every
    visible open case first (11,494 for that unit: 70-90 ms whatever the page)."""
    from investigations.models import OPEN_STATUSES, Investigation
    from safeguarding.models import MissingEpisode
    from victims.models import Involvement, Victim

    visible = visibility_condition(user, via="investigation__")
    if user.force_id is None or visible is None:
        return Victim.objects.none()
    force = user.force_id
    if deep:
        open_cases = Investigation.objects.visible_to(user).filter(status__in=OPEN_STATUSES)
        in_open_case = Involvement.objects.filter(
            victim=OuterRef("pk"), investigation__in=open_cases.order_by().values("pk")
        )
        on_board: Any = Exists(in_open_case.filter(investigation__force_id=force)) | Q(
            current_force_id=force
        ) & Exists(in_open_case)
    else:
        on_board = Exists(
            Involvement.objects.filter(
                visible, victim=OuterRef("pk"), investigation__status__in=OPEN_STATUSES
            ).filter(
                Q(investigation__force_id=force) | Q(Exact(OuterRef("current_force_id"), force))
            )
        )
    return (
        Victim.objects.filter(in_open_case=True)
        .filter(on_board)
        .select_related("safeguarding_plan", "current_force")
        .annotate(
            is_missing=Exists(
                MissingEpisode.objects.filter(victim=OuterRef("pk"), found_at__isnull=True)
            ),
        )
        .order_by(F("next_contact_due").asc(nulls_first=True), "name", "id")
    )


def relocations_awaiting_contact(user: User) -> QuerySet[Any]:
    """Relocations into or out of the user's force with no contact made since the move, as the
    relocated_victim_no_contact flag rule counts it: a contact made after the move was recorded,
    or on a later (local) date than the move, counts. The move has a date, not a time; a move
    entered days after it happened does not hide the contacts made in between.

    The relocations awaiting contact are few and read by their partial index (the relocation's
    `awaiting_contact`, kept by the contact actions: no contact made after the move was
    recorded); the force and visibility are then looked up for those alone (testing all 1,044
    of the country's relocations took 8 ms at 1M cases). Of those, the ones whose victim's last
    contact made (the victim row's) is dated after the day of the move are left out, and so are
    moves a later move has superseded (one row per victim: the rule's latest relocation)."""
    from safeguarding.models import Relocation
    from victims.models import Involvement, Victim

    visible = Victim.objects.visible_to(user).values("pk")
    from_force_case = Involvement.objects.filter(
        victim=OuterRef("victim"), investigation__force_id=user.force_id
    )
    later_move = Relocation.objects.filter(victim=OuterRef("victim")).filter(
        Q(recorded_at__gt=OuterRef("recorded_at"))
        | Q(recorded_at=OuterRef("recorded_at"), id__gt=OuterRef("id"))
    )
    return (
        Relocation.objects.filter(awaiting_contact=True)
        .filter(
            Q(victim__last_contact_at__isnull=True)
            | Q(victim__last_contact_at__date__lte=F("relocated_on"))
        )
        .filter(~Exists(later_move))
        .filter(Q(to_force_id=user.force_id) | Exists(from_force_case))
        .filter(victim_id__in=visible)
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
