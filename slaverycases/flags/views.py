"""The supervisor's flag queue, a flag's page, and the flags section of a case page."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone

from investigations import access as case_access
from investigations import actions as case_actions
from slaverycases.audit.actions import list_consulted
from slaverycases.core.actionpage import action_form_page
from slaverycases.flags import access, actions
from slaverycases.flags.evidence import describe
from slaverycases.flags.forms import FlagActionForm, FlagFilterForm
from slaverycases.flags.models import ACTIVE_STATUSES, Flag
from slaverycases.flags.querysets import case_flags, queue_for

PAGE_SIZE = 50


def queue(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not access.may_see_queue(user):
        raise PermissionDenied("The flag queue is for supervisors and safeguarding leads.")
    form = FlagFilterForm(request.GET or None)
    invalid = form.is_bound and not form.is_valid()  # an edited address: say so, list them all
    kind = "" if invalid or not form.is_bound else form.cleaned_data["kind"]
    page = Paginator(queue_for(user, kind=kind), PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    for flag in page:
        flag.words = describe(flag, today)
    list_consulted(
        actor=user,
        page="flag queue",
        shown=[flag.investigation.reference for flag in page],
        filters={"kind": kind, "page": page.number},
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "flags/queue.html",
        {
            "form": form if form.is_bound else FlagFilterForm(),
            "page_obj": page,
            "querystring_base": (query.urlencode() + "&") if query else "",
        },
        status=400 if invalid else 200,
    )


def flag_detail(request: HttpRequest, pk: int) -> HttpResponse:
    flag = get_object_or_404(
        Flag.objects.select_related("investigation", "victim", "acted_by"), pk=pk
    )
    # The flag is as secret as its case.
    case_access.get_investigation_for_user(request.user, flag.investigation.reference)
    if not access.may_act_on_flag(request.user, flag):
        raise PermissionDenied("You cannot act on this flag.")
    flag.words = describe(flag)

    def perform(data: dict[str, Any]) -> Flag:
        if data["action"] == "acknowledge":
            return actions.flag_acknowledge(flag, actor=request.user)
        if data["action"] == "resolve":
            return actions.flag_resolve(flag, actor=request.user, reason=data["reason"])
        return actions.flag_dismiss(flag, actor=request.user, reason=data["reason"])

    return action_form_page(
        request,
        form_class=FlagActionForm,
        perform=perform,
        success_url=reverse("flags:queue"),
        success_message="Flag updated",
        template="flags/detail.html",
        context={
            "flag": flag,
            "cancel_url": reverse("flags:queue"),
            "active": flag.status in ACTIVE_STATUSES,
        },
        consulted=lambda: case_actions.investigation_consulted(
            flag.investigation, actor=request.user, what="flag"
        ),
    )


def case_flags_section(request: HttpRequest, investigation: Any) -> dict[str, Any]:
    flags = case_flags(investigation)
    today = timezone.localdate()
    for flag in flags:
        flag.words = describe(flag, today)
        flag.can_act = access.may_act_on_flag(request.user, flag)
    return {"case_flags": flags, "flag_sections": ["flags/_case_flags.html"]}


def case_closure_flags(investigation: Any) -> dict[str, Any]:
    """The closure review's fact: the case's open and acknowledged flags, so the supervisor
    deciding the closure sees what is still wrong (one query)."""
    flags = case_flags(investigation)
    return {
        "extra_facts": [
            {
                "label": "Open flags",
                "value": "; ".join(
                    f"{flag.get_kind_display()} ({flag.get_severity_display().lower()})"
                    for flag in flags
                )
                or "None",
                "warning": "Flags still open" if flags else "",
            }
        ]
    }
