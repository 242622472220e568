"""Reads of victims. A victim is visible to a user who can see any investigation they are in."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Exists, OuterRef, Q

from slaverycases.core.compiled import CompiledQuery, compiled_filter

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
        same date of birth or nationality. The five likeliest: the same name or alias first,
        then the same date of birth, then the rest by name."""
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
        exact = Q(name__iexact=name) | Q(aliases__icontains=name)
        rank = models.Case(
            models.When(exact, then=0),
            models.When(Q(date_of_birth=date_of_birth) if date_of_birth else Q(pk__in=[]), then=1),
            default=2,
            output_field=models.IntegerField(),
        )
        return self.filter(same_person).order_by(rank, "name", "id")[:5]


def case_victim_terms(case_ids: list[int]) -> dict[int, list[str]]:
    """The victims' names and aliases each case is found by in the investigation search
    (registered with investigations.querysets): one query."""
    from victims.models import Involvement

    terms: dict[int, list[str]] = {}
    rows = (
        Involvement.objects.filter(investigation_id__in=case_ids)
        .order_by("investigation_id", "pk")
        .values_list("investigation_id", "victim__name", "victim__aliases")
    )
    for pk, name, aliases in rows:
        terms.setdefault(pk, []).extend((name, aliases))
    return terms


def _victims_rows(model_name: str, case_field: str, *related: str) -> CompiledQuery:
    return compiled_filter(f"victims.{model_name}", case_field, *related)


_CASE_INVOLVEMENTS = _victims_rows("Involvement", "investigation_id", "victim", "account_taken_by")
_CASE_DISCLOSURES = _victims_rows("Disclosure", "involvement__investigation_id", "offence")
_CASE_CUSTODY_EVENTS = _victims_rows("CustodyEvent", "investigation_id")


def case_victims(investigation: Any) -> list[Any]:
    """The case's victims for its page: each involvement with its victim and who took the
    account, its disclosures (`case_disclosures`, with the offence recorded for each) and the
    victim's custody events in this case (`case_custody_events`). Three compiled statements,
    whatever the number of victims."""
    case = investigation.pk
    involvements = _CASE_INVOLVEMENTS.fetch(case=case, known={"investigation": investigation})
    disclosures: dict[int, list[Any]] = {}
    for disclosure in _CASE_DISCLOSURES.fetch(case=case):
        disclosures.setdefault(disclosure.involvement_id, []).append(disclosure)
    events: dict[int, list[Any]] = {}
    for event in _CASE_CUSTODY_EVENTS.fetch(case=case):
        events.setdefault(event.victim_id, []).append(event)
    for involvement in involvements:
        involvement.case_disclosures = disclosures.get(involvement.pk, [])
        involvement.case_custody_events = events.get(involvement.victim_id, [])
        # Each record holds the involvement or victim it belongs to, as a prefetch leaves it.
        for disclosure in involvement.case_disclosures:
            disclosure.involvement = involvement
        for event in involvement.case_custody_events:
            event.victim = involvement.victim
    return involvements


def report_crime_reference(investigation: Any) -> str:
    """The reference of the modern slavery crime recorded for the report before anyone was
    identified (no victim yet), or "" (one query): the first victim added takes it."""
    from investigations.models import MODERN_SLAVERY_OFFENCES, Offence

    return (
        Offence.objects.filter(
            investigation=investigation,
            victim__isnull=True,
            offence_type__in=MODERN_SLAVERY_OFFENCES,
        )
        .order_by("recorded_at", "pk")
        .values_list("crime_reference", flat=True)
        .first()
        or ""
    )
