"""CSV download of a dashboard or statistics table, itself audited (DPA 2018 s62: disclosure
of figures out of the service). Cells a spreadsheet would run as a formula (starting with =, +,
- or @) are neutralised with a leading single quote (slaverycases.core.csvexport)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from slaverycases.audit.actions import audit_record
from slaverycases.audit.models import AuditAction
from slaverycases.core.csvexport import csv_response, safe_cell
from slaverycases.dashboards.tables import Table

__all__ = ["safe_cell", "table_csv"]


def table_csv(
    request: HttpRequest, table: Table, *, page: str, period: str, scope: dict[str, Any]
) -> HttpResponse:
    """The table as a CSV file; the export is recorded in the audit log first."""
    with transaction.atomic():
        audit_record(
            actor=request.user,
            action=AuditAction.EXPORT,
            detail={"what": f"{page} table", "table": table.name, "period": period, **scope},
        )
    filename = f"{page}-{table.name}-{period}.csv".replace("/", "-")
    return csv_response(filename, table.columns, table.csv_rows)
