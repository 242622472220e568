"""The safeguarding lead's board and the safeguarding forms on a victim."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone

from safeguarding import access, actions
from safeguarding.forms import ContactForm, FoundForm, MissingForm, PlanForm, RelocationForm
from safeguarding.models import MissingEpisode, SafeguardingPlan
from safeguarding.querysets import board_victims, missing_victims, relocations_awaiting_contact
from slaverycases.accounts.twofactor import step_up
from slaverycases.audit.actions import list_consulted
from slaverycases.core.actionpage import action_form_page
from slaverycases.core.paging import CountlessPage, page_number, serial_plan
from victims import access as victim_access
from victims import actions as victim_actions
from victims.models import Victim

PAGE_SIZE = 50
WALKED_PAGES = 3  # pages 1 to 3 walk the board (11-65 ms at 1M cases); later pages hash


def board(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not access.may_use_board(user):
        raise PermissionDenied("The safeguarding board is for safeguarding leads and supervisors.")
    # Paged without a count: a count reads every victim the user may see in open cases
    # (11,494 in the benchmark's largest unit) where a page stops after 51 rows. The first
    # pages walk the board in order, one victim at a time, without parallel workers (whose
    # start costs more than the walk); later pages read every visible victim first.
    number = page_number(request.GET.get("page"))
    deep = number > WALKED_PAGES
    with nullcontext() if deep else serial_plan():
        page = CountlessPage(board_victims(user, deep=deep), number, PAGE_SIZE)
    relocations = list(relocations_awaiting_contact(user)[:50])
    missing = list(missing_victims(user)[:50])
    list_consulted(
        actor=user,
        page="safeguarding board",
        shown=[f"victim {pk}" for pk in _victim_ids(page, relocations, missing)],
        filters={"page": number},
    )
    return render(
        request,
        "safeguarding/board.html",
        {
            "page_obj": page,
            "querystring_base": "",
            "today": timezone.localdate(),
            "relocations": relocations,
            "missing": missing,
        },
    )


def _victim_ids(page: Any, relocations: list[Any], missing: list[Any]) -> list[int]:
    """The victims the board shows, once each, in the order shown."""
    ids = [v.pk for v in page] + [r.victim_id for r in relocations] + [m.victim_id for m in missing]
    return list(dict.fromkeys(ids))


def victim_safeguarding_section(
    request: HttpRequest, victim: Victim, context: dict[str, Any]
) -> dict[str, Any]:
    """Shown on the victim's page (registered in apps.py)."""
    plan = SafeguardingPlan.objects.filter(victim=victim).select_related("lead").first()
    return {
        "plan": plan,
        "contacts": list(victim.contacts.select_related("by")[:20]),
        "relocations": list(victim.relocations.select_related("to_force")),
        "missing_episodes": list(victim.missing_episodes.all()),
        "can_plan": access.may_plan(request.user),
        "can_contact": access.may_record_contact(request.user),
        "can_relocate": access.may_relocate(request.user),
        "today": timezone.localdate(),
        "victim_sections": [*context.get("victim_sections", []), "safeguarding/_victim.html"],
    }


def _victim(request: HttpRequest, pk: int) -> Victim:
    return victim_access.get_victim_for_user(request.user, pk)


def _page(request: HttpRequest, victim: Victim, title: str, submit: str) -> dict[str, Any]:
    """The context of a form page about the victim, and its consultation of the victim's record
    (recorded as their page is, whenever the form shows it): action_form_page's `context` and
    `consulted`."""
    url = reverse("victims:detail", args=[victim.pk])
    return {
        "context": {"title": title, "submit": submit, "cancel_url": url, "victim": victim},
        "consulted": lambda: victim_actions.victim_consulted(victim, actor=request.user),
    }


def plan_edit(request: HttpRequest, pk: int) -> HttpResponse:
    victim = _victim(request, pk)
    if not access.may_plan(request.user):
        raise PermissionDenied("Only a safeguarding lead can set a safeguarding plan.")
    plan = SafeguardingPlan.objects.filter(victim=victim).first()
    initial: dict[str, Any] = {"lead": request.user.pk, "contact_every_days": 7}
    if plan:
        initial = {
            "version": plan.version,
            "lead": plan.lead_id,
            "risk_level": plan.risk_level,
            "risks": plan.risks,
            "measures": plan.measures,
            "contact_every_days": plan.contact_every_days,
            "review_date": plan.review_date,
        }
    return action_form_page(
        request,
        form_class=PlanForm,
        form_kwargs={"user": request.user},
        perform=lambda d: actions.plan_save(
            victim, actor=request.user, expected_version=d.pop("version"), **d
        ),
        success_url=reverse("victims:detail", args=[victim.pk]),
        success_message="Safeguarding plan saved",
        template="safeguarding/form.html",
        **_page(request, victim, f"Safeguarding plan for {victim.name}", "Save the plan"),
        initial=initial,
    )


def contact_new(request: HttpRequest, pk: int) -> HttpResponse:
    victim = _victim(request, pk)
    if not access.may_record_contact(request.user):
        raise PermissionDenied("Your role cannot record contact with victims.")
    plan = SafeguardingPlan.objects.filter(victim=victim).first()
    return action_form_page(
        request,
        form_class=ContactForm,
        perform=lambda d: actions.contact_record(victim, actor=request.user, **d),
        success_url=reverse("victims:detail", args=[victim.pk]),
        success_message="Contact recorded",
        template="safeguarding/form.html",
        **_page(request, victim, f"Record contact with {victim.name}", "Save the contact"),
        initial={"next_contact_due": actions.default_next_contact(plan)},
    )


@step_up
def relocation_new(request: HttpRequest, pk: int) -> HttpResponse:
    victim = _victim(request, pk)
    if not access.may_relocate(request.user):
        raise PermissionDenied("Only a safeguarding lead can record a relocation.")
    return action_form_page(
        request,
        form_class=RelocationForm,
        perform=lambda d: actions.relocation_record(victim, actor=request.user, **d),
        success_url=reverse("victims:detail", args=[victim.pk]),
        success_message="Relocation recorded and the receiving force given access",
        template="safeguarding/form.html",
        **_page(request, victim, f"Record a relocation of {victim.name}", "Save the relocation"),
        initial={"first_contact_within_days": 7},
    )


def missing_new(request: HttpRequest, pk: int) -> HttpResponse:
    victim = _victim(request, pk)
    if not request.user.has_perm("safeguarding.add_missingepisode"):
        raise PermissionDenied("Your role cannot record missing episodes.")
    return action_form_page(
        request,
        form_class=MissingForm,
        perform=lambda d: actions.missing_episode_open(victim, actor=request.user, **d),
        success_url=reverse("victims:detail", args=[victim.pk]),
        success_message="Missing episode recorded",
        template="safeguarding/form.html",
        **_page(request, victim, f"Report {victim.name} missing", "Save"),
    )


def missing_found(request: HttpRequest, pk: int) -> HttpResponse:
    episode = get_object_or_404(MissingEpisode, pk=pk)
    victim = _victim(request, episode.victim_id)
    if not request.user.has_perm("safeguarding.change_missingepisode"):
        raise PermissionDenied("Your role cannot change missing episodes.")
    return action_form_page(
        request,
        form_class=FoundForm,
        perform=lambda d: actions.missing_episode_found(
            episode, actor=request.user, found_at=d["found_at"]
        ),
        success_url=reverse("victims:detail", args=[victim.pk]),
        success_message=f"{victim.name} recorded as found",
        template="safeguarding/form.html",
        **_page(request, victim, f"Record {victim.name} as found", "Save"),
    )
