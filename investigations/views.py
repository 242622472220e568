"""Pages for investigations. Views get cases only through access.py and write only through
actions.py; a domain error becomes a message on the form, with nothing half saved."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from investigations import access, actions
from investigations.forms import (
    AllocateForm,
    ClosureDecisionForm,
    ClosureRequestForm,
    CrimeDecisionForm,
    EnquiryCompleteForm,
    EnquiryForm,
    IntakeForm,
    InvestigationEditForm,
    InvestigationFilterForm,
    OffenceForm,
    OffenceOutcomeForm,
    ReopenForm,
    ShareForm,
    SupervisoryReviewForm,
    SuspectEditForm,
    SuspectForm,
)
from investigations.models import (
    ClosureDecision,
    Enquiry,
    Investigation,
    Offence,
    Status,
    Suspect,
)
from investigations.querysets import (
    CASE_PAGE,
    case_records,
    investigation_shares,
    latest_timeline,
)
from slaverycases.accounts.roles import works_cases
from slaverycases.accounts.twofactor import step_up
from slaverycases.audit.actions import list_consulted
from slaverycases.core.actionpage import action_form_page
from slaverycases.core.errors import DomainError
from slaverycases.core.paging import CountlessPage

PAGE_SIZE = 25
TIMELINE_SHOWN = 25  # the case page shows the newest events; ?timeline=all shows every one
COUNT_LIMIT = 10_000  # the list counts its cases up to this number, then says "more than"
SORTS = {"-reported_at", "reported_at", "reference", "status"}


def investigation_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not (works_cases(user) and user.has_perm("investigations.view_investigation")):
        raise PermissionDenied("Your role does not give access to investigations.")
    form = InvestigationFilterForm(request.GET or None, user=user)
    filters: dict[str, Any] = {}
    status = 200
    if form.is_bound:
        if form.is_valid():
            filters = form.cleaned_data
        else:
            status = 400
    sort = filters.get("sort") or "-reported_at"
    sort = sort if sort in SORTS else "-reported_at"
    rows = access.visible_list_rows(user, filters, [sort, "-id"])
    if rows.count_at_most(COUNT_LIMIT) is None:
        # Beyond the limit: "More than 10,000", and Previous / Next without a last page.
        page: Any = CountlessPage(rows, request.GET.get("page"), PAGE_SIZE)
    else:
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    list_consulted(
        actor=user,
        page="investigations",
        shown=[inv.reference for inv in page],
        filters={**filters, "page": page.number},
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "investigations/list.html",
        {
            "form": form,
            "page_obj": page,
            "querystring_base": (query.urlencode() + "&") if query else "",
            "can_add": user.has_perm("investigations.add_investigation") and user.unit_id,
            "count_limit": COUNT_LIMIT,
        },
        status=status,
    )


def investigation_new(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not (works_cases(user) and user.has_perm("investigations.add_investigation")) or (
        user.unit_id is None
    ):
        raise PermissionDenied("Your role cannot log new reports.")
    if request.method == "POST":
        form = IntakeForm(request.POST)
    else:
        form = IntakeForm(initial={"submission": uuid.uuid4()})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            report = {
                "title": data["title"],
                "summary": data["summary"],
                "source": data["source"],
                "exploitation_types": data["exploitation_types"],
                "reported_at": data["reported_at"],
                "location": data["location"],
            }
            try:
                if data["submission"] is None:  # a form from before the token (no repeat check)
                    investigation, logged = actions.investigation_create(actor=user, **report), True
                else:
                    investigation, logged = actions.intake_submit(
                        data["submission"], actor=user, **report
                    )
            except DomainError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    f"Report logged as {investigation.reference}"
                    if logged
                    else f"This report was already logged as {investigation.reference}: "
                    "it has not been logged again",
                )
                return redirect("investigations:detail", reference=investigation.reference)
        status = 400
    return render(
        request,
        "investigations/form.html",
        {
            "form": form,
            "title": "Log a new report",
            "submit": "Log the report",
            "cancel_url": reverse("investigations:list"),
            "back_label": "Back to investigations",
        },
        status=status,
    )


def investigation_detail(request: HttpRequest, reference: str) -> HttpResponse:
    user = request.user
    investigation = access.get_investigation_for_user(user, reference, queryset=CASE_PAGE)
    actions.investigation_consulted(investigation, actor=user, what="case page")
    whole_timeline = request.GET.get("timeline") == "all"
    timeline, timeline_total = latest_timeline(
        investigation, None if whole_timeline else TIMELINE_SHOWN
    )
    records = case_records(investigation)
    context = {
        "investigation": investigation,
        "exploitation": investigation.exploitation_labels,
        **records,
        "completed_enquiries": sum(1 for e in records["enquiries"] if e.is_complete),
        "timeline": timeline,
        "timeline_total": timeline_total,
        "shared_with": investigation_shares(investigation),
        "can": _capabilities(user, investigation),
    }
    merge_sections(context, (extend(request, investigation) for extend in _detail_extensions))
    return render(request, "investigations/detail.html", context)


LIST_KEYS = ("extra_sections", "flag_sections", "extra_facts")


def merge_sections(context: dict[str, Any], parts: Any) -> None:
    """Merge what other apps add to a page: lists under LIST_KEYS are joined, the rest set."""
    for part in parts:
        for key, value in part.items():
            if key in LIST_KEYS:
                context[key] = [*context.get(key, []), *value]
            else:
                context[key] = value


# Other apps add sections to the case page (victims, referrals, flags).
_detail_extensions: list[Callable[[HttpRequest, Investigation], dict[str, Any]]] = []


def register_detail_extension(
    extension: Callable[[HttpRequest, Investigation], dict[str, Any]],
) -> None:
    _detail_extensions.append(extension)


def _capabilities(user: Any, inv: Investigation) -> dict[str, bool]:
    return {
        "change": access.may_change(user, inv),
        "record_crime": access.may_record_crime(user, inv),
        "allocate": access.may_allocate(user, inv),
        "add_records": access.may_add_case_records(user, inv) and inv.status != Status.REPORTED,
        "add_enquiry": access.may_add_case_records(user, inv),
        "review": access.may_review(user, inv),
        "request_closure": access.may_request_closure(user, inv),
        "review_closure": access.may_decide_closure(user, inv),
        "reopen": access.may_reopen(user, inv),
        "share": access.may_share(user, inv),
        "offence_outcome": access.may_record_offence_outcome(user, inv),
        "consider_s45": access.may_consider_s45(user, inv),
    }


def _action_page(
    request: HttpRequest,
    investigation: Investigation,
    *,
    permission: str,
    form_class: type[forms.Form],
    perform: Callable[[Investigation, dict[str, Any]], Any],
    title: str,
    submit: str,
    success: str,
    initial: dict[str, Any] | None = None,
    form_kwargs: dict[str, Any] | None = None,
    template: str = "investigations/form.html",
    extra: dict[str, Any] | None = None,
    closed_ok: bool = False,
) -> HttpResponse:
    """The shape every case action page shares: a 403 for a role that may not act, the form,
    the action in its transaction, a clear message on a refusal (400) or a stale edit (409).
    A step a closed case does not allow (all but `closed_ok` ones) says so when its page is
    opened (409), not after the form is filled in; a POST gets the action's own refusal."""
    if not access.may_act(request.user, investigation, permission):
        raise PermissionDenied("Your role or unit does not allow this on this case.")
    detail_url = reverse("investigations:detail", args=[investigation.reference])
    if request.method == "GET" and investigation.status == Status.CLOSED and not closed_ok:
        return render(
            request,
            "investigations/closed.html",
            {"investigation": investigation, "title": title, "case_url": detail_url},
            status=409,
        )
    return action_form_page(
        request,
        consulted=lambda: actions.investigation_consulted(
            investigation, actor=request.user, what=title
        ),
        form_class=form_class,
        perform=lambda data: perform(investigation, data),
        success_url=detail_url,
        success_message=success,
        template=template,
        initial={"version": investigation.version, **(initial or {})},
        form_kwargs=form_kwargs,
        context={
            "investigation": investigation,
            "title": title,
            "submit": submit,
            "cancel_url": detail_url,
            **(extra or {}),
        },
    )


def _case(request: HttpRequest, reference: str) -> Investigation:
    return access.get_investigation_for_user(
        request.user,
        reference,
        queryset=Investigation.objects.select_related("unit", "force", "oic", "supervisor"),
    )


def investigation_edit(request: HttpRequest, reference: str) -> HttpResponse:
    inv = _case(request, reference)
    return _action_page(
        request,
        inv,
        permission="change_investigation",
        form_class=InvestigationEditForm,
        perform=lambda i, d: actions.investigation_update(
            i,
            actor=request.user,
            expected_version=d["version"],
            title=d["title"],
            summary=d["summary"],
            source=d["source"],
            location=d["location"],
            exploitation_types=d["exploitation_types"],
        ),
        title="Change the report details",
        submit="Save changes",
        success="Report details saved",
        initial={
            "title": inv.title,
            "summary": inv.summary,
            "source": inv.source,
            "location": inv.location,
            "exploitation_types": list(inv.exploitation.values_list("type", flat=True)),
        },
    )


def crime_decision(request: HttpRequest, reference: str) -> HttpResponse:
    inv = _case(request, reference)
    return _action_page(
        request,
        inv,
        permission="change_investigation",
        form_class=CrimeDecisionForm,
        perform=lambda i, d: actions.investigation_record_crime_decision(
            i,
            actor=request.user,
            expected_version=d["version"],
            decision=d["decision"],
            decided_at=d["decided_at"],
            crime_reference=d["crime_reference"],
            offence_type=d["offence_type"],
            not_recorded_reason=d["not_recorded_reason"],
        ),
        title="Record the crime recording decision",
        submit="Save the decision",
        success="Crime recording decision saved",
    )


def allocate(request: HttpRequest, reference: str) -> HttpResponse:
    inv = _case(request, reference)
    return _action_page(
        request,
        inv,
        permission="allocate_investigation",
        form_class=AllocateForm,
        form_kwargs={"investigation": inv},
        perform=lambda i, d: actions.investigation_allocate(
            i,
            actor=request.user,
            expected_version=d["version"],
            oic=d["oic"],
            supervisor=d["supervisor"],
        ),
        title="Allocate an officer in charge",
        submit="Allocate",
        success="Investigation allocated",
        initial={"oic": inv.oic_id, "supervisor": inv.supervisor_id or request.user.pk},
    )


def offence_new(request: HttpRequest, reference: str) -> HttpResponse:
    inv = _case(request, reference)
    return _action_page(
        request,
        inv,
        permission="add_offence",
        form_class=OffenceForm,
        form_kwargs={"investigation": inv},
        perform=lambda i, d: actions.offence_record(
            i,
            actor=request.user,
            crime_reference=d["crime_reference"],
            offence_type=d["offence_type"],
            recorded_at=d["recorded_at"],
            notes=d["notes"],
            victim=d["victim"],
        ),
        title="Record an offence",
        submit="Record the offence",
        success="Offence recorded",
    )


def offence_outcome(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    inv = _case(request, reference)
    offence = get_object_or_404(Offence, pk=pk, investigation=inv)
    return _action_page(
        request,
        inv,
        permission="change_offence",
        closed_ok=True,
        form_class=OffenceOutcomeForm,
        perform=lambda i, d: actions.offence_outcome_record(
            offence, actor=request.user, outcome=d["outcome"], expected_version=d["version"]
        ),
        title=f"Outcome of {offence}",
        submit="Save the outcome",
        success="Offence outcome recorded",
        initial={"outcome": offence.outcome},
    )


def enquiry_new(request: HttpRequest, reference: str) -> HttpResponse:
    inv = _case(request, reference)
    return _action_page(
        request,
        inv,
        permission="add_enquiry",
        form_class=EnquiryForm,
        form_kwargs={"investigation": inv},
        perform=lambda i, d: actions.enquiry_add(
            i,
            actor=request.user,
            description=d["description"],
            substantive=d["substantive"],
            owner=d["owner"],
            due_date=d["due_date"],
        ),
        title="Add an enquiry",
        submit="Add the enquiry",
        success="Enquiry added",
        initial={"owner": inv.oic_id or request.user.pk},
    )


def enquiry_complete(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    inv = _case(request, reference)
    enquiry = get_object_or_404(Enquiry, pk=pk, investigation=inv)
    return _action_page(
        request,
        inv,
        permission="change_enquiry",
        form_class=EnquiryCompleteForm,
        perform=lambda i, d: actions.enquiry_complete(
            enquiry, actor=request.user, completed_at=d["completed_at"], result=d["result"]
        ),
        title=f"Complete the enquiry: {enquiry.description}",
        submit="Mark as complete",
        success="Enquiry completed",
    )


def suspect_new(request: HttpRequest, reference: str) -> HttpResponse:
    inv = _case(request, reference)
    return _action_page(
        request,
        inv,
        permission="add_suspect",
        form_class=SuspectForm,
        perform=lambda i, d: actions.suspect_add(i, actor=request.user, **d),
        title="Add a suspect",
        submit="Add the suspect",
        success="Suspect added",
    )


def suspect_edit(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    inv = _case(request, reference)
    suspect = get_object_or_404(Suspect, pk=pk, investigation=inv)
    fields = list(SuspectForm.base_fields)
    return _action_page(
        request,
        inv,
        permission="change_suspect",
        form_class=SuspectEditForm,
        perform=lambda i, d: actions.suspect_update(
            suspect,
            actor=request.user,
            expected_version=d.pop("version"),
            **d,
        ),
        title=f"Update suspect: {suspect.name}",
        submit="Save changes",
        success="Suspect updated",
        initial={name: getattr(suspect, name) for name in fields},
    )


def review_new(request: HttpRequest, reference: str) -> HttpResponse:
    inv = _case(request, reference)
    return _action_page(
        request,
        inv,
        permission="add_supervisoryreview",
        form_class=SupervisoryReviewForm,
        perform=lambda i, d: actions.supervisory_review_add(
            i, actor=request.user, direction=d["direction"], next_review_due=d["next_review_due"]
        ),
        title="Record a supervisory review",
        submit="Save the review",
        success="Supervisory review recorded",
    )


def closure_request(request: HttpRequest, reference: str) -> HttpResponse:
    inv = _case(request, reference)
    return _action_page(
        request,
        inv,
        permission="request_closure",
        form_class=ClosureRequestForm,
        perform=lambda i, d: actions.closure_request(
            i,
            actor=request.user,
            expected_version=d["version"],
            proposed_outcome=d["proposed_outcome"],
            proposed_nfa_reason=d["proposed_nfa_reason"],
            rationale=d["rationale"],
        ),
        title="Request closure",
        submit="Send for supervisor review",
        success="Closure requested: a supervisor will review it",
    )


def closure_review(request: HttpRequest, reference: str) -> HttpResponse:
    inv = access.get_investigation_for_user(
        request.user, reference, queryset=Investigation.objects.with_detail(timeline=False)
    )
    pending = next(
        (r for r in inv.closure_reviews.all() if r.decision == ClosureDecision.PENDING), None
    )
    if access.may_review_closure(request.user, inv) and not access.may_decide_closure(
        request.user, inv
    ):  # said before the form is filled in, not after
        raise PermissionDenied("You requested this closure: another supervisor must review it.")
    enquiries = list(inv.enquiries.all())

    def perform(i: Investigation, d: dict[str, Any]) -> Any:
        decide = actions.closure_approve if d["decision"] == "approve" else actions.closure_reject
        return decide(
            i, actor=request.user, expected_version=d["version"], rationale=d["rationale"]
        )

    facts = {
        "pending": pending,
        "offences": list(inv.offences.all()),
        "enquiries": enquiries,
        "completed_enquiries": [e for e in enquiries if e.is_complete],
        "substantive_done": [e for e in enquiries if e.is_complete and e.substantive],
        "suspects": list(inv.suspects.all()),
        "reviews": list(inv.supervisory_reviews.all()),
    }
    merge_sections(facts, (extend(inv) for extend in _closure_fact_extensions))
    return _action_page(
        request,
        inv,
        permission="review_closure",
        form_class=ClosureDecisionForm,
        perform=perform,
        title="Review the closure request",
        submit="Record the decision",
        success="Closure decision recorded",
        template="investigations/closure_review.html",
        extra=facts,
    )


_closure_fact_extensions: list[Callable[[Investigation], dict[str, Any]]] = []


def register_closure_fact_extension(extension: Callable[[Investigation], dict[str, Any]]) -> None:
    _closure_fact_extensions.append(extension)


def reopen(request: HttpRequest, reference: str) -> HttpResponse:
    inv = _case(request, reference)
    return _action_page(
        request,
        inv,
        permission="reopen_investigation",
        closed_ok=True,
        form_class=ReopenForm,
        perform=lambda i, d: actions.investigation_reopen(
            i, actor=request.user, expected_version=d["version"], reason=d["reason"]
        ),
        title="Reopen the investigation",
        submit="Reopen",
        success="Investigation reopened",
    )


@step_up
def share(request: HttpRequest, reference: str) -> HttpResponse:
    inv = _case(request, reference)
    return _action_page(
        request,
        inv,
        permission="share_investigation",
        closed_ok=True,
        form_class=ShareForm,
        form_kwargs={"investigation": inv},
        perform=lambda i, d: actions.investigation_share(
            i, actor=request.user, reason=d["reason"], **d["share_with"]
        ),
        title="Share with another unit or force",
        submit="Share the investigation",
        success="Investigation shared",
    )
