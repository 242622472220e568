"""Issue 5's journey: NRM referral with consent and an RG decision, a child referred without a
consent step, and an anonymous MS1 for an adult who declines."""

from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from referrals.models import DutyToNotify
from tests import factories
from tests.browser.helpers import assert_accessible, expect_banner, fill_date, sign_in
from victims import actions as victim_actions

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_nrm_referrals_and_duty_to_notify(live_server, page: Page, people, midday):
    officer = people["officer.gmp"]
    inv = factories.investigation(
        officer,
        stage="allocated",
        supervisor=people["supervisor.gmp"],
        days_ago=10,
        title="Farm workers near Wigan",
    )
    today = timezone.localdate()
    victims = victim_actions.victims_add_to_investigation(
        inv,
        actor=officer,
        people=[
            {"name": "Adult Consenting", "estimated_age": 34, "crime_reference": "GMP/1"},
            {
                "name": "Boy Sixteen",
                "date_of_birth": date(today.year - 16, 1, 1),
                "crime_reference": "GMP/2",
            },
            {
                "name": "Adult Declining",
                "estimated_age": 41,
                "crime_reference": "GMP/3",
                "nationality": "Polish",
            },
        ],
        identified_at=timezone.now() - timedelta(days=5),
        offence_type="msa_s1",
    )
    adult, child, decliner = (i.victim for i in victims)
    base = live_server.url
    d, m, y = str(today.day), str(today.month), str(today.year)
    sign_in(page, base, "officer.gmp", "Priya Shah")

    # an adult, with consent, then a positive reasonable grounds decision
    page.goto(f"{base}/victims/{adult.pk}/")
    page.get_by_role("link", name="Refer to the NRM").click()
    expect(
        page.get_by_role("group", name="Has the adult given written consent to the referral?")
    ).to_be_visible()
    assert_accessible(page)
    page.get_by_role(
        "group", name="Has the adult given written consent to the referral?"
    ).get_by_label("Yes").check()
    fill_date(page, "Date consent was given", d, m, y)
    fill_date(page, "Date submitted", d, m, y)
    page.get_by_role("button", name="Save the referral").click()
    expect_banner(page, "NRM referral recorded")
    page.get_by_role("link", name="Record a decision").click()
    page.get_by_label("Reasonable grounds").check()
    page.get_by_label("Positive").check()
    fill_date(page, "Date of the decision", d, m, y)
    assert_accessible(page)
    page.get_by_role("button", name="Save").click()
    expect_banner(page, "NRM decision recorded")
    end = today + timedelta(days=30)
    expect(page.get_by_text(f"{end:%-d %B %Y}")).to_be_visible()
    assert_accessible(page)

    # a 16-year-old: no consent step, children's services told
    page.goto(f"{base}/victims/{child.pk}/")
    page.get_by_role("link", name="Refer to the NRM").click()
    expect(page.locator("#child-referral")).to_be_visible()
    expect(page.get_by_text("Has the adult given written consent")).to_have_count(0)
    fill_date(page, "Date submitted", d, m, y)
    fill_date(page, "Date children's services were told", d, m, y)
    page.get_by_label("Modern slavery crime this referral is linked to").select_option(
        label="No crime recorded"
    )
    assert_accessible(page)
    page.get_by_role("button", name="Save the referral").click()
    expect_banner(page, "NRM referral recorded")
    expect(page.get_by_text("A child, without consent")).to_be_visible()

    # an adult who declines: an anonymous MS1
    page.goto(f"{base}/victims/{decliner.pk}/")
    page.get_by_role("link", name="Record a Duty to Notify (MS1): adult declines the NRM").click()
    fill_date(page, "Date submitted", d, m, y)
    page.get_by_label("Age").select_option(label="35 to 49")
    page.get_by_label("Labour exploitation").check()
    page.get_by_label("Where (town or area only, never an address)").fill("Wigan")
    page.get_by_role(
        "group", name="Has the adult consented to be identified in the notification?"
    ).get_by_label("No").check()
    page.get_by_label("Name (only with consent)").fill("Adult Declining")
    page.get_by_role("button", name="Save the MS1").click()
    expect(
        page.get_by_role(
            "link",
            name="Leave this blank: without consent the notification must not identify the person",
        )
    ).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Name (only with consent)").fill("")
    page.get_by_role("button", name="Save the MS1").click()
    expect_banner(page, "Duty to Notify (MS1) recorded")
    ms1 = DutyToNotify.objects.get(victim=decliner)
    assert (ms1.identified_name, ms1.identified_date_of_birth, ms1.identified_address) == (
        "",
        None,
        "",
    )
    assert ms1.consent_to_be_identified is False
    assert ms1.nationality == "Polish"

    # the reconciliation lists the child's referral (no crime linked, no reason) first
    page.get_by_role("link", name="Referrals", exact=True).click()
    first_row = page.locator("#referrals tbody tr").first
    expect(first_row).to_contain_text("Boy Sixteen")
    expect(first_row).to_contain_text("Neither")
    assert_accessible(page)
