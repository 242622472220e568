"""Who may see and do what with an investigation. Every view, PDF and export goes through here.

- `investigations_for_user(user)`: the queryset a user may see (one SQL query).
- `get_investigation_for_user(user, reference)`: the one case, or 404 when it is not visible.
- `may_*`: what the user may do with a case they can see; a "no" is a 403 in views.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import prefetch_related_objects
from django.http import Http404

from investigations.models import ClosureDecision, Investigation, InvestigationQuerySet, Status
from investigations.querysets import (
    CASE_BY_REFERENCE,
    CompiledVisibleRows,
    VisibleRows,
    compiled_list_rows,
    sees_cases,
)
from slaverycases.core.compiled import CompiledQuery

if TYPE_CHECKING:
    from slaverycases.accounts.models import User


def investigations_for_user(user: User) -> InvestigationQuerySet:
    return Investigation.objects.visible_to(user)


def visible_list_rows(
    user: User, filters: dict[str, Any], order: list[str]
) -> VisibleRows | CompiledVisibleRows:
    """The list page's rows: the visible cases, filtered, in `order`, for a Paginator. Read
    by compiled statements where they apply (ADR 0005), else by querysets."""
    compiled = compiled_list_rows(user, filters, order)
    if compiled is not None:
        return compiled
    parts = [part.filtered(**filters) for part in Investigation.objects.visible_parts(user)]
    return VisibleRows(parts, order, decorate=lambda qs: qs.with_list_columns())


def may_view(user: User, investigation: Investigation) -> bool:
    return investigations_for_user(user).filter(pk=investigation.pk).exists()


def get_investigation_for_user(
    user: User,
    reference: str,
    *,
    queryset: InvestigationQuerySet | CompiledQuery[Investigation] | None = None,
) -> Investigation:
    """The case with this reference, or a 404 when there is none or the user may not see it.
    The row is read by its reference alone, then checked: its team (the unit, the officer in
    charge, the supervisor) sees it with no further query, anyone else through a share (one
    query, the visible queryset's). What `queryset` prefetches is read once it is visible.
    `queryset` may be compiled with a Param named "reference" (`CASE_BY_REFERENCE`, the
    default, and `CASE_PAGE`)."""
    if not sees_cases(user):
        raise Http404("No such investigation, or it is not shared with you")
    qs = CASE_BY_REFERENCE if queryset is None else queryset
    lookups: tuple[Any, ...] = ()
    if isinstance(qs, CompiledQuery):
        investigation = qs.first(reference=reference.upper())
    else:
        lookups = qs._prefetch_related_lookups
        investigation = qs.prefetch_related(None).filter(reference=reference.upper()).first()
    if investigation is None or not (
        _is_case_team(user, investigation) or may_view(user, investigation)
    ):
        raise Http404("No such investigation, or it is not shared with you")
    if lookups:
        prefetch_related_objects([investigation], *lookups)
    return investigation


def _is_case_team(user: User, investigation: Investigation) -> bool:
    """The owning unit, the officer in charge and the supervisor work the case; others that see
    it through a share only read it."""
    return (
        (user.unit_id is not None and user.unit_id == investigation.unit_id)
        or investigation.oic_id == user.pk
        or investigation.supervisor_id == user.pk
    )


def may_act(user: User, investigation: Investigation, permission: str) -> bool:
    """The role allows the step and the user works the case; the case's state is checked by
    the action, which explains what is wrong with a clear message."""
    return user.has_perm(f"investigations.{permission}") and _is_case_team(user, investigation)


def may_change(user: User, investigation: Investigation) -> bool:
    return (
        investigation.status != Status.CLOSED
        and user.has_perm("investigations.change_investigation")
        and _is_case_team(user, investigation)
    )


def may_record_crime(user: User, investigation: Investigation) -> bool:
    return may_change(user, investigation) and investigation.status == Status.REPORTED


def may_allocate(user: User, investigation: Investigation) -> bool:
    return (
        investigation.status in (Status.RECORDED, Status.ALLOCATED, Status.UNDER_INVESTIGATION)
        and user.has_perm("investigations.allocate_investigation")
        and _is_case_team(user, investigation)
    )


def may_request_closure(user: User, investigation: Investigation) -> bool:
    return (
        investigation.status in (Status.RECORDED, Status.ALLOCATED, Status.UNDER_INVESTIGATION)
        and user.has_perm("investigations.request_closure")
        and _is_case_team(user, investigation)
    )


def may_review_closure(user: User, investigation: Investigation) -> bool:
    return (
        investigation.status == Status.CLOSURE_REQUESTED
        and user.has_perm("investigations.review_closure")
        and _is_case_team(user, investigation)
    )


def may_decide_closure(user: User, investigation: Investigation) -> bool:
    """Approve or reject the pending closure request: a supervisor of the case team other than
    the one who asked (reads the case's closure_reviews, prefetched on the case's pages)."""
    if not may_review_closure(user, investigation):
        return False
    return not any(
        r.decision == ClosureDecision.PENDING and r.requested_by_id == user.pk
        for r in investigation.closure_reviews.all()
    )


def may_review(user: User, investigation: Investigation) -> bool:
    return (
        investigation.status != Status.CLOSED
        and user.has_perm("investigations.add_supervisoryreview")
        and _is_case_team(user, investigation)
    )


def may_reopen(user: User, investigation: Investigation) -> bool:
    return (
        investigation.status == Status.CLOSED
        and user.has_perm("investigations.reopen_investigation")
        and _is_case_team(user, investigation)
    )


def may_share(user: User, investigation: Investigation) -> bool:
    return user.has_perm("investigations.share_investigation") and _is_case_team(
        user, investigation
    )


def may_record_offence_outcome(user: User, investigation: Investigation) -> bool:
    """The case team records an offence's outcome, also once the case is closed: the court's
    outcome (convicted, acquitted) comes months after an investigation closes as charged."""
    return may_act(user, investigation, "change_offence")


def may_consider_s45(user: User, investigation: Investigation) -> bool:
    """The case team records the section 45 / non-punishment consideration of a victim's
    arrest or charge, also once the case is closed: the victim_criminalised flag watches
    closed cases, and the consideration changes nothing else on the case."""
    return may_act(user, investigation, "change_investigation")


def may_add_case_records(user: User, investigation: Investigation) -> bool:
    """Offences, enquiries and suspects."""
    return may_change(user, investigation)


def may_review_retention(user: User, investigation: Investigation) -> bool:
    """MoPI reviews belong to the force's records administrators, within their own force.
    They see the record's facts for the review, never its victims' details."""
    return (
        user.is_active
        and user.has_perm("investigations.review_retention")
        and user.force_id is not None
        and investigation.force_id == user.force_id
    )
