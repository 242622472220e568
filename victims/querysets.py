"""Reads of victims. A victim is visible to a user who can see any investigation they are in."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Exists, OuterRef, Q

if TYPE_CHECKING:
    from slaverycases.accounts.models import User


class VictimQuerySet(models.QuerySet):
    def visible_to(self, user: User) -> VictimQuerySet:
        from investigations.models import Investigation
        from victims.models import Involvement

        if not (user.is_authenticated and user.is_active):
            return self.none()
        visible_cases = Investigation.objects.visible_to(user).values("pk")
        return self.filter(
            Exists(
                Involvement.objects.filter(
                    victim=OuterRef("pk"), investigation_id__in=visible_cases
                )
            )
        )

    def possible_matches(
        self, *, name: str, date_of_birth: date | None, nationality: str
    ) -> VictimQuerySet:
        """People who may already have a record: the same name, or a shared name part with the
        same date of birth or nationality."""
        name = " ".join(name.split())
        if not name:
            return self.none()
        parts = [p for p in name.split() if len(p) >= 3]
        same_person = Q(name__iexact=name) | Q(aliases__icontains=name)
        if parts:
            shares_part = Q()
            for part in parts:
                shares_part |= Q(name__icontains=part) | Q(aliases__icontains=part)
            corroboration = Q(pk__in=[])
            if date_of_birth:
                corroboration |= Q(date_of_birth=date_of_birth)
            if nationality.strip():
                corroboration |= Q(nationality__iexact=nationality.strip())
            same_person |= shares_part & corroboration
        return self.filter(same_person).order_by("name", "id")[:5]


def victim_search_condition(text: str) -> Any:
    """Investigation search by victim name or alias (registered with investigations.querysets):
    the ids of the investigations such a victim is in."""
    from victims.models import Involvement, Victim

    victims = Victim.objects.filter(Q(name__icontains=text) | Q(aliases__icontains=text))
    return Involvement.objects.filter(victim__in=victims).order_by().values("investigation_id")
