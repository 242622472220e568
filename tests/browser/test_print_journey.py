"""Issue 7's journey: print a redacted case summary for a named recipient, with a reason."""

import io
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from slaverycases.audit.models import AuditAction, AuditEvent
from tests import factories
from tests.browser.helpers import assert_accessible, sign_in
from victims import actions as victim_actions

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_print_a_redacted_case_summary(live_server, page: Page, people, midday):
    officer, supervisor = people["officer.gmp"], people["supervisor.gmp"]
    inv = factories.investigation(
        officer, stage="under_investigation", supervisor=supervisor, days_ago=5
    )
    victim_actions.victims_add_to_investigation(
        inv,
        actor=officer,
        people=[{"name": "Andrei Ionescu", "crime_reference": "GMP/26/910001"}],
        identified_at=inv.reported_at + timedelta(hours=1),
        offence_type="msa_s1",
    )
    base = live_server.url

    sign_in(page, base, "officer.gmp", "Priya Shah")
    page.goto(f"{base}/investigations/{inv.reference}/print/")
    expect(page.get_by_role("heading", name="Print a case summary")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("button", name="Print the case summary").click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    expect(page.get_by_role("link", name="Enter why they need the case summary")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Redacted case summary").check()
    page.get_by_label("Who is it for?").fill("Salvation Army victim care")
    page.get_by_label("Why do they need it?").fill("Support plan for Victim A")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Print the case summary").click()
    download = download_info.value
    assert download.suggested_filename == f"{inv.reference}-case-summary-redacted.pdf"
    with open(download.path(), "rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert inv.reference in text and "Victim A" in text
    assert "Andrei" not in text

    event = AuditEvent.objects.get(
        action=AuditAction.DISCLOSURE, investigation_reference=inv.reference
    )
    assert event.recipient == "Salvation Army victim care"
    assert event.detail["variant"] == "redacted"
