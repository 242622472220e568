"""The figures as tables: what the pages show (a GOV.UK table, a chart where one helps) and what
the CSV download gives. Each builder takes figures already counted in SQL by querysets.py and
only labels and arranges them (a handful of groups, never case rows)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils.safestring import SafeString

from investigations.models import (
    MODERN_SLAVERY_OFFENCES,
    ExploitationType,
    OffenceType,
    Outcome,
    Status,
)
from referrals.models import NonCrimeReason
from slaverycases.dashboards import charts
from slaverycases.dashboards import querysets as q
from slaverycases.flags.models import FlagKind

NOT_APPLICABLE = "Not applicable"
CHARGE_RATE_TEXT = (
    "The charge rate is the number of investigations closed in the period with the outcome "
    '"charged or summonsed", divided by the number of investigations closed in the period '
    "(whatever their outcome). For comparison, the inspection of April 2015 to March 2017 found "
    "25 successful prosecutions from 1,265 recorded modern slavery offences: 1.9%."
)


@dataclass
class Table:
    name: str  # the CSV key: ?format=csv&table=<name>
    caption: str
    columns: list[str]
    rows: list[list[Any]]
    numeric: Sequence[int] = (1,)  # columns holding numbers (right-aligned)
    total: list[Any] | None = None
    chart: SafeString | None = None
    empty: str = "None in this period."
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def csv_rows(self) -> list[list[Any]]:
        return [*self.rows, *([self.total] if self.total else [])]

    @property
    def cells(self) -> list[list[tuple[Any, bool]]]:
        """Rows for the template: (value, is_numeric) per cell."""
        return [[(v, i in self.numeric) for i, v in enumerate(row)] for row in self.rows]

    @property
    def total_cells(self) -> list[tuple[Any, bool]]:
        return [(v, i in self.numeric) for i, v in enumerate(self.total or [])]


def percent(part: int, whole: int) -> str:
    """'33.3%', '1.9%', '100%'; 'Not applicable' when there is nothing to divide by."""
    if not whole:
        return NOT_APPLICABLE
    text = f"{100 * part / whole:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def ratio(part: int, whole: int) -> str:
    return f"{part / whole:.2f}" if whole else NOT_APPLICABLE


def describe_duration(value: timedelta | None) -> str:
    """A median time for people: '14 hours', '6.5 days'."""
    if value is None:
        return NOT_APPLICABLE
    hours = value.total_seconds() / 3600
    if hours < 24:
        return f"{hours:.0f} hour{'s' if round(hours) != 1 else ''}"
    days = f"{hours / 24:.1f}".rstrip("0").rstrip(".")
    return f"{days} day{'s' if days != '1' else ''}"


def _chart(
    name: str, caption: str, bars: list[charts.Bar], legend: list[tuple[str, str]] | None = None
) -> SafeString | None:
    if not any(bar.value for bar in bars):
        return None  # nothing to draw: the table says "0"
    return charts.bar_chart(chart_id=f"chart-{name}", title=caption, bars=bars, legend=legend or ())


def _share_table(
    name: str,
    caption: str,
    heading: str,
    what: str,
    labelled: list[tuple[str, int]],
    *,
    colours: dict[str, str] | None = None,
    empty: str = "None in this period.",
) -> Table:
    """Groups with their counts and shares of the total, a total row and a chart."""
    whole = sum(n for _, n in labelled)
    rows = [[label, n, percent(n, whole)] for label, n in labelled]
    bars = [
        charts.Bar(
            label,
            n,
            f"{n} ({percent(n, whole)})" if whole else str(n),
            (colours or {}).get(label, charts.BLUE),
        )
        for label, n in labelled
    ]
    return Table(
        name=name,
        caption=caption,
        columns=[heading, what, "Share"],
        rows=rows,
        numeric=(1, 2),
        total=["Total", whole, percent(whole, whole)] if whole else ["Total", 0, NOT_APPLICABLE],
        chart=_chart(name, caption, bars),
        empty=empty,
    )


# --- force statistics -------------------------------------------------------------------


def crimes_table(crimes: dict[str, int]) -> Table:
    labels = dict(OffenceType.choices)
    return _share_table(
        "crimes",
        "Modern slavery crimes recorded, by offence",
        "Offence",
        "Crimes recorded",
        [(labels[t], crimes.get(t, 0)) for t in MODERN_SLAVERY_OFFENCES],
    )


def nrm_table(referrals: dict[str, int]) -> Table:
    labelled = [("Linked to a recorded crime", referrals.get("crime", 0))]
    labelled += [(label, referrals.get(code, 0)) for code, label in NonCrimeReason.choices]
    labelled.append(("Neither a crime nor a non-crime code recorded yet", referrals.get("", 0)))
    return _share_table(
        "nrm", "NRM referrals, by link to a crime", "Link to a crime", "Referrals", labelled
    )


def time_to_start_table(buckets: dict[str, int]) -> Table:
    labelled = [(label, buckets.get(key, 0)) for key, label, _ in q.START_BUCKETS]
    labelled.append((q.NOT_STARTED[1], buckets.get(q.NOT_STARTED[0], 0)))
    return _share_table(
        "time_to_start",
        "Time from report to first substantive action",
        "Time taken",
        "Investigations",
        labelled,
        colours={q.NOT_STARTED[1]: charts.GREY},
        empty="No investigations reported in this period.",
    )


def closures_table(
    by_outcome: dict[str, int],
    *,
    name: str = "closures",
    caption: str = "Investigations closed, by outcome",
) -> Table:
    """`name` is the table's and its chart's id: two on one page need two names."""
    return _share_table(
        name,
        caption,
        "Outcome",
        "Closures",
        [(label, by_outcome.get(code, 0)) for code, label in Outcome.choices],
    )


def exploitation_table(by_type: dict[str, int]) -> Table:
    labelled = [(label, by_type.get(code, 0)) for code, label in ExploitationType.choices]
    bars = [charts.Bar(label, n) for label, n in labelled]
    caption = "Types of exploitation in the investigations reported"
    return Table(
        name="exploitation",
        caption=caption,
        columns=["Type of exploitation", "Investigations"],
        rows=[[label, n] for label, n in labelled],
        chart=_chart("exploitation", caption, bars),
    )


def nationalities_table(rows: list[dict[str, Any]]) -> Table:
    labelled = [(row["label"] or "Not known", row["n"]) for row in rows]
    caption = "Nationalities of the victims identified"
    return Table(
        name="nationalities",
        caption=caption,
        columns=["Nationality", "Victims"],
        rows=[[label, n] for label, n in labelled],
        total=["Total", sum(n for _, n in labelled)],
        chart=_chart("nationalities", caption, [charts.Bar(lbl, n) for lbl, n in labelled]),
        empty="No victims identified in this period.",
    )


@dataclass
class Statistics:
    """Every figure of the statistics page for one period, scope and moment."""

    period: q.Period
    crimes: dict[str, int]
    referrals: dict[str, int]
    start_buckets: dict[str, int]
    median_to_start: timedelta | None
    closures: dict[str, int]
    premature: dict[str, int]
    contact: dict[str, int]
    exploitation: dict[str, int]
    nationalities: list[dict[str, Any]]

    @property
    def crimes_total(self) -> int:
        return sum(self.crimes.values())

    @property
    def referrals_total(self) -> int:
        return sum(self.referrals.values())

    @property
    def referrals_linked(self) -> int:
        return self.referrals.get("crime", 0)

    @property
    def referrals_linked_share(self) -> str:
        return percent(self.referrals_linked, self.referrals_total)

    @property
    def median_text(self) -> str:
        return describe_duration(self.median_to_start)

    @property
    def premature_per_closure(self) -> str:
        return ratio(self.premature["flags"], self.closures_total)

    @property
    def closures_total(self) -> int:
        return sum(self.closures.values())

    @property
    def charged(self) -> int:
        return self.closures.get(Outcome.CHARGED, 0)

    @property
    def charge_rate(self) -> str:
        return percent(self.charged, self.closures_total)

    @property
    def started(self) -> int:
        return sum(n for k, n in self.start_buckets.items() if k != q.NOT_STARTED[0])

    def summary_rows(self) -> list[list[Any]]:
        p, c = self.premature, self.contact
        return [
            ["Modern slavery crimes recorded", self.crimes_total],
            ["NRM referrals submitted", self.referrals_total],
            [
                "NRM referrals linked to a recorded crime",
                f"{self.referrals_linked} ({self.referrals_linked_share})"
                if self.referrals_total
                else 0,
            ],
            ["Median time from report to first substantive action", self.median_text],
            ["Investigations closed", self.closures_total],
            ["Charge rate", f"{self.charge_rate} ({self.charged} of {self.closures_total})"],
            [
                "Premature-closure flags per closure",
                f"{self.premature_per_closure} ({p['flags']} flag"
                f"{'s' if p['flags'] != 1 else ''}; {p['closures']} of {self.closures_total} "
                "closures flagged)",
            ],
            [
                "Victims without contact for longer than their plan allows",
                f"{c['overdue']} of {c['with_plan']} with a safeguarding plan",
            ],
        ]

    def tables(self) -> dict[str, Table]:
        summary = Table(
            name="summary",
            caption="Key figures",
            columns=["Measure", "Figure"],
            rows=self.summary_rows(),
        )
        tables = [
            summary,
            crimes_table(self.crimes),
            nrm_table(self.referrals),
            time_to_start_table(self.start_buckets),
            closures_table(self.closures),
            exploitation_table(self.exploitation),
            nationalities_table(self.nationalities),
        ]
        return {t.name: t for t in tables}


def compute_statistics(cases: Any, period: q.Period, now: datetime) -> Statistics:
    """Every figure of the statistics page: a fixed number of aggregate queries."""
    buckets, median = q.time_to_start(cases, period)
    return Statistics(
        period=period,
        crimes=q.crimes_recorded(cases, period),
        referrals=q.nrm_referrals(cases, period),
        start_buckets=buckets,
        median_to_start=median,
        closures=q.closures(cases, period),
        premature=q.premature_closure_flags(cases, period),
        contact=q.victims_contact_overdue(cases, min(now, period.end_at)),
        exploitation=q.exploitation_types(cases, period),
        nationalities=q.nationalities(cases, period),
    )


# --- dashboards -------------------------------------------------------------------------


def flags_by_kind_table(
    rows: list[dict[str, Any]],
    *,
    name: str = "flags",
    caption: str = "Open flags, by kind and age",
) -> Table:
    """`name` is the table's and its chart's id: two on one page need two names."""
    labels = dict(FlagKind.choices)
    data = [
        [labels.get(r["kind"], r["kind"]), r["total"], r["high"]]
        + [r[key] for key, _ in q.FLAG_AGES]
        for r in rows
    ]
    total = ["Total", *(sum(row[i] for row in data) for i in range(1, 6))]
    colours = [charts.BLUE, charts.PURPLE, charts.RED]
    bars = [
        charts.Bar(row[0], row[1], parts=tuple(zip(row[3:6], colours, strict=True))) for row in data
    ]
    legend = [(label, colour) for (_, label), colour in zip(q.FLAG_AGES, colours, strict=True)]
    return Table(
        name=name,
        caption=caption,
        columns=["Flag", "Open", "High severity", *(label for _, label in q.FLAG_AGES)],
        rows=data,
        numeric=(1, 2, 3, 4, 5),
        total=total if data else None,
        chart=_chart(name, caption, bars, legend),
        empty="No open flags.",
    )


def caseload_table(rows: list[dict[str, Any]]) -> Table:
    def name(r: dict[str, Any]) -> str:
        if r["oic_id"] is None:
            return "Not allocated"
        full = f"{r['oic__first_name']} {r['oic__last_name']}".strip()
        return full or r["oic__username"]

    data = [[name(r), r["open"], r["not_started"], r["closure_requested"]] for r in rows]
    caption = "Open investigations per officer in charge"
    bars = [
        charts.Bar(row[0], row[1], colour=charts.GREY if row[0] == "Not allocated" else charts.BLUE)
        for row in data
    ]
    return Table(
        name="caseload",
        caption=caption,
        columns=["Officer in charge", "Open investigations", "Not started", "Closure requested"],
        rows=data,
        numeric=(1, 2, 3),
        total=["Total", *(sum(row[i] for row in data) for i in range(1, 4))] if data else None,
        chart=_chart("caseload", caption, bars),
        empty="No open investigations.",
    )


def status_table(by_status: dict[str, int]) -> Table:
    labelled = [(label, by_status.get(code, 0)) for code, label in Status.choices]
    table = _share_table(
        "status",
        "Investigations by status",
        "Status",
        "Investigations",
        labelled,
        empty="No investigations.",
    )
    return table
