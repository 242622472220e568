"""The dashboard (one page, with a section per role) and the force statistics page.

Both pages run a fixed number of aggregate queries whatever the number of cases; both offer
every figures table as CSV (`?format=csv&table=<name>`), audited; neither shows a force lead
(force administrator) any case row.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from slaverycases.accounts import roles
from slaverycases.accounts.twofactor import step_up
from slaverycases.audit.actions import list_consulted
from slaverycases.dashboards import access
from slaverycases.dashboards import querysets as q
from slaverycases.dashboards.csv import table_csv
from slaverycases.dashboards.forms import StatisticsForm
from slaverycases.dashboards.tables import (
    CHARGE_RATE_TEXT,
    Table,
    caseload_table,
    closures_table,
    compute_statistics,
    flags_by_kind_table,
    status_table,
)


def _export(
    request: HttpRequest, tables: dict[str, Table], *, page: str, period: str, scope: dict
) -> HttpResponse:
    table = tables.get(request.GET.get("table", ""))
    if table is None:
        raise Http404("No such table")
    return step_up(lambda r: table_csv(r, table, page=page, period=period, scope=scope))(request)


def _query_without_export(request: HttpRequest) -> str:
    """The page's query string (the chosen period and unit) for the CSV links, ending in & or
    empty."""
    query = request.GET.copy()
    query.pop("format", None)
    query.pop("table", None)
    return (query.urlencode() + "&") if query else ""


# --- the dashboard ----------------------------------------------------------------------


def _officer_section(user: Any, today: Any) -> dict[str, Any]:
    cases = q.officer_cases(user)
    flags = q.officer_flags(user)
    return {
        "cases": list(cases[: q.LIST_SIZE]),
        "cases_count": cases.count(),
        "tasks": list(q.officer_tasks(user)[: q.LIST_SIZE]),
        "task_counts": q.officer_task_counts(user, today),
        "flags": list(flags[: q.LIST_SIZE]),
        "flags_count": flags.count(),
    }


def _supervisor_section(user: Any, now: Any) -> tuple[dict[str, Any], list[Table]]:
    cases = q.supervised_cases(user)
    days = q.supervision_days(user)
    closures = q.closures_awaiting_review(cases, reviewer=user)
    unreviewed = q.without_recent_review(cases, now, days)
    flags = flags_by_kind_table(q.supervisor_flags_by_kind(user, now))
    caseload = caseload_table(q.caseload(cases))
    section = {
        "closures": list(closures[: q.LIST_SIZE]),
        "closures_count": closures.count(),
        "unreviewed": list(unreviewed[: q.LIST_SIZE]),
        "unreviewed_count": unreviewed.count(),
        "supervision_days": days,
        "flags_table": flags,
        "caseload_table": caseload,
    }
    return section, [flags, caseload]


def _safeguarding_section(user: Any, today: Any) -> dict[str, Any]:
    overdue = q.overdue_contacts(user, today)
    relocations = q.relocations_without_contact(user)
    relocation_rows = list(relocations[: q.LIST_SIZE])
    for r in relocation_rows:  # at most LIST_SIZE rows on screen, not a statistic
        r.contact_due_by = r.relocated_on + timedelta(days=r.first_contact_within_days)
    return {
        "overdue": list(overdue[: q.LIST_SIZE]),
        "overdue_count": overdue.count(),
        "relocations": relocation_rows,
        "relocations_count": relocations.count(),
    }


def _force_section(user: Any, now: Any, today: Any) -> tuple[dict[str, Any], list[Table]]:
    cases = access.statistics_base(user)
    period = q.Period.last_12_months(today)
    stats = compute_statistics(cases, period, now)
    status = status_table(q.investigations_by_status(cases))
    flags = flags_by_kind_table(
        q.open_flags_by_kind(cases, now),
        name="force_flags",
        caption="Open flags across the force, by kind and age",
    )
    closures = closures_table(
        stats.closures,
        name="force_closures",
        caption=f"Investigations closed, by outcome: {period.label}",
    )
    summary = Table(
        name="force_summary",
        caption=f"Key figures: {period.label}",
        columns=["Measure", "Figure"],
        rows=stats.summary_rows(),
    )
    section = {
        "force": user.force,
        "period": period,
        "summary": summary,
        "status_table": status,
        "flags_table": flags,
        "closures_table": closures,
    }
    return section, [summary, status, flags, closures]


def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not access.may_view_dashboard(user):
        raise PermissionDenied("The dashboard is for users with a role.")
    now = timezone.now()
    today = timezone.localdate(now)
    panels = access.dashboard_panels(user)
    context: dict[str, Any] = {
        "panels": panels,
        "today": today,
        "is_auditor": user.has_role(roles.AUDITOR),
        "may_view_statistics": access.may_view_statistics(user),
    }
    tables: list[Table] = []
    if access.OFFICER_PANELS in panels:
        context["officer"] = _officer_section(user, today)
    if access.SUPERVISOR_PANELS in panels:
        context["supervisor"], more = _supervisor_section(user, now)
        tables += more
    if access.SAFEGUARDING_PANELS in panels:
        context["safeguarding"] = _safeguarding_section(user, today)
    if access.FORCE_PANELS in panels:
        context["force"], more = _force_section(user, now, today)
        tables += more
    if request.GET.get("format") == "csv":
        scope = {"force": getattr(user.force, "code", ""), "unit": user.unit_id or ""}
        period = f"as at {today:%Y-%m-%d}"
        return _export(
            request, {t.name: t for t in tables}, page="dashboard", period=period, scope=scope
        )
    list_consulted(actor=user, page="dashboard", shown=_shown(context))
    context["querystring"] = ""
    return render(request, "dashboards/dashboard.html", context)


def _shown(context: dict[str, Any]) -> list[str]:
    """The cases (by reference) and victims (by id) the dashboard's lists show, once each, for
    its consultation row. Read from rows already loaded: no query."""
    shown: list[str] = []
    officer = context.get("officer") or {}
    shown += [inv.reference for inv in officer.get("cases", [])]
    shown += [task.investigation.reference for task in officer.get("tasks", [])]
    shown += [flag.investigation.reference for flag in officer.get("flags", [])]
    supervisor = context.get("supervisor") or {}
    shown += [review.investigation.reference for review in supervisor.get("closures", [])]
    shown += [inv.reference for inv in supervisor.get("unreviewed", [])]
    safeguarding = context.get("safeguarding") or {}
    shown += [f"victim {victim.pk}" for victim in safeguarding.get("overdue", [])]
    shown += [f"victim {r.victim_id}" for r in safeguarding.get("relocations", [])]
    return list(dict.fromkeys(shown))


# --- the statistics page ----------------------------------------------------------------


def statistics(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not access.may_view_statistics(user):
        raise PermissionDenied(
            "Force statistics are for supervisors, safeguarding leads and force administrators."
        )
    form = StatisticsForm(request.GET or None, user=user)
    context: dict[str, Any] = {
        "form": form,
        "aggregate_only": not access.sees_case_rows(user),
        "force": user.force,
        "charge_rate_text": CHARGE_RATE_TEXT,
    }
    if form.is_bound and not form.is_valid():
        return render(request, "dashboards/statistics.html", context, status=400)
    period, unit = form.period, form.chosen_unit
    cases = access.statistics_base(user)
    if unit is not None:
        cases = cases.filter(unit_id=unit.pk)
    stats = compute_statistics(cases, period, timezone.now())
    tables = stats.tables()
    if request.GET.get("format") == "csv":
        scope = {"unit": unit.name if unit else "all units"}
        return _export(request, tables, page="statistics", period=period.slug, scope=scope)
    context.update(
        {
            "period": period,
            "unit": unit,
            "stats": stats,
            "tables": tables,
            "querystring": _query_without_export(request),
        }
    )
    return render(request, "dashboards/statistics.html", context)
