"""Issue 4's journey: three victims found together, an account with an interpreter, a rape
disclosure linked to a recorded offence, contact and a relocation to West Yorkshire."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests import factories
from tests.browser.helpers import (
    assert_accessible,
    expect_banner,
    fill_date,
    sign_in,
    sign_out,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_victims_safeguarding_and_relocation(live_server, page: Page, people, midday):
    inv = factories.investigation(
        people["officer.gmp"],
        stage="allocated",
        supervisor=people["supervisor.gmp"],
        title="Building site workers in Stockport",
        days_ago=2,
    )
    now = timezone.localtime()
    today = now.date()
    d, m, y = str(today.day), str(today.month), str(today.year)
    base = live_server.url
    case_url = f"{base}/investigations/{inv.reference}/"

    sign_in(page, base, "officer.gmp", "Priya Shah")
    page.goto(case_url)
    page.get_by_role("link", name="Add victims").click()
    expect(page.get_by_role("heading", name="Add victims found together")).to_be_visible()
    assert_accessible(page)
    yesterday = today - timedelta(days=1)
    fill_date(
        page,
        "When were they identified?",
        str(yesterday.day),
        str(yesterday.month),
        str(yesterday.year),
        "09:00",
    )
    page.get_by_label("MSA 2015 s1: slavery, servitude, forced or compulsory labour").check()
    page.get_by_label("Restriction of movement").check()
    people_rows = [
        ("Andrei Ionescu", "Romanian", "GMP/26/900001"),
        ("Mihai Popa", "Romanian", "GMP/26/900002"),
        ("Elena Dumitru", "Romanian", "GMP/26/900003"),
    ]
    for i, (name, nationality, crn) in enumerate(people_rows):
        group = page.get_by_role("group", name=f"Person {i + 1}")
        group.get_by_label("Full name").fill(name)
        group.get_by_label("Nationality").fill(nationality)
        group.get_by_label("Crime reference number for this victim's crime").fill(crn)
    page.get_by_role("group", name="Person 3").get_by_label(
        "May be under 18 (treated as a child until age is assessed)"
    ).check()
    # Enter in a field adds the victims (the form's first button is not "Change number of
    # rows").
    page.get_by_role("group", name="Person 3").get_by_label("Nationality").press("Enter")
    expect_banner(page, "3 victims added, each with a modern slavery crime recorded")
    expect(page.locator("#victims")).to_be_visible()
    expect(page.get_by_role("heading", name="Victim C: Elena Dumitru Child")).to_be_visible()
    assert_accessible(page)

    # account with an interpreter, then a disclosure of rape
    page.get_by_role("link", name="Record account of Victim A").click()
    fill_date(page, "When was the account taken?", d, m, y, "00:01")
    page.get_by_role("group", name="Was an interpreter used?").get_by_label("Yes").check()
    page.get_by_label("Interpreter's language").fill("Romanian")
    page.get_by_label("Summary of the account").fill("Recruited in Iasi with a promise of work.")
    assert_accessible(page)
    page.get_by_role("button", name="Save").click()
    expect_banner(page, "Victim A's account recorded")
    expect(
        page.locator(f"#victim-{inv.involvements.get(label='Victim A').victim_id}")
    ).to_contain_text("with a Romanian interpreter")

    page.get_by_role("link", name="Record disclosure by Victim A").click()
    page.get_by_label("Offence disclosed").select_option(label="Rape")
    fill_date(page, "When was it disclosed?", d, m, y, "00:02")
    page.get_by_label("Short account").fill("Disclosed rape by the gangmaster in the caravan.")
    page.get_by_role("button", name="Save the disclosure").click()
    expect_banner(page, "Disclosure recorded")
    expect(page.get_by_text("Not recorded", exact=True)).to_be_visible()

    page.get_by_role("link", name="Record the offence for Victim A's disclosure of Rape").click()
    page.get_by_label("Or record it now: crime reference number").fill("GMP/26/900010")
    assert_accessible(page)
    page.get_by_role("button", name="Link the offence").click()
    expect_banner(page, "Disclosure linked to the recorded offence")
    expect(page.locator("#victims ~ .govuk-summary-card").first).to_contain_text("Rape (")
    expect(page.locator(".govuk-summary-card").first).to_contain_text("recorded as GMP/26/900010")
    victim_link = page.get_by_role("link", name="Andrei Ionescu")
    victim_url = base + victim_link.get_attribute("href")
    sign_out(page)

    # safeguarding.gmp: board, contact with next date, relocation to West Yorkshire
    sign_in(page, base, "safeguarding.gmp", "Helen Brennan")
    page.get_by_role("link", name="Safeguarding", exact=True).click()
    expect(page.get_by_role("heading", name="Safeguarding board")).to_be_visible()
    board = page.locator("#board")
    expect(board).to_contain_text("Andrei Ionescu")
    assert_accessible(page)
    board.get_by_role("link", name="Andrei Ionescu").click()
    expect(page.get_by_role("heading", name="Andrei Ionescu")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Record contact").click()
    fill_date(page, "When", d, m, y, "00:03")
    page.get_by_label("In person").check()
    page.get_by_label("Yes, we spoke to them").check()
    next_due = today + timedelta(days=5)
    fill_date(page, "Next contact due", str(next_due.day), str(next_due.month), str(next_due.year))
    assert_accessible(page)
    page.get_by_role("button", name="Save the contact").click()
    expect_banner(page, "Contact recorded")
    expect(page.locator("#contact-log")).to_contain_text(f"{next_due:%-d %b %Y}")

    page.get_by_role("link", name="Record a relocation").click()
    fill_date(page, "Date of the move", d, m, y)
    page.get_by_label("Another force area").check()
    page.get_by_label("Receiving force", exact=True).select_option(label="West Yorkshire Police")
    page.get_by_label("Named contact in the receiving force").fill("Gareth Lloyd, WYP MSHT Unit")
    assert_accessible(page)
    page.get_by_role("button", name="Save the relocation").click()
    expect_banner(page, "Relocation recorded and the receiving force given access")
    expect(page.locator("#victim-force")).to_have_text("West Yorkshire Police")
    sign_out(page)

    # safeguarding.wyp now sees the victim and the investigation
    sign_in(page, base, "safeguarding.wyp", "Gareth Lloyd")
    page.get_by_role("link", name="Safeguarding", exact=True).click()
    expect(page.locator("#board")).to_contain_text("Andrei Ionescu")
    expect(page.locator("#relocations")).to_contain_text("Andrei Ionescu")
    assert_accessible(page)
    page.goto(victim_url)
    expect(page.get_by_role("heading", name="Andrei Ionescu")).to_be_visible()
    page.get_by_role("link", name=inv.reference).click()
    expect(page.get_by_role("heading", name="Building site workers in Stockport")).to_be_visible()
    assert_accessible(page)
