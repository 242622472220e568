"""Issue 6's journey: a supervisor reads a delayed-start flag, acknowledges it, and the flag
resolves by itself once the officer records a substantive enquiry."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, expect

from slaverycases.flags.models import Flag, FlagKind, FlagStatus
from tests import factories
from tests.browser.helpers import assert_accessible, expect_banner, fill_date, sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_delayed_start_flag_is_acknowledged_then_clears(live_server, page: Page, people, midday):
    inv = factories.investigation(
        people["officer.gmp"],
        stage="allocated",
        supervisor=people["supervisor.gmp"],
        title="Cannabis farm, Cheetham Hill",
        days_ago=212,
    )
    call_command("scan_flags")
    flag = Flag.objects.get(investigation=inv, kind=FlagKind.DELAYED_START)
    assert flag.status == FlagStatus.OPEN
    base = live_server.url

    sign_in(page, base, "supervisor.gmp", "Daniel Okafor")
    page.get_by_role("link", name="Flags").click()
    expect(page.get_by_role("heading", name="Flags to review")).to_be_visible()
    row = page.locator("#flag-queue tr", has_text=inv.reference)
    expect(row).to_contain_text("Crime recorded 212 days ago")
    expect(row).to_contain_text("no substantive enquiry")
    assert_accessible(page)
    row.get_by_role("link", name=f"Delayed start on {inv.reference}").click()
    expect(page.locator("#flag-evidence")).to_contain_text("no substantive enquiry")
    assert_accessible(page)
    page.get_by_label("Acknowledge: I am dealing with it").check()
    page.get_by_role("button", name="Save").click()
    expect_banner(page, "Flag updated")
    expect(page.locator("#flag-queue")).to_contain_text("Acknowledged")
    sign_out(page)

    sign_in(page, base, "officer.gmp", "Priya Shah")
    page.goto(f"{base}/investigations/{inv.reference}/")
    expect(page.locator("#case-flags")).to_contain_text("Delayed start")
    page.get_by_role("link", name="Add an enquiry").click()
    page.get_by_label("What needs to be done").fill("Interview the boy with an appropriate adult")
    page.get_by_role("group", name="Is this a substantive investigative action?").get_by_label(
        "Yes"
    ).check()
    page.get_by_role("button", name="Add the enquiry").click()
    expect_banner(page, "Enquiry added")
    page.get_by_role("link", name="Complete Interview the boy with an appropriate adult").click()
    done = timezone.localtime() - timedelta(hours=1)
    fill_date(
        page,
        "Date and time completed",
        str(done.day),
        str(done.month),
        str(done.year),
        done.strftime("%H:%M"),
    )
    page.get_by_label("Result").fill("Account taken; he was trafficked from Albania.")
    page.get_by_role("button", name="Mark as complete").click()
    expect_banner(page, "Enquiry completed")
    # The scan queued after the change has already run: the flag is gone from the case page.
    page.reload()
    expect(page.locator("#case-flags")).to_have_count(0)
    expect(page.locator("#timeline-list")).to_contain_text("Flag cleared: Delayed start")
    flag.refresh_from_db()
    assert flag.status == FlagStatus.RESOLVED
