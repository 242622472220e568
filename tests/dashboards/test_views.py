"""slaverycases/dashboards/views.py: each role's dashboard, who may open the statistics page,
the period form, a query count that does not grow with the data, and the audited CSV export
with its formula cells neutralised."""

from __future__ import annotations

import csv
import io
import itertools
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from investigations import actions as case_actions
from investigations.models import OffenceType
from safeguarding import actions as safeguarding_actions
from slaverycases.accounts import roles
from slaverycases.accounts.models import Force, Unit
from slaverycases.audit.models import AuditAction, AuditEvent
from slaverycases.flags import actions as flag_actions
from tests import factories
from victims import actions as victim_actions

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 15, 11, 0, tzinfo=UTC)  # midday in London
_refs = itertools.count(1)
REFERENCE = re.compile(r"[A-Z]{2,10}-\d{4}-\d{6}")


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def add_victim(inv: Any, officer: Any, name: str, nationality: str = "Albanian") -> Any:
    (involvement,) = victim_actions.victims_add_to_investigation(
        inv,
        actor=officer,
        people=[
            {
                "name": name,
                "crime_reference": f"CR/D{next(_refs):05d}",
                "nationality": nationality,
                "date_of_birth": date(1992, 5, 1),
            }
        ],
        identified_at=timezone.now() - timedelta(hours=1),
        offence_type=OffenceType.MSA_S1,
    )
    return involvement.victim


def populate(people: dict[str, Any], n: int) -> dict[str, list[Any]]:
    """`n` of everything each GMP dashboard panel lists, through the actions; then a flag
    scan."""
    officer, supervisor = people["officer.gmp"], people["supervisor.gmp"]
    lead = people["safeguarding.gmp"]
    nca = Force.objects.get(code="NCA")
    made: dict[str, list[Any]] = {"allocated": [], "requested": [], "closed": [], "victims": []}
    for i in range(n):
        inv = factories.investigation(
            officer,
            stage="allocated",
            supervisor=supervisor,
            days_ago=40 + i,
            title=f"Car wash, Salford {i}",
            types=("labour", "criminal"),
        )
        case_actions.enquiry_add(
            inv,
            actor=officer,
            description=f"Trace the owner {i}",
            substantive=True,
            owner=officer,
            due_date=timezone.localdate() - timedelta(days=1 + i),
        )
        made["allocated"].append(inv)
        made["requested"].append(
            factories.investigation(
                officer,
                stage="closure_requested",
                supervisor=supervisor,
                days_ago=30,
                title=f"Nail bar, Oldham {i}",
            )
        )
        closed = factories.investigation(
            officer, stage="under_investigation", supervisor=supervisor, days_ago=60
        )
        # In an open case: the victims of closed cases leave the board (safeguarding.querysets).
        victim = add_victim(inv, officer, f"Besnik Krasniqi {i}")
        safeguarding_actions.plan_save(
            victim,
            actor=lead,
            expected_version=None,
            lead=lead,
            risk_level="high",
            risks=["retrafficking"],
            measures=[],
            contact_every_days=7,
            review_date=timezone.localdate() + timedelta(days=30),
        )
        safeguarding_actions.contact_record(
            victim,
            actor=lead,
            at=timezone.now() - timedelta(days=10),
            method="phone",
            made=True,
            interpreter_used=False,
            notes="",
            next_contact_due=timezone.localdate() - timedelta(days=3),
        )
        moved = add_victim(inv, officer, f"Vesa Morina {i}")
        safeguarding_actions.relocation_record(
            moved,
            actor=lead,
            relocated_on=timezone.localdate() - timedelta(days=5),
            destination_type="force_area",
            to_force=nca,
            safe_house_location="",
            receiving_contact="DS Hill",
            first_contact_within_days=2,
        )
        closed.refresh_from_db()
        case_actions.closure_request(
            closed,
            actor=officer,
            expected_version=closed.version,
            proposed_outcome="charged",
            proposed_nfa_reason="",
            rationale="Charged.",
        )
        closed.refresh_from_db()
        case_actions.closure_approve(
            closed, actor=supervisor, expected_version=closed.version, rationale="Agreed."
        )
        made["closed"].append(closed)
        made["victims"].append(victim)
    flag_actions.scan(force=officer.force, now=timezone.now())
    return made


def page(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def csv_rows(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


# --- each role's dashboard ----------------------------------------------------------------


def test_an_officer_sees_their_cases_tasks_and_flags(client, clock, people):
    made = populate(people, 2)
    client.force_login(people["officer.gmp"])
    html = page(client.get("/dashboard/"))
    assert 'id="officer-panels"' in html
    assert 'id="supervisor-panels"' not in html and 'id="force-panels"' not in html
    cases = html[html.index('id="officer-cases"') : html.index('id="tasks-due"')]
    for inv in made["allocated"] + made["requested"]:
        assert inv.reference in cases
    for inv in made["closed"]:
        assert inv.reference not in cases  # closed: not the officer's open work
    assert "4 open investigations where you are the officer in charge" in cases
    tasks = html[html.index('id="officer-tasks"') : html.index('id="your-flags"')]
    assert "2 open enquiries for you, 2 overdue" in tasks  # the factory's own are done
    assert tasks.index("Trace the owner 1") < tasks.index("Trace the owner 0")  # due first
    assert "Overdue" in tasks
    flags = html[html.index('id="officer-flags"') :]
    assert "Delayed start" in flags or "Supervision overdue" in flags


def test_a_supervisor_sees_their_units_flags_closures_reviews_and_caseload(client, clock, people):
    made = populate(people, 2)
    client.force_login(people["supervisor.gmp"])
    html = page(client.get("/dashboard/"))
    assert 'id="supervisor-panels"' in html and 'id="officer-panels"' not in html
    assert 'id="table-flags"' in html and 'id="chart-flags"' in html
    assert 'role="img"' in html
    closures = html[html.index('id="supervisor-closures"') : html.index('id="without-review"')]
    assert "2 closure requests awaiting" in closures
    for inv in made["requested"]:
        assert f"Review the closure of {inv.reference}" in closures
    unreviewed = html[html.index('id="supervisor-unreviewed"') : html.index('id="caseload"')]
    assert "4 open investigations" in unreviewed  # allocated and closure requested
    assert "Never" in unreviewed
    caseload = html[html.index('id="table-caseload"') :]
    assert re.search(r"Priya Shah</th>\s*<td[^>]*>4</td>", caseload)


def test_a_reviewed_case_leaves_the_without_review_list(client, clock, people):
    made = populate(people, 1)
    supervisor = people["supervisor.gmp"]
    inv = made["allocated"][0]
    case_actions.supervisory_review_add(
        inv, actor=supervisor, direction="Trace the owner first.", next_review_due=None
    )
    client.force_login(supervisor)
    html = page(client.get("/dashboard/"))
    unreviewed = html[html.index('id="supervisor-unreviewed"') : html.index('id="caseload"')]
    assert inv.reference not in unreviewed
    assert made["requested"][0].reference in unreviewed


def test_a_safeguarding_lead_sees_overdue_contacts_and_relocations(client, clock, people):
    made = populate(people, 2)
    client.force_login(people["safeguarding.gmp"])
    html = page(client.get("/dashboard/"))
    assert 'id="safeguarding-panels"' in html and 'id="officer-panels"' not in html
    overdue = html[html.index('id="safeguarding-overdue"') : html.index('id="relocations"')]
    for victim in made["victims"]:
        assert victim.name in overdue
    assert "2 victims whose next contact was due before today" in overdue
    relocations = html[html.index('id="safeguarding-relocations"') :]
    assert "Vesa Morina 0" in relocations and "National Crime Agency" in relocations
    assert "12 Jun 2026" in relocations  # moved 10 June, first contact within 2 days


def test_the_force_lead_sees_force_wide_numbers_and_no_case(client, clock, people):
    made = populate(people, 2)
    client.force_login(people["admin"])
    html = page(client.get("/dashboard/"))
    assert 'id="force-panels"' in html
    assert 'id="officer-panels"' not in html and 'id="supervisor-panels"' not in html
    assert "Greater Manchester Police: force-wide figures" in html
    summary = html[html.index('id="force-summary"') :]
    assert re.search(r"Investigations closed</dt>\s*<dd[^>]*>2</dd>", summary)
    assert re.search(r"Charge rate</dt>\s*<dd[^>]*>100% \(2 of 2\)</dd>", summary)
    status = html[html.index('id="table-status"') :]
    assert re.search(r"Allocated</th>\s*<td[^>]*>2</td>", status)
    # No case row: no reference, title, victim or officer anywhere on the page.
    assert not REFERENCE.search(html)
    for text in ("Car wash", "Nail bar", "Besnik", "Vesa", "Priya Shah", "Trace the owner"):
        assert text not in html
    assert made["closed"]


def test_a_supervisor_who_is_also_force_lead_gets_no_duplicate_ids(client, clock, people):
    """Both panels draw a flags chart and a closures table: each keeps its own id."""
    populate(people, 2)
    lead = people["supervisor.gmp"]
    lead.groups.add(Group.objects.get(name=roles.FORCE_ADMIN))
    client.force_login(lead)
    html = page(client.get("/dashboard/"))
    assert 'id="supervisor-panels"' in html and 'id="force-panels"' in html
    ids = re.findall(r'\sid="([^"]+)"', html)
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    assert repeated == []
    assert 'id="chart-flags"' in html and 'id="chart-force_flags"' in html


def test_the_auditor_has_a_dashboard_without_figures(client, people):
    client.force_login(people["auditor"])
    html = page(client.get("/dashboard/"))
    assert 'id="no-panels"' in html and "/audit/" in html


def test_anonymous_users_are_sent_to_sign_in(client, db):
    for url in ("/dashboard/", "/statistics/", "/statistics/?format=csv&table=summary"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/account/sign-in/?next={quote(url)}"


def test_an_officer_of_another_force_sees_no_gmp_case_or_figure(client, clock, people):
    populate(people, 2)
    wyp_case = factories.investigation(
        people["officer.wyp"], stage="allocated", supervisor=people["supervisor.wyp"], days_ago=9
    )
    client.force_login(people["officer.wyp"])
    html = page(client.get("/dashboard/"))
    assert set(REFERENCE.findall(html)) == {wyp_case.reference}
    assert "1 open investigation where you are the officer in charge" in html
    assert "Car wash" not in html and "Besnik" not in html

    client.force_login(people["supervisor.wyp"])
    html = page(client.get("/statistics/"))
    assert re.search(r"Investigations closed</dt>\s*<dd[^>]*>0</dd>", html)
    assert re.search(r"Modern slavery crimes recorded</dt>\s*<dd[^>]*>1</dd>", html)
    assert "Albanian" not in html
    html = page(client.get("/dashboard/"))
    assert "GMP-" not in html


# --- the statistics page ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "status"),
    [
        ("officer.gmp", 403),
        ("supervisor.gmp", 200),
        ("safeguarding.gmp", 200),
        ("admin", 200),
        ("auditor", 403),
        ("officer.wyp", 403),
    ],
)
def test_who_may_open_the_statistics(client, people, username, status):
    client.force_login(people[username])
    assert client.get("/statistics/").status_code == status
    assert client.get("/statistics/?format=csv&table=summary").status_code == status


def test_the_navigation_offers_dashboard_and_statistics_by_role(client, people):
    for username, statistics in [
        ("officer.gmp", False),
        ("supervisor.gmp", True),
        ("safeguarding.gmp", True),
        ("admin", True),
        ("auditor", False),
    ]:
        client.force_login(people[username])
        html = page(client.get("/"))
        nav = html[html.index('id="navigation"') : html.index("</nav>")]
        assert 'href="/dashboard/"' in nav, username
        assert ('href="/statistics/"' in nav) is statistics, username


def test_the_statistics_default_to_the_last_12_months(client, clock, people):
    populate(people, 1)
    client.force_login(people["supervisor.gmp"])
    html = page(client.get("/statistics/"))
    assert "16 June 2025 to 15 June 2026" in html
    assert 'name="date_from_day" type="text" inputmode="numeric" value="16"' in html
    assert re.search(r"Investigations closed</dt>\s*<dd[^>]*>1</dd>", html)
    assert html.count('role="img"') >= 4
    assert 'style="' not in html[html.index("<main") :]  # the CSP forbids inline styles


def test_a_chosen_period_and_unit(client, clock, people):
    populate(people, 1)
    supervisor = people["supervisor.gmp"]
    client.force_login(supervisor)
    query = {
        "date_from_day": "1",
        "date_from_month": "6",
        "date_from_year": "2026",
        "date_to_day": "15",
        "date_to_month": "6",
        "date_to_year": "2026",
        "unit": str(supervisor.unit_id),
    }
    html = page(client.get("/statistics/", query))
    assert "1 June 2026 to 15 June 2026" in html
    assert "GMP Modern Slavery Unit" in html
    query["date_from_month"] = "1"
    query["date_to_month"] = "1"
    html = page(client.get("/statistics/", query))
    assert re.search(r"Investigations closed</dt>\s*<dd[^>]*>0</dd>", html)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"date_from_month": ""}, "Start date must include a month"),
        ({"date_to_day": "31", "date_to_month": "2"}, "End date must be a real date"),
        ({"date_to_year": "2027"}, "End date must be today or in the past"),
        (
            {"date_from_year": "2026", "date_to_year": "2025"},
            "End date must be the same as or after the start date",
        ),
    ],
)
def test_a_wrong_period_is_explained(client, clock, people, change, message):
    client.force_login(people["supervisor.gmp"])
    query = {
        "date_from_day": "1",
        "date_from_month": "4",
        "date_from_year": "2025",
        "date_to_day": "31",
        "date_to_month": "3",
        "date_to_year": "2026",
        **change,
    }
    response = client.get("/statistics/", query)
    assert response.status_code == 400
    html = response.content.decode()
    assert "govuk-error-summary" in html and message in html
    assert "<title>Error: Force statistics" in html
    assert 'id="key-figures"' not in html


def test_a_unit_of_another_force_is_refused(client, people):
    client.force_login(people["supervisor.gmp"])
    wyp_unit = Unit.objects.get(force__code="WYP")
    response = client.get("/statistics/", {"unit": str(wyp_unit.pk)})
    assert response.status_code == 400
    assert "Select a valid option for unit" in response.content.decode()


def test_the_force_lead_sees_statistics_but_no_case(client, clock, people):
    populate(people, 2)
    client.force_login(people["admin"])
    html = page(client.get("/statistics/"))
    assert "Figures for every investigation of Greater Manchester Police" in html
    assert re.search(r"Investigations closed</dt>\s*<dd[^>]*>2</dd>", html)
    assert not REFERENCE.search(html)
    assert "Besnik" not in html and "Car wash" not in html


# --- a fixed number of queries ------------------------------------------------------------


def _count(client: Any, url: str) -> int:
    client.get(url)  # warm-up: caches (content types, permissions) fill on the first request
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize(
    ("username", "url"),
    [
        ("officer.gmp", "/dashboard/"),
        ("supervisor.gmp", "/dashboard/"),
        ("safeguarding.gmp", "/dashboard/"),
        ("admin", "/dashboard/"),
        ("supervisor.gmp", "/statistics/"),
        ("admin", "/statistics/"),
    ],
)
def test_the_query_count_does_not_grow_with_the_data(
    client, clock, people, django_assert_num_queries, username, url
):
    populate(people, 1)
    client.force_login(people[username])
    small = _count(client, url)

    populate(people, 20)  # more than a dashboard list shows
    client.force_login(people[username])
    client.get(url)
    with django_assert_num_queries(small):
        response = client.get(url)
    assert response.status_code == 200


# --- CSV ----------------------------------------------------------------------------------


def test_every_statistics_table_downloads_as_csv(client, clock, people):
    populate(people, 2)
    client.force_login(people["supervisor.gmp"])
    html = page(client.get("/statistics/"))
    names = re.findall(r"format=csv&amp;table=(\w+)", html)
    assert set(names) == {
        "summary",
        "crimes",
        "nrm",
        "time_to_start",
        "closures",
        "exploitation",
        "nationalities",
    }
    for name in names:
        response = client.get(f"/statistics/?format=csv&table={name}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert "attachment" in response["Content-Disposition"]
        assert csv_rows(response)
    rows = csv_rows(client.get("/statistics/?format=csv&table=closures"))
    assert rows[0] == ["Outcome", "Closures", "Share"]
    assert rows[1] == ["Charged or summonsed", "2", "100%"]
    assert rows[-1] == ["Total", "2", "100%"]


def test_the_csv_export_is_audited_with_its_table_and_period(client, clock, people):
    populate(people, 1)
    supervisor = people["supervisor.gmp"]
    client.force_login(supervisor)
    query = (
        "date_from_day=1&date_from_month=6&date_from_year=2026"
        "&date_to_day=15&date_to_month=6&date_to_year=2026"
    )
    html = page(client.get(f"/statistics/?{query}"))
    assert "?" + query.replace("&", "&amp;") + "&amp;format=csv&amp;table=closures" in html
    before = AuditEvent.objects.filter(action=AuditAction.EXPORT).count()
    response = client.get(f"/statistics/?{query}&format=csv&table=closures")
    assert response.status_code == 200
    assert (
        'filename="statistics-closures-2026-06-01_2026-06-15.csv"'
        in (response["Content-Disposition"])
    )
    events = AuditEvent.objects.filter(action=AuditAction.EXPORT)
    assert events.count() == before + 1
    event = events.order_by("-at", "-id").first()
    assert event.actor == supervisor
    assert event.detail["table"] == "closures"
    assert event.detail["period"] == "2026-06-01_2026-06-15"
    assert event.detail["unit"] == "all units"
    # The page itself is not an export.
    page(client.get(f"/statistics/?{query}"))
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT).count() == before + 1


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(client, clock, people):
    officer, supervisor = people["officer.gmp"], people["supervisor.gmp"]
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=5)
    for i, nationality in enumerate(['=HYPERLINK("http://x.invalid")', "+44", "-1+1", "@SUM(A1)"]):
        add_victim(inv, officer, f"Person {i}", nationality=nationality)
    client.force_login(supervisor)
    rows = csv_rows(client.get("/statistics/?format=csv&table=nationalities"))
    labels = {row[0] for row in rows[1:-1]}
    assert labels == {'\'=HYPERLINK("http://x.invalid")', "'+44", "'-1+1", "'@SUM(A1)"}
    # On the page they are plain (escaped) text.
    html = page(client.get("/statistics/"))
    assert "=HYPERLINK(&quot;http://x.invalid&quot;)" in html


def test_dashboard_tables_download_as_csv_and_unknown_tables_are_404(client, clock, people):
    populate(people, 1)
    client.force_login(people["supervisor.gmp"])
    rows = csv_rows(client.get("/dashboard/?format=csv&table=caseload"))
    assert rows[0] == [
        "Officer in charge",
        "Open investigations",
        "Not started",
        "Closure requested",
    ]
    assert rows[1][0] == "Priya Shah"
    event = AuditEvent.objects.filter(action=AuditAction.EXPORT).order_by("-id").first()
    assert event.detail["table"] == "caseload" and event.detail["period"] == "as at 2026-06-15"
    assert client.get("/dashboard/?format=csv&table=nope").status_code == 404
    assert client.get("/statistics/?format=csv&table=nope").status_code == 404
    # An officer's dashboard has no figures tables to export.
    client.force_login(people["officer.gmp"])
    assert client.get("/dashboard/?format=csv&table=caseload").status_code == 404
