"""Issue 3's journey: report, record, allocate, enquire, request closure, reject, approve."""

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.helpers import (
    assert_accessible,
    expect_banner,
    fill_date,
    sign_in,
    sign_out,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _case_url(page: Page) -> str:
    return page.url


def test_report_to_approved_closure(live_server, page: Page, people, midday):
    today = timezone.localdate()
    d, m, y = str(today.day), str(today.month), str(today.year)
    base = live_server.url

    # officer.gmp logs a report
    sign_in(page, base, "officer.gmp", "Priya Shah")
    page.get_by_role("link", name="Investigations", exact=True).first.click()
    expect(page.get_by_role("heading", name="Investigations")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Log a new report").click()
    expect(page.get_by_role("heading", name="Log a new report")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Log the report").click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    expect(page.get_by_role("link", name="Enter short title")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Short title").fill("Workers at a hand car wash")
    page.get_by_label("What was reported").fill("Men sleeping on site, paid nothing.")
    page.get_by_label("Member of the public").check()
    page.get_by_label("Labour exploitation").check()
    fill_date(page, "Date and time of the report", d, m, y, "00:05")
    page.get_by_role("button", name="Log the report").click()
    expect_banner(page, "Report logged as GMP-")
    case_url = _case_url(page)
    reference = case_url.rstrip("/").rsplit("/", 1)[-1]
    assert_accessible(page)

    # ...and records the crime
    page.get_by_role("button", name="Record crime decision").click()
    page.get_by_label("Recorded as a crime", exact=True).check()
    fill_date(page, "Date and time of the decision", d, m, y, "00:10")
    page.get_by_label("Crime reference number").fill("GMP/26/777001")
    page.get_by_label("Offence recorded").select_option(
        label=("MSA 2015 s1: slavery, servitude, forced or compulsory labour")
    )
    assert_accessible(page)
    page.get_by_role("button", name="Save the decision").click()
    expect_banner(page, "Crime recording decision saved")
    sign_out(page)

    # supervisor.gmp allocates it
    sign_in(page, base, "supervisor.gmp", "Daniel Okafor")
    page.goto(case_url)
    page.get_by_role("button", name="Allocate").click()
    page.get_by_label("Officer in charge").select_option(label="Priya Shah")
    assert_accessible(page)
    page.get_by_role("button", name="Allocate").click()
    expect_banner(page, "Investigation allocated")
    expect(page.locator("#oic")).to_have_text("Priya Shah")
    sign_out(page)

    # the officer adds and completes an enquiry, then requests closure
    sign_in(page, base, "officer.gmp", "Priya Shah")
    page.goto(case_url)
    page.get_by_role("link", name="Add an enquiry").click()
    page.get_by_label("What needs to be done").fill("Take the first worker's account")
    page.get_by_role("group", name="Is this a substantive investigative action?").get_by_label(
        "Yes"
    ).check()
    assert_accessible(page)
    page.get_by_role("button", name="Add the enquiry").click()
    expect_banner(page, "Enquiry added")
    page.get_by_role("link", name="Complete Take the first worker's account").click()
    fill_date(page, "Date and time completed", d, m, y, "00:20")
    page.get_by_label("Result").fill("Account taken with an interpreter.")
    page.get_by_role("button", name="Mark as complete").click()
    expect_banner(page, "Enquiry completed")
    expect(page.locator("#started")).to_contain_text("0 days after the report")

    page.get_by_role("button", name="Request closure").click()
    page.get_by_label("Charged or summonsed").check()
    page.get_by_label("Rationale for closing").fill("Suspect charged; file to CPS.")
    assert_accessible(page)
    page.get_by_role("button", name="Send for supervisor review").click()
    expect_banner(page, "Closure requested: a supervisor will review it")
    sign_out(page)

    # supervisor.gmp rejects it with a rationale
    sign_in(page, base, "supervisor.gmp", "Daniel Okafor")
    page.goto(case_url)
    page.get_by_role("button", name="Review closure request").click()
    expect(page.locator("#closure-facts")).to_contain_text("1 of 1 (1 substantive)")
    assert_accessible(page)
    page.get_by_label("Reject: investigation continues").check()
    page.get_by_label("Rationale for your decision").fill("Victim 2 not yet spoken to.")
    page.get_by_role("button", name="Record the decision").click()
    expect_banner(page, "Closure decision recorded")
    sign_out(page)

    # the officer requests again
    sign_in(page, base, "officer.gmp", "Priya Shah")
    page.goto(case_url)
    page.get_by_role("button", name="Request closure").click()
    page.get_by_label("Charged or summonsed").check()
    page.get_by_label("Rationale for closing").fill("Second victim's account taken.")
    page.get_by_role("button", name="Send for supervisor review").click()
    expect_banner(page, "Closure requested: a supervisor will review it")
    sign_out(page)

    # the supervisor approves
    sign_in(page, base, "supervisor.gmp", "Daniel Okafor")
    page.goto(case_url)
    page.get_by_role("button", name="Review closure request").click()
    page.get_by_label("Approve closure").check()
    page.get_by_label("Rationale for your decision").fill("All lines complete.")
    page.get_by_role("button", name="Record the decision").click()
    expect_banner(page, "Closure decision recorded")
    expect(page.get_by_text("Closed", exact=True).first).to_be_visible()

    # the timeline shows each step with who and when
    timeline = page.locator("#timeline-list")
    for text, who in [
        ("Report logged", "Priya Shah"),
        ("Crime recorded", "Priya Shah"),
        ("Allocated to Priya Shah", "Daniel Okafor"),
        ("Enquiry completed", "Priya Shah"),
        ("Closure requested", "Priya Shah"),
        ("Closure rejected: Victim 2 not yet spoken to.", "Daniel Okafor"),
        ("Closure approved", "Daniel Okafor"),
    ]:
        item = timeline.locator("li", has_text=text).first
        expect(item).to_contain_text(f"by {who}")
        expect(item).to_contain_text(str(today.year))
    assert reference.startswith("GMP-")
    assert_accessible(page)


def test_a_list_of_several_pages_is_accessible(live_server, page: Page, people):
    """The pagination's "Page 1 of 2" keeps its contrast (WCAG 1.4.3): axe-core checks it."""
    from tests import factories

    officer = people["officer.gmp"]
    for _ in range(26):  # one more than a page
        factories.investigation(officer)
    sign_in(page, live_server.url, "officer.gmp", "Priya Shah")
    page.goto(f"{live_server.url}/investigations/")
    expect(page.get_by_text("Page 1 of 2")).to_be_visible()
    assert_accessible(page)
