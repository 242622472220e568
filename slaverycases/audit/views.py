from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from slaverycases.accounts.twofactor import step_up
from slaverycases.audit.access import may_read_audit_log
from slaverycases.audit.actions import audit_record, list_consulted
from slaverycases.audit.forms import AuditFilterForm
from slaverycases.audit.models import AuditAction
from slaverycases.audit.querysets import audit_events_filtered
from slaverycases.core.csvexport import csv_response
from slaverycases.core.paging import CountlessPage

PAGE_SIZE = 50


def audit_list(request: HttpRequest) -> HttpResponse:
    if not may_read_audit_log(request.user):
        raise PermissionDenied("Only auditors can read the audit log.")
    form = AuditFilterForm(request.GET or None)
    events = audit_events_filtered()
    if form.is_bound and form.is_valid():
        events = audit_events_filtered(**form.cleaned_data)
    if request.GET.get("format") == "csv" and not (form.is_bound and form.errors):
        return step_up(lambda r: _csv(r, events, form))(request)
    page = CountlessPage(events, request.GET.get("page"), PAGE_SIZE)
    # Reading the log is itself a consultation (its rows name cases and victims): the row is
    # written after this page's rows were read, so it shows on the next page view.
    list_consulted(
        actor=request.user,
        page="audit log",
        shown=dict.fromkeys(e.investigation_reference for e in page if e.investigation_reference),
        filters={
            **(form.cleaned_data if form.is_bound and form.is_valid() else {}),
            "page": page.number,
        },
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/list.html",
        {
            "form": form if form.is_bound else AuditFilterForm(),
            "page_obj": page,
            "querystring_base": (query.urlencode() + "&") if query else "",
        },
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


def _csv(request: HttpRequest, events, form: AuditFilterForm) -> HttpResponse:  # type: ignore[no-untyped-def]
    """The filtered log as CSV; the export is itself audited, in its own transaction."""
    filters = {k: str(v) for k, v in (form.cleaned_data if form.is_bound else {}).items() if v}
    with transaction.atomic():
        audit_record(
            actor=request.user,
            action=AuditAction.EXPORT,
            detail={"what": "audit log", "filters": filters},
        )
    rows = (
        (
            e.at.isoformat(),
            e.actor_username,
            e.ip_address or "",
            e.action,
            e.object_type,
            e.object_id,
            e.object_repr,
            e.investigation_reference,
            e.recipient,
            e.justification,
        )
        for e in events.iterator(chunk_size=2000)
    )
    return csv_response(
        "audit-log.csv",
        [
            "at",
            "username",
            "ip_address",
            "action",
            "object_type",
            "object_id",
            "object",
            "investigation",
            "recipient",
            "justification",
        ],
        rows,
    )
