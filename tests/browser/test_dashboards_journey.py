"""Issue 10's journey: each role opens its dashboard, and a supervisor chooses a period on the
force statistics page and downloads a table; axe-core finds nothing on any page."""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from slaverycases.audit.models import AuditAction, AuditEvent
from tests.browser.helpers import assert_accessible, fill_date, sign_in, sign_out
from tests.dashboards.test_views import populate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROLES = [
    ("officer.gmp", "Priya Shah", "Your work"),
    ("supervisor.gmp", "Daniel Okafor", "Your units"),
    ("safeguarding.gmp", "Helen Brennan", "Safeguarding"),
    ("admin", "Sam Carter", "Greater Manchester Police: force-wide figures"),
]


def screenshot(page: Page, folder: Path, name: str, width: int = 1280) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_each_role_reads_its_dashboard(live_server, page: Page, people, midday, tmp_path):
    made = populate(people, 3)
    base = live_server.url
    for username, name, heading in ROLES:
        sign_in(page, base, username, name)
        page.get_by_role("link", name="Dashboard", exact=True).click()
        expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        assert_accessible(page)
        screenshot(page, tmp_path, f"dashboard-{username}")
        sign_out(page)

    sign_in(page, base, "supervisor.gmp", "Daniel Okafor")
    page.get_by_role("link", name="Dashboard", exact=True).click()
    closure = page.locator("#supervisor-closures")
    expect(closure).to_contain_text("3 closure requests awaiting")
    expect(page.get_by_role("img", name="Open flags, by kind and age (bar chart)")).to_be_visible()
    closure.get_by_role(
        "link", name=f"Review the closure of {made['requested'][0].reference}"
    ).click()
    expect(page.get_by_text(made["requested"][0].reference).first).to_be_visible()
    sign_out(page)


def test_a_supervisor_reads_the_force_statistics(live_server, page: Page, people, midday, tmp_path):
    populate(people, 3)
    base = live_server.url
    sign_in(page, base, "supervisor.gmp", "Daniel Okafor")
    page.get_by_role("link", name="Statistics").click()
    expect(page.get_by_role("heading", name="Force statistics")).to_be_visible()
    expect(page.locator("#period")).to_contain_text("16 June 2025 to 15 June 2026")
    assert_accessible(page)
    screenshot(page, tmp_path, "statistics-supervisor.gmp")
    screenshot(page, tmp_path, "statistics-supervisor.gmp-narrow", width=390)
    page.set_viewport_size({"width": 1280, "height": 900})

    # An end date before the start date is explained.
    fill_date(page, "Start date", "1", "6", "2026")
    fill_date(page, "End date", "1", "5", "2026")
    page.get_by_role("button", name="Show figures").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "End date must be the same as or after the start date"
    )
    assert_accessible(page)

    fill_date(page, "End date", "15", "6", "2026")
    page.get_by_label("Unit").select_option(label="GMP Modern Slavery Unit")
    page.get_by_role("button", name="Show figures").click()
    expect(page.locator("#period")).to_contain_text("1 June 2026 to 15 June 2026")
    expect(page.locator("#key-figures")).to_contain_text("100% (3 of 3)")
    charge = page.get_by_role("img", name="Investigations closed, by outcome (bar chart)")
    expect(charge).to_be_visible()
    table = page.locator("#table-closures")
    expect(table.get_by_role("row", name="Charged or summonsed 3 100%")).to_be_visible()
    assert_accessible(page)

    with page.expect_download() as download:
        page.locator("#figure-closures").get_by_role("link", name="Download as CSV").click()
    path = download.value.path()
    assert Path(path).read_text().splitlines()[1] == "Charged or summonsed,3,100%"
    assert download.value.suggested_filename == "statistics-closures-2026-06-01_2026-06-15.csv"
    event = AuditEvent.objects.filter(action=AuditAction.EXPORT).get()
    assert event.detail["table"] == "closures"
    assert event.detail["unit"] == "GMP Modern Slavery Unit"
