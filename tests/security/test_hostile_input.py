"""Hostile input: script, HTML, SQL metacharacters, over-long and invalid values in every text
field of the main forms: a clear error or safe escaped output, never a 500 or stored script."""

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from investigations.models import Investigation
from tests import factories

pytestmark = pytest.mark.django_db

SCRIPT = '<script>alert("x")</script>'
NASTY = [
    SCRIPT,
    '"><img src=x onerror=alert(1)>',
    "'; DROP TABLE investigations_investigation; --",
    "1' OR '1'='1",
    "=cmd|' /C calc'!A0",
    "\u202eevil",
    "x" * 6000,
    "",
]

hostile_text = st.one_of(
    st.sampled_from(NASTY),
    st.text(min_size=0, max_size=300),
    st.from_regex(r"<[a-z]+ [a-z]+=['\"]?[^>]{0,40}>", fullmatch=True),
)


def _intake(title, summary, location):
    return {
        "title": title,
        "summary": summary,
        "source": "public",
        "exploitation_types": ["labour"],
        "location": location,
        "reported_at_day": "2",
        "reported_at_month": "3",
        "reported_at_year": "2026",
        "reported_at_time": "10:00",
    }


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(title=hostile_text, summary=hostile_text, location=hostile_text)
def test_intake_form_never_fails_and_never_echoes_script(officer, title, summary, location):
    client = Client()
    client.force_login(officer)
    response = client.post("/investigations/new/", _intake(title, summary, location))
    assert response.status_code in (302, 400)
    body = response.content.decode() if response.status_code == 400 else ""
    assert SCRIPT not in body
    assert "<img src=x" not in body
    if response.status_code == 302:
        page = client.get(response["Location"]).content.decode()
        assert SCRIPT not in page
        assert "onerror=alert" not in page or "&lt;img" in page


@pytest.mark.parametrize(
    "query", [SCRIPT, "' OR 1=1 --", "%", "_", "\\", "x" * 500, "GMP-2026-000001'; --"]
)
def test_search_and_filters_handle_hostile_queries(client, officer, supervisor, query):
    factories.investigation(officer, stage="allocated", supervisor=supervisor)
    client.force_login(officer)
    response = client.get("/investigations/", {"q": query, "status": query, "sort": query})
    assert response.status_code in (200, 400)
    assert SCRIPT not in response.content.decode()


def test_wrong_types_and_unknown_choices_are_clear_errors(client, officer):
    client.force_login(officer)
    data = _intake("Title", "Summary", "")
    data.update(
        {
            "source": "not-a-source",
            "exploitation_types": ["nope"],
            "reported_at_day": "x",
            "reported_at_month": "13",
        }
    )
    response = client.post("/investigations/new/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is a problem" in html
    assert "must be a real date" in html
    assert not Investigation.objects.exists()


def test_invalid_utf8_is_not_a_server_error(client, officer):
    client.force_login(officer)
    body = b"title=%FF%FE%FD&summary=%C3%28&source=public"
    response = client.post(
        "/investigations/new/", body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400


def test_a_post_without_csrf_token_is_refused(officer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(officer)
    response = client.post("/investigations/new/", _intake("T", "S", ""))
    assert response.status_code == 403
    assert not Investigation.objects.exists()


def test_stored_markup_is_shown_escaped(client, officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor, title=SCRIPT)
    client.force_login(officer)
    html = client.get(f"/investigations/{inv.reference}/").content.decode()
    assert SCRIPT not in html
    assert "&lt;script&gt;" in html
