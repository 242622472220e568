import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def assert_accessible(page: Page) -> None:
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def test_officer_signs_in_and_sees_force_unit_and_role(live_server, page, people):
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", name="Sign in to slaverycases")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    expect(page.get_by_role("link", name="Enter your username")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Username").fill("officer.gmp")
    page.get_by_label("Password").fill(settings.DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Welcome, Priya Shah")).to_be_visible()
    expect(page.locator("#user-force")).to_have_text("Greater Manchester Police")
    expect(page.locator("#user-role")).to_have_text("Officer")
    expect(page.locator("#protective-marking-top")).to_have_text("OFFICIAL-SENSITIVE")
    assert_accessible(page)

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="You have signed out")).to_be_visible()
    assert_accessible(page)


def test_not_found_page_is_in_the_service_design(live_server, page, people):
    page.goto(live_server.url + "/account/sign-in/")
    page.get_by_label("Username").fill("auditor")
    page.get_by_label("Password").fill(settings.DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Welcome, Margaret Ellis")).to_be_visible()
    response = page.goto(live_server.url + "/no-such-page/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    assert_accessible(page)
    page.goto(live_server.url + "/audit/")
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    assert_accessible(page)
