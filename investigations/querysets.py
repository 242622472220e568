"""Reads of investigations: chainable QuerySet methods that name every join they need."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Exists, OuterRef, Q

if TYPE_CHECKING:
    from slaverycases.accounts.models import User


class InvestigationQuerySet(models.QuerySet):
    def visible_to(self, user: User) -> InvestigationQuerySet:
        """Need-to-know: the user's unit's cases, cases they run or supervise, and cases shared
        with them, their unit or their force through django-guardian. One SQL query."""
        from investigations.models import (
            InvestigationGroupObjectPermission,
            InvestigationUserObjectPermission,
        )
        from slaverycases.accounts.roles import works_cases

        if not works_cases(user) or not user.has_perm("investigations.view_investigation"):
            return self.none()
        own = Q(oic_id=user.pk) | Q(supervisor_id=user.pk)
        if user.unit_id:
            own |= Q(unit_id=user.unit_id)
        user_grant = InvestigationUserObjectPermission.objects.filter(
            content_object=OuterRef("pk"),
            user_id=user.pk,
            permission__codename="view_investigation",
        )
        group_scope = Q(group__user=user.pk)
        if user.unit_id:
            group_scope |= Q(group__unit__id=user.unit_id)
        if user.force_id:
            group_scope |= Q(group__force__id=user.force_id)
        group_grant = InvestigationGroupObjectPermission.objects.filter(
            group_scope,
            content_object=OuterRef("pk"),
            permission__codename="view_investigation",
        )
        return self.filter(own | Exists(user_grant) | Exists(group_grant))

    def with_list_columns(self) -> InvestigationQuerySet:
        return self.select_related("unit", "oic").prefetch_related("exploitation")

    def with_detail(self) -> InvestigationQuerySet:
        from investigations.models import Enquiry, Offence, TimelineEvent

        return self.select_related(
            "force", "unit", "oic", "supervisor", "created_by"
        ).prefetch_related(
            "exploitation",
            models.Prefetch("offences", Offence.objects.select_related("recorded_by", "victim")),
            models.Prefetch("enquiries", Enquiry.objects.select_related("owner")),
            "suspects",
            "supervisory_reviews__reviewer",
            "closure_reviews__requested_by",
            "closure_reviews__reviewer",
            models.Prefetch("timeline", TimelineEvent.objects.select_related("actor")),
        )

    def search(self, text: str) -> InvestigationQuerySet:
        """By reference, title or suspect name (victim names once victims exist)."""
        from investigations.models import Suspect

        text = text.strip()
        if not text:
            return self
        suspects = Suspect.objects.filter(investigation=OuterRef("pk"), name__icontains=text)
        condition = Q(reference__iexact=text) | Q(title__icontains=text) | Exists(suspects)
        for extra in _search_extensions:
            condition |= extra(text)
        return self.filter(condition)

    def filtered(self, **filters: Any) -> InvestigationQuerySet:
        qs = self
        if filters.get("status"):
            qs = qs.filter(status=filters["status"])
        if filters.get("exploitation"):
            qs = qs.filter(exploitation__type=filters["exploitation"])
        if filters.get("unit"):
            qs = qs.filter(unit_id=filters["unit"])
        if filters.get("oic"):
            qs = qs.filter(oic_id=filters["oic"])
        if filters.get("q"):
            qs = qs.search(filters["q"])
        return qs


def investigation_shares(investigation: Any) -> list[str]:
    """Who the case is shared with, for its page (two queries)."""
    from investigations.models import (
        InvestigationGroupObjectPermission,
        InvestigationUserObjectPermission,
    )

    groups = InvestigationGroupObjectPermission.objects.filter(
        content_object=investigation
    ).select_related("group__unit__force", "group__force")
    users = InvestigationUserObjectPermission.objects.filter(
        content_object=investigation
    ).select_related("user")
    names: list[str] = []
    for grant in groups:
        unit = getattr(grant.group, "unit", None)
        force = getattr(grant.group, "force", None)
        names.append(str(unit or force or grant.group.name))
    names.extend(grant.user.display_name for grant in users)
    return sorted(set(names))


# Other apps (victims) add their own search conditions here; see victims/apps.py.
_search_extensions: list[Any] = []


def register_search_extension(condition_for_text: Any) -> None:
    _search_extensions.append(condition_for_text)
