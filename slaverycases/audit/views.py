from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from slaverycases.audit.access import may_read_audit_log
from slaverycases.audit.forms import AuditFilterForm
from slaverycases.audit.querysets import audit_events_filtered

PAGE_SIZE = 50


def audit_list(request: HttpRequest) -> HttpResponse:
    if not may_read_audit_log(request.user):
        raise PermissionDenied("Only auditors can read the audit log.")
    form = AuditFilterForm(request.GET or None)
    events = audit_events_filtered()
    if form.is_bound and form.is_valid():
        events = audit_events_filtered(**form.cleaned_data)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
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
