"""MoPI retention review pages for a force's records administrators: the records due for
review, and the review of one record (retain with a reason, or dispose)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from investigations import actions, retention
from investigations.forms import RetentionReviewForm
from investigations.models import Investigation, OffenceType, RetentionReview, Status
from slaverycases.accounts.twofactor import step_up
from slaverycases.audit.actions import list_consulted
from slaverycases.core.actionpage import action_form_page

PAGE_SIZE = 50


def _reviewer(request: HttpRequest) -> None:
    user = request.user
    if not (user.has_perm("investigations.review_retention") and user.force_id):
        raise PermissionDenied("Retention review is for your force's records administrators.")


def retention_list(request: HttpRequest) -> HttpResponse:
    _reviewer(request)
    user = request.user
    today = timezone.localdate()
    soon = request.GET.get("show") == "soon"
    due = retention.due_for_review(user.force_id, today, soon=soon)
    page = Paginator(due, PAGE_SIZE).get_page(request.GET.get("page"))
    recent = (
        RetentionReview.objects.filter(force_id=user.force_id)
        .select_related("reviewed_by")
        .order_by("-reviewed_at", "-id")[:20]
    )
    list_consulted(
        actor=user,
        page="retention",
        shown=[inv.reference for inv in page],
        filters={"show": "soon" if soon else "", "page": page.number},
    )
    return render(
        request,
        "investigations/retention_list.html",
        {"page": page, "soon": soon, "today": today, "recent": recent},
    )


@step_up
def retention_review(request: HttpRequest, reference: str) -> HttpResponse:
    _reviewer(request)
    user = request.user
    # Closed cases only: a force administrator sees figures, never an open case's title, unit
    # or victims; references are sequential and could otherwise be walked one by one.
    inv = (
        Investigation.objects.select_related("unit")
        .filter(reference=reference.upper(), force_id=user.force_id, status=Status.CLOSED)
        .first()
    )
    if inv is None:
        raise Http404("No closed investigation with that reference in your force")
    today = timezone.localdate()
    offences = retention.offence_types(inv)
    group = retention.group_for(offences)
    last_activity = inv.timeline.order_by("-at").values_list("at", flat=True).first()
    context = {
        "investigation": inv,
        "title": "Retention review",
        "submit": "Record the decision",
        "cancel_url": reverse("retention:list"),
        "group": group,
        "review_years": retention.REVIEW_YEARS[group],
        "offence_labels": sorted(OffenceType(o).label for o in offences),
        "victim_count": inv.involvements.count(),
        "last_activity": last_activity,
        "reviews": inv.retention_reviews.select_related("reviewed_by").order_by("-reviewed_at"),
        "reviewable": inv.status == Status.CLOSED
        and inv.review_due_on is not None
        and inv.review_due_on <= today,
        "today": today,
    }
    return action_form_page(
        request,
        form_class=RetentionReviewForm,
        form_kwargs={"reference": inv.reference},
        perform=lambda d: actions.retention_review(
            inv,
            actor=user,
            expected_version=d["version"],
            decision=d["decision"],
            reason=d["reason"],
            next_review_on=d.get("next_review_on"),
        ),
        success_url=reverse("retention:list"),
        success_message="Retention decision recorded",
        template="investigations/retention_review.html",
        initial={
            "version": inv.version,
            "next_review_on": retention.add_years(today, retention.REVIEW_YEARS[group]),
        },
        context=context,
        consulted=lambda: actions.investigation_consulted(inv, actor=user, what="Retention review"),
    )
