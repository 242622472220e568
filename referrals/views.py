"""Referral pages: forms on a victim, the force's referral list and reconciliation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from investigations import access as case_access
from investigations import actions as case_actions
from investigations.models import Investigation
from referrals import access as referral_access
from referrals import actions
from referrals.forms import (
    AgencyReferralForm,
    DutyToNotifyForm,
    LinkCrimeForm,
    NrmDecisionForm,
    NrmReferralForm,
    ReferralFilterForm,
)
from referrals.models import NrmReferral
from referrals.querysets import referrals_for_user
from slaverycases.audit.actions import list_consulted
from slaverycases.core.actionpage import action_form_page
from victims import access as victim_access
from victims import actions as victim_actions
from victims.models import Victim

PAGE_SIZE = 50


def referral_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.has_perm("referrals.add_nrmreferral"):
        raise PermissionDenied("Your role does not work with referrals.")
    form = ReferralFilterForm(request.GET or None)
    invalid = form.is_bound and not form.is_valid()  # an edited address: say so, list them all
    status = "" if invalid or not form.is_bound else form.cleaned_data["status"]
    page = Paginator(referrals_for_user(user, status=status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    # each referral's case is read with it: no query per row
    changeable = {r.pk for r in page if referral_access.may_change_referral(user, r)}
    list_consulted(
        actor=user,
        page="referrals",
        shown=[r.investigation.reference for r in page],
        filters={"status": status, "page": page.number},
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "referrals/list.html",
        {
            "form": form if form.is_bound else ReferralFilterForm(),
            "page_obj": page,
            "changeable": changeable,
            "querystring_base": (query.urlencode() + "&") if query else "",
        },
        status=400 if invalid else 200,
    )


def victim_referrals_section(
    request: HttpRequest, victim: Victim, context: dict[str, Any]
) -> dict[str, Any]:
    """The referrals on the victim's page, as `referral_access.referrals_seen` decides: in full
    those made on cases the user may see, of the others only the NRM status. Three queries,
    whatever the number of referrals."""
    user = request.user
    involvements = context.get("involvements")
    if involvements is None:  # the victim page reads them; read them here for any other page
        cases = list(case_access.investigations_for_user(user).filter(involvements__victim=victim))
    else:
        cases = [i.investigation for i in involvements]
    visible = {case.pk for case in cases}
    seen = referral_access.referrals_seen([victim.pk], visible)[victim.pk]
    return {
        "nrm_referrals": seen.nrm,
        "nrm_elsewhere": seen.nrm_elsewhere,
        "nrm_changeable": {r.pk for r in seen.nrm if referral_access.may_change_referral(user, r)},
        "ms1s": seen.ms1,
        "ms1s_elsewhere": seen.ms1_elsewhere,
        "agency_referrals": list(victim.agency_referrals.filter(investigation_id__in=visible)),
        "can_refer": any(referral_access.may_refer(user, case) for case in cases),
        "victim_sections": [*context.get("victim_sections", []), "referrals/_victim.html"],
    }


def _victim_and_cases(request: HttpRequest, pk: int) -> tuple[Victim, list[Investigation]]:
    """The victim (404 unless one of their cases is visible) and the cases the user may make
    referrals from (403 when there are none)."""
    victim = victim_access.get_victim_for_user(request.user, pk)
    if not request.user.has_perm("referrals.add_nrmreferral"):
        raise PermissionDenied("Your role cannot make referrals.")
    cases = referral_access.cases_to_refer_from(request.user, victim)
    if not cases:
        raise PermissionDenied("Only the team working this victim's case can make referrals.")
    return victim, cases


def _context(victim: Victim, title: str, submit: str) -> dict[str, Any]:
    url = reverse("victims:detail", args=[victim.pk])
    return {"title": title, "submit": submit, "cancel_url": url, "victim": victim}


def _victim_consulted(request: HttpRequest, victim: Victim) -> Callable[[], None]:
    """A form for a new referral shows the victim's record (name, age, the cases to refer
    from): a consultation of the victim, as their page is."""
    return lambda: victim_actions.victim_consulted(victim, actor=request.user)


def _referral_consulted(
    request: HttpRequest, referral: NrmReferral, title: str
) -> Callable[[], None]:
    """A form about a referral shows its case's record (the victim, the crimes): a consultation
    of the referral's own case."""
    return lambda: case_actions.investigation_consulted(
        referral.investigation, actor=request.user, what=title
    )


def nrm_new(request: HttpRequest, pk: int) -> HttpResponse:
    victim, cases = _victim_and_cases(request, pk)
    own_offence = (
        victim.offences.filter(investigation__in=[c.pk for c in cases]).order_by("pk").first()
    )
    return action_form_page(
        request,
        form_class=NrmReferralForm,
        form_kwargs={"victim": victim, "cases": cases},
        perform=lambda d: actions.nrm_referral_submit(victim, actor=request.user, **d),
        consulted=_victim_consulted(request, victim),
        success_url=reverse("victims:detail", args=[victim.pk]),
        success_message="NRM referral recorded",
        template="referrals/form.html",
        context={
            **_context(
                victim,
                f"Refer {victim.name} to the National Referral Mechanism",
                "Save the referral",
            ),
            "child": victim.is_child,
        },
        initial={
            "organisation": request.user.force.name if request.user.force else "",
            "linked_offence": own_offence.pk if own_offence else None,
        },
    )


def nrm_decision(request: HttpRequest, pk: int) -> HttpResponse:
    referral = referral_access.get_nrm_referral_to_change(request.user, pk)
    victim = referral.victim
    return action_form_page(
        request,
        consulted=_referral_consulted(request, referral, "NRM decision"),
        form_class=NrmDecisionForm,
        perform=lambda d: actions.nrm_decision_record(
            referral,
            actor=request.user,
            expected_version=d["version"],
            stage=d["stage"],
            decision=d["decision"],
            decided_on=d["decided_on"],
        ),
        success_url=reverse("victims:detail", args=[victim.pk]),
        success_message="NRM decision recorded",
        template="referrals/form.html",
        context=_context(victim, f"Record an NRM decision for {victim.name}", "Save"),
        initial={
            "version": referral.version,
            "stage": "rg" if referral.rg_decision == "pending" else "cg",
        },
    )


def nrm_link(request: HttpRequest, pk: int) -> HttpResponse:
    referral = referral_access.get_nrm_referral_to_change(request.user, pk)
    victim = referral.victim
    return action_form_page(
        request,
        consulted=_referral_consulted(request, referral, "NRM referral's crime"),
        form_class=LinkCrimeForm,
        form_kwargs={"referral": referral, "user": request.user},
        perform=lambda d: actions.nrm_referral_link_crime(
            referral,
            actor=request.user,
            expected_version=d["version"],
            offence=d["linked_offence"],
            non_crime_reason=d["non_crime_reason"],
        ),
        success_url=reverse("referrals:list"),
        success_message="Referral reconciled",
        template="referrals/form.html",
        context=_context(victim, f"Link {victim.name}'s NRM referral to a crime", "Save"),
        initial={
            "version": referral.version,
            "linked_offence": referral.linked_offence_id,
            "non_crime_reason": referral.non_crime_reason,
        },
    )


def ms1_new(request: HttpRequest, pk: int) -> HttpResponse:
    victim, cases = _victim_and_cases(request, pk)
    if victim.is_child:
        raise PermissionDenied(
            "Children are referred to the NRM without consent: an MS1 is for adults only."
        )
    return action_form_page(
        request,
        form_class=DutyToNotifyForm,
        form_kwargs={"cases": cases},
        perform=lambda d: actions.duty_to_notify_submit(victim, actor=request.user, **d),
        consulted=_victim_consulted(request, victim),
        success_url=reverse("victims:detail", args=[victim.pk]),
        success_message="Duty to Notify (MS1) recorded",
        template="referrals/form.html",
        context=_context(
            victim, "Duty to Notify: an adult who declines the NRM (MS1)", "Save the MS1"
        ),
        initial={"nationality": victim.nationality},
    )


def agency_new(request: HttpRequest, pk: int) -> HttpResponse:
    victim, cases = _victim_and_cases(request, pk)
    return action_form_page(
        request,
        form_class=AgencyReferralForm,
        form_kwargs={"cases": cases},
        perform=lambda d: actions.agency_referral_record(victim, actor=request.user, **d),
        consulted=_victim_consulted(request, victim),
        success_url=reverse("victims:detail", args=[victim.pk]),
        success_message="Agency referral recorded",
        template="referrals/form.html",
        context=_context(victim, f"Refer {victim.name} to another agency", "Save"),
    )
