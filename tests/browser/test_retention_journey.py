"""Issue 8's retention journey: the force administrator opens Retention, retains one record
with a reason and a next review date, disposes of another after typing its reference, and
sees both decisions listed; axe-core finds nothing on either page."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import Page, expect

from investigations.models import Investigation, RetentionReview
from tests import factories
from tests.browser.helpers import assert_accessible, expect_banner, fill_date, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_administrator_reviews_the_records_due(live_server, page: Page, people, midday):
    officer, supervisor = people["officer.gmp"], people["supervisor.gmp"]
    eleven_years_ago = datetime(2015, 6, 1, 12, 0, tzinfo=ZoneInfo("Europe/London"))
    with time_machine.travel(eleven_years_ago, tick=False):
        keep = factories.investigation(
            officer, stage="closed", supervisor=supervisor, title="Car wash in Rochdale"
        )
        drop = factories.investigation(
            officer, stage="closed", supervisor=supervisor, title="Nail bar in Stockport"
        )
    factories.investigation(officer, stage="closed", supervisor=supervisor)  # not due

    sign_in(page, live_server.url, "admin", "Sam Carter")
    page.get_by_role("link", name="Retention").click()
    expect(page.get_by_role("heading", name="Retention review")).to_be_visible()
    due = page.locator("#records-due")
    expect(due).to_contain_text("2 records due for review")
    expect(due).to_contain_text("Car wash in Rochdale")
    assert_accessible(page)

    due.get_by_role("link", name=keep.reference).click()
    expect(page.locator("#retention-facts")).to_contain_text("Group 1")
    assert_accessible(page)
    page.get_by_role("button", name="Record the decision").click()  # nothing chosen
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select decision")
    assert_accessible(page)
    page.get_by_role("radio", name="Retain").check()
    page.get_by_label("Reason for the decision").fill("Principal suspect still offending.")
    fill_date(page, "Date of the next review", "1", "6", "2029")
    page.get_by_role("button", name="Record the decision").click()
    expect_banner(page, "Retention decision recorded")
    expect(page.locator("#records-due")).to_contain_text("1 record due for review")
    expect(page.locator("#recent-decisions")).to_contain_text("Retain on 15 Jun 2026")

    page.locator("#records-due").get_by_role("link", name=drop.reference).click()
    page.get_by_role("radio", name="Dispose").check()
    page.get_by_label("Reason for the decision").fill("No policing purpose remains.")
    page.get_by_label("To dispose, type the reference").fill(drop.reference)
    page.get_by_role("button", name="Record the decision").click()
    expect_banner(page, "Retention decision recorded")
    expect(page.locator("#records-due")).to_contain_text("0 records due for review")
    expect(page.locator("#recent-decisions")).to_contain_text(drop.reference)
    assert_accessible(page)

    assert Investigation.objects.get(pk=keep.pk).review_due_on.isoformat() == "2029-06-01"
    assert not Investigation.objects.filter(pk=drop.pk).exists()
    assert RetentionReview.objects.count() == 2
