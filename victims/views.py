"""Victim pages: the victims section of a case, multi-victim intake with a duplicate check,
accounts, disclosures, custody events and the victim's own page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from investigations import access as case_access
from investigations import actions as case_actions
from investigations.models import Investigation
from slaverycases.core.actionpage import action_form_page
from slaverycases.core.errors import DomainError, NotPermitted
from victims import access, actions
from victims import querysets as queries
from victims.forms import (
    AccountForm,
    CustodyEventForm,
    DisclosureForm,
    LinkOffenceForm,
    S45DecisionForm,
    VictimEditForm,
    VictimRowFormSet,
    VictimsIntakeForm,
)
from victims.models import CustodyEvent, Disclosure, Involvement
from victims.querysets import case_victims

MAX_ROWS = 30
CHANGE_ROWS = "change_rows"  # the intake page's "Change number of rows" button


# --- sections other apps show -------------------------------------------------------------


def case_victims_section(request: HttpRequest, investigation: Investigation) -> dict[str, Any]:
    """The victims section of the case page (a fixed number of queries)."""
    return {
        "involvements": case_victims(investigation),
        "offence_victims": True,
        "see_sensitive": access.may_see_sensitive(request.user, [investigation]),
        "extra_sections": ["victims/_case_victims.html"],
    }


def case_closure_facts(investigation: Investigation) -> dict[str, Any]:
    involvements = list(
        Involvement.objects.filter(investigation=investigation).select_related("victim")
    )
    not_spoken = [i for i in involvements if not i.spoken_to]
    return {
        "extra_facts": [
            {
                "label": "Victims spoken to",
                "value": f"{len(involvements) - len(not_spoken)} of {len(involvements)}",
                "warning": "Not everyone spoken to" if not_spoken else "",
            }
        ]
    }


# --- case pages ---------------------------------------------------------------------------


def _case(request: HttpRequest, reference: str) -> Investigation:
    inv = case_access.get_investigation_for_user(
        request.user,
        reference,
        queryset=Investigation.objects.select_related("unit", "force", "oic", "supervisor"),
    )
    if not case_access.may_act(request.user, inv, "change_investigation"):
        raise PermissionDenied("Your role or unit does not allow this on this case.")
    return inv


def _rows_wanted(request: HttpRequest) -> int:
    if CHANGE_ROWS in request.POST:
        raw = request.POST.get("count") or request.POST.get("victim-TOTAL_FORMS") or "3"
    else:
        raw = request.POST.get("victim-TOTAL_FORMS") or request.GET.get("count") or "3"
    try:
        return max(1, min(MAX_ROWS, int(raw)))
    except ValueError:
        return 3


def _as_typed(form: Any) -> dict[str, Any]:
    """What the user typed into a bound form, field by field, without validating it: the
    initial values of the same form shown again."""
    return {name: form[name].value() for name in form.fields}


def _with_rows(request: HttpRequest, rows: int) -> tuple[VictimsIntakeForm, Any]:
    """The intake page again with `rows` people, keeping everything typed so far (the
    'Change number of rows' button posts the whole form): no error is shown, nothing saved."""
    typed = VictimRowFormSet(request.POST, prefix="victim")
    people = [_as_typed(row) for row in typed.forms][:rows]
    form = VictimsIntakeForm(initial=_as_typed(VictimsIntakeForm(request.POST)))
    formset = VictimRowFormSet(prefix="victim", initial=people + [{}] * (rows - len(people)))
    return form, formset


def victims_add(request: HttpRequest, reference: str) -> HttpResponse:
    """Add several victims found together. Before creating anyone, each person is checked
    against the records the officer can see; possible matches are offered to link instead."""
    inv = _case(request, reference)
    if not request.user.has_perm("victims.add_victim"):
        raise PermissionDenied("Your role cannot add victims.")
    rows = _rows_wanted(request)
    status = 200
    matches_found = False
    if request.method == "POST" and CHANGE_ROWS in request.POST:
        form, formset = _with_rows(request, rows)
    elif request.method == "POST":
        form = VictimsIntakeForm(request.POST)
        formset = VictimRowFormSet(request.POST, prefix="victim")
        if form.is_valid() and formset.is_valid():
            people, matches_found = _resolve_matches(request, formset)
            if people is None and any(row.errors for row in formset.forms):
                status = 400
            if people is not None:
                try:
                    actions.victims_add_to_investigation(
                        inv,
                        actor=request.user,
                        people=people,
                        identified_at=form.cleaned_data["identified_at"],
                        offence_type=form.cleaned_data["offence_type"],
                        indicators=form.cleaned_data["indicators"],
                    )
                except NotPermitted as exc:
                    raise PermissionDenied(str(exc)) from exc
                except DomainError as exc:
                    form.add_error(None, str(exc))
                    status = 400
                else:
                    messages.success(
                        request,
                        f"{len(people)} victims added, each with a modern slavery crime recorded"
                        if len(people) != 1
                        else "Victim added, with a modern slavery crime recorded",
                    )
                    return redirect(
                        reverse("investigations:detail", args=[inv.reference]) + "#victims"
                    )
        else:
            status = 400
    else:
        form = VictimsIntakeForm()
        # The crime recorded for the report, with no victim yet, is the first person's.
        report_crime = queries.report_crime_reference(inv)
        first = {"crime_reference": report_crime} if report_crime else {}
        formset = VictimRowFormSet(prefix="victim", initial=[first] + [{}] * (rows - 1))
    return render(
        request,
        "victims/add.html",
        {
            "investigation": inv,
            "form": form,
            "formset": formset,
            "rows": rows,
            "matches_found": matches_found,
            "cancel_url": reverse("investigations:detail", args=[inv.reference]),
        },
        status=status,
    )


def _resolve_matches(request: HttpRequest, formset: Any) -> tuple[list[dict] | None, bool]:
    """Returns (people, asked): people to create or link, or None while the officer still has
    to answer whether someone is already known."""
    visible = access.victims_for_user(request.user)
    people: list[dict[str, Any]] = []
    unanswered = False
    asked = False
    for row in formset.forms:
        if not getattr(row, "cleaned_data", None):
            continue  # a blank extra row
        data = dict(row.cleaned_data)
        matches = list(
            visible.possible_matches(
                name=data["name"],
                date_of_birth=data.get("date_of_birth"),
                nationality=data.get("nationality") or "",
            )
        )
        choice = data.pop("match", "") or ""
        if matches:
            asked = True
            row.offer_matches(matches)
            valid = {str(v.pk) for v in matches} | {"new"}
            if choice not in valid:
                unanswered = True
                # A row not yet asked posts the hidden, empty `match` field; a row whose question
                # was shown posts the radios' answer, or nothing at all when none was chosen.
                if choice or row.add_prefix("match") not in row.data:
                    row.add_error("match", "Select an existing record or say this is a new person")
                continue
            if choice != "new":
                data["existing_victim"] = next(v for v in matches if str(v.pk) == choice)
        people.append(data)
    return (None if unanswered else people), asked


def _involvement(inv: Investigation, pk: int) -> Involvement:
    return get_object_or_404(Involvement.objects.select_related("victim"), pk=pk, investigation=inv)


def _detail_url(inv: Investigation) -> str:
    return reverse("investigations:detail", args=[inv.reference]) + "#victims"


def _consulted_page(
    request: HttpRequest, inv: Investigation, title: str, submit: str
) -> dict[str, Any]:
    """The context of a form page about one of the case's victims, and its consultation of the
    case (recorded as the case page's is, whenever the form shows it): action_form_page's
    `context` and `consulted`."""
    return {
        "context": {
            "investigation": inv,
            "title": title,
            "submit": submit,
            "cancel_url": _detail_url(inv),
        },
        "consulted": lambda: case_actions.investigation_consulted(
            inv, actor=request.user, what=title
        ),
    }


def account_record(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    inv = _case(request, reference)
    involvement = _involvement(inv, pk)
    taken = involvement.account_taken_at is not None
    return action_form_page(
        request,
        form_class=AccountForm,
        perform=lambda d: actions.involvement_record_account(
            involvement,
            actor=request.user,
            taken_at=d["taken_at"],
            interpreter_used=d["interpreter_used"],
            interpreter_language=d["interpreter_language"],
            summary=d["summary"],
            indicators=d["indicators"],
            expected_version=d["version"],
        ),
        success_url=_detail_url(inv),
        success_message=f"{involvement.label}'s account {'changed' if taken else 'recorded'}",
        template="investigations/form.html",
        **_consulted_page(
            request,
            inv,
            f"{'Change' if taken else 'Record'} {involvement.label}'s account "
            f"({involvement.victim.name})",
            "Save",
        ),
        initial=_account_initial(inv, involvement),
    )


def _account_initial(inv: Investigation, involvement: Involvement) -> dict[str, Any]:
    """The account form as last saved (a change starts from what is recorded, not from a
    blank form that would overwrite it), with the case's version it was read at."""
    initial: dict[str, Any] = {"version": inv.version, "indicators": involvement.indicators}
    if involvement.account_taken_at is None:
        initial["interpreter_used"] = "yes" if involvement.victim.interpreter_needed else ""
        return initial
    return {
        **initial,
        "taken_at": involvement.account_taken_at,
        "interpreter_used": "yes" if involvement.interpreter_used else "no",
        "interpreter_language": involvement.interpreter_language,
        "summary": involvement.account_summary,
    }


def disclosure_new(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    inv = _case(request, reference)
    involvement = _involvement(inv, pk)
    return action_form_page(
        request,
        form_class=DisclosureForm,
        perform=lambda d: actions.disclosure_record(
            involvement,
            actor=request.user,
            offence_type=d["offence_type"],
            disclosed_at=d["disclosed_at"],
            account=d["account"],
        ),
        success_url=_detail_url(inv),
        success_message="Disclosure recorded: record the offence it describes within 24 hours",
        template="investigations/form.html",
        **_consulted_page(
            request,
            inv,
            f"Record a disclosure by {involvement.label} ({involvement.victim.name})",
            "Save the disclosure",
        ),
    )


def disclosure_link(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    inv = _case(request, reference)
    disclosure = get_object_or_404(
        Disclosure.objects.select_related("involvement__victim"),
        pk=pk,
        involvement__investigation=inv,
    )
    return action_form_page(
        request,
        form_class=LinkOffenceForm,
        form_kwargs={"disclosure": disclosure},
        perform=lambda d: actions.disclosure_link_offence(
            disclosure,
            actor=request.user,
            offence=d["offence"],
            crime_reference=(d["crime_reference"] or "").strip(),
        ),
        success_url=_detail_url(inv),
        success_message="Disclosure linked to the recorded offence",
        template="investigations/form.html",
        **_consulted_page(
            request,
            inv,
            f"Record the offence {disclosure.involvement.label} disclosed: "
            f"{disclosure.get_offence_type_display().lower()}",
            "Link the offence",
        ),
    )


def custody_event_new(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    inv = _case(request, reference)
    involvement = _involvement(inv, pk)
    return action_form_page(
        request,
        form_class=CustodyEventForm,
        perform=lambda d: actions.custody_event_record(
            involvement.victim, investigation=inv, actor=request.user, **d
        ),
        success_url=_detail_url(inv),
        success_message="Arrest or charge recorded",
        template="investigations/form.html",
        **_consulted_page(
            request, inv, f"Record an arrest or charge of {involvement.victim.name}", "Save"
        ),
    )


def custody_s45(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    inv = _case(request, reference)
    event = get_object_or_404(
        CustodyEvent.objects.select_related("victim"), pk=pk, investigation=inv
    )
    return action_form_page(
        request,
        form_class=S45DecisionForm,
        perform=lambda d: actions.custody_event_record_s45(event, actor=request.user, **d),
        success_url=_detail_url(inv),
        success_message="Section 45 consideration recorded",
        template="investigations/form.html",
        **_consulted_page(
            request,
            inv,
            f"Section 45 and non-punishment: {event.victim.name}'s "
            f"{event.get_kind_display().lower()} for {event.offence}",
            "Save",
        ),
    )


# --- the victim's own page ---------------------------------------------------------------


def victim_detail(request: HttpRequest, pk: int) -> HttpResponse:
    victim = access.get_victim_for_user(request.user, pk)
    visible_cases = case_access.investigations_for_user(request.user).values("pk")
    involvements = list(
        Involvement.objects.filter(
            victim=victim, investigation_id__in=visible_cases
        ).select_related("investigation__unit", "investigation__oic")
    )
    hidden = (
        Involvement.objects.filter(victim=victim)
        .exclude(investigation_id__in=visible_cases)
        .count()
    )
    cases = [i.investigation for i in involvements]
    actions.victim_consulted(victim, actor=request.user)
    context: dict[str, Any] = {
        "victim": victim,
        "involvements": involvements,
        "hidden_cases": hidden,
        "see_sensitive": access.may_see_sensitive(request.user, cases),
        "can_change": access.may_change_victim(request.user, cases),
        "victim_sections": [],
    }
    for extend in _victim_extensions:
        context.update(extend(request, victim, context))
    return render(request, "victims/detail.html", context)


_victim_extensions: list[Any] = []


def register_victim_extension(extension: Any) -> None:
    _victim_extensions.append(extension)


def victim_edit(request: HttpRequest, pk: int) -> HttpResponse:
    victim = access.get_victim_for_user(request.user, pk)
    visible_cases = case_access.investigations_for_user(request.user).values("pk")
    cases = list(Investigation.objects.filter(pk__in=visible_cases, involvements__victim=victim))
    if not access.may_change_victim(request.user, cases):
        raise PermissionDenied("You cannot change this victim's record.")
    sensitive = access.may_see_sensitive(request.user, cases)
    fields = [f for f in VictimEditForm.base_fields if f != "version"]
    if not sensitive:
        fields = [f for f in fields if f not in VictimEditForm.SENSITIVE]
    url = reverse("victims:detail", args=[victim.pk])
    return action_form_page(
        request,
        # The form shows the record: a consultation, as its page is.
        consulted=lambda: actions.victim_consulted(victim, actor=request.user),
        form_class=VictimEditForm,
        form_kwargs={"sensitive": sensitive},
        perform=lambda d: actions.victim_update(
            victim, actor=request.user, expected_version=d.pop("version"), **d
        ),
        success_url=url,
        success_message="Victim's record saved",
        template="investigations/form.html",
        context={
            "title": f"Change {victim.name}'s record",
            "submit": "Save",
            "cancel_url": url,
            "back_label": f"Back to {victim.name}",
        },
        initial={"version": victim.version, **{f: getattr(victim, f) for f in fields}},
    )
