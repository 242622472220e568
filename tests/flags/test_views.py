"""slaverycases/flags/views.py: the review queue (who sees which flags, in which order, the
kind filter, a query count that does not grow), a flag's page (acknowledge, resolve, dismiss;
404 for outsiders, 403 for those who may not act) and the flags on the case page."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from investigations import actions as case_actions
from slaverycases.accounts.models import Unit
from slaverycases.flags import actions
from slaverycases.flags.models import ACTIVE_STATUSES, Flag, FlagKind, FlagStatus, Severity
from tests import factories
from tests.flags.test_rules import (
    T0,
    active,
    add_victim,
    contact,
    criminalise,
    frozen_clock,
    scan_at,
    scan_now,
)

pytestmark = pytest.mark.django_db

DISMISS_ERROR = "Enter the reason for dismissing the flag"


@pytest.fixture
def clock():
    yield from frozen_clock()


def flag_url(flag: Flag) -> str:
    return f"/flags/{flag.pk}/"


def queue_pks(response: Any) -> list[int]:
    return [flag.pk for flag in response.context["page_obj"]]


def queue_links(response: Any) -> list[int]:
    """The flags as the page lists them, top to bottom."""
    return [int(pk) for pk in re.findall(r'href="/flags/(\d+)/"', response.content.decode())]


def sort_key(flag: Flag) -> tuple[Any, ...]:
    return (-flag.severity, flag.raised_at, flag.pk)


@pytest.fixture
def queue_data(clock, people):
    """GMP flags of several kinds and ages, and one WYP flag.

    T0:       delayed (low) on `a`, delayed (high) on `b`
    T0 + 10d: victim criminalised (high) and contact overdue (medium) on `d`, delayed (low)
              on `c`
    """
    officer, supervisor = people["officer.gmp"], people["supervisor.gmp"]
    lead = people["safeguarding.gmp"]
    gmp = officer.force
    a = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=8)
    b = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=95)
    c = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=1)
    d = factories.investigation(
        officer, stage="under_investigation", supervisor=supervisor, days_ago=1
    )
    wyp = factories.investigation(
        people["officer.wyp"], stage="allocated", supervisor=people["supervisor.wyp"], days_ago=8
    )
    scan_now(gmp)
    scan_now(wyp.force)

    clock.move_to(T0 + timedelta(days=9))
    victim = add_victim(d, officer).victim
    contact(victim, lead, next_in_days=0)
    criminalise(victim, d, officer)
    scan_at(clock, gmp, T0 + timedelta(days=10))
    flags = {
        "a": active(FlagKind.DELAYED_START, a),
        "b": active(FlagKind.DELAYED_START, b),
        "c": active(FlagKind.DELAYED_START, c),
        "d_custody": active(FlagKind.VICTIM_CRIMINALISED, d, victim),
        "d_contact": active(FlagKind.VICTIM_CONTACT_OVERDUE, d, victim),
        "wyp": active(FlagKind.DELAYED_START, wyp),
    }
    assert all(flags.values()), flags
    assert [flags[k].severity for k in ("a", "b", "c", "d_custody", "d_contact")] == [
        Severity.LOW,
        Severity.HIGH,
        Severity.LOW,
        Severity.HIGH,
        Severity.MEDIUM,
    ]
    return {"cases": {"a": a, "b": b, "c": c, "d": d, "wyp": wyp}, **flags}


# --- the queue --------------------------------------------------------------------------------


def test_the_queue_lists_the_units_active_flags_most_severe_then_oldest(
    client, supervisor, queue_data
):
    actions.flag_acknowledge(queue_data["a"], actor=supervisor)  # acknowledged: still listed
    resolved = queue_data["c"]
    actions.flag_resolve(resolved, actor=supervisor, reason="Put right.")
    client.force_login(supervisor)

    response = client.get("/flags/")

    assert response.status_code == 200
    listed = queue_pks(response)
    expected = Flag.objects.filter(status__in=ACTIVE_STATUSES, investigation__unit=supervisor.unit)
    assert sorted(listed) == sorted(f.pk for f in expected)
    assert listed == [f.pk for f in sorted(expected, key=sort_key)]
    # A high flag raised later comes before a low one raised earlier.
    mine = [queue_data[k].pk for k in ("b", "d_custody", "d_contact", "a")]
    assert [pk for pk in listed if pk in mine] == mine
    assert resolved.pk not in listed and queue_data["wyp"].pk not in listed
    assert [pk for pk in queue_links(response) if pk in mine] == mine
    page = response.content.decode()
    assert "Acknowledged" in page and "by Daniel Okafor" in page


def test_the_queue_filters_by_kind(client, supervisor, queue_data):
    client.force_login(supervisor)
    response = client.get("/flags/", {"kind": FlagKind.VICTIM_CRIMINALISED})
    assert response.status_code == 200
    assert queue_pks(response) == [queue_data["d_custody"].pk]

    response = client.get("/flags/", {"kind": FlagKind.DELAYED_START})
    assert queue_pks(response) == [queue_data[k].pk for k in ("b", "a", "c")]

    response = client.get("/flags/", {"kind": "no_such_kind"})  # an edited address
    assert response.status_code == 400
    html = response.content.decode()
    assert "<title>Error: Flags to review" in html
    assert "There is a problem" in html and 'href="#id_kind"' in html
    assert queue_data["a"].pk in queue_pks(response)  # an unknown kind filters nothing


def test_a_safeguarding_lead_sees_only_victim_contact_flags(client, safeguarding_lead, queue_data):
    client.force_login(safeguarding_lead)
    response = client.get("/flags/")
    assert response.status_code == 200
    assert queue_pks(response) == [queue_data["d_contact"].pk]
    response = client.get("/flags/", {"kind": FlagKind.DELAYED_START})
    assert queue_pks(response) == []


def test_another_forces_supervisor_does_not_see_gmp_flags(client, people, queue_data):
    client.force_login(people["supervisor.wyp"])
    response = client.get("/flags/")
    assert response.status_code == 200
    assert queue_pks(response) == [queue_data["wyp"].pk]


def test_the_queue_is_for_supervisors_and_safeguarding_leads(client, officer, auditor):
    for user in (officer, auditor):
        client.force_login(user)
        assert client.get("/flags/").status_code == 403


def test_anonymous_users_are_sent_to_sign_in(client, queue_data):
    for url in ("/flags/", flag_url(queue_data["a"])):
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, url
            assert response["Location"] == f"/account/sign-in/?next={quote(url)}", url


def test_the_queue_runs_the_same_number_of_queries_for_3_and_40_flags(
    client, clock, people, django_assert_num_queries
):
    officer, supervisor = people["officer.gmp"], people["supervisor.gmp"]
    gmp = officer.force
    first = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=1)
    clock.move_to(T0 + timedelta(days=30))
    criminalise(add_victim(first, officer).victim, first, officer)
    scan_now(gmp)  # delayed start, supervision overdue, victim criminalised
    assert Flag.objects.filter(status__in=ACTIVE_STATUSES).count() == 3
    actions.flag_acknowledge(active(FlagKind.DELAYED_START, first), actor=supervisor)

    client.force_login(supervisor)
    client.get("/flags/")  # warm-up
    with CaptureQueriesContext(connection) as small:
        response = client.get("/flags/")
    assert response.status_code == 200
    assert len(queue_pks(response)) == 3
    n = len(small.captured_queries)  # now: the log is cleared by later requests

    for i in range(13):
        inv = factories.investigation(
            officer, stage="allocated", supervisor=supervisor, days_ago=40
        )
        if i < 12:
            for name in ("Andrei Ionescu", "Elena Rusu"):
                criminalise(add_victim(inv, officer, name=name).victim, inv, officer)
    scan_at(clock, gmp, T0 + timedelta(days=30, hours=1))
    for flag in Flag.objects.filter(kind=FlagKind.VICTIM_CRIMINALISED)[:10]:
        actions.flag_acknowledge(flag, actor=supervisor)
    assert Flag.objects.filter(status__in=ACTIVE_STATUSES).count() == 40

    client.force_login(supervisor)  # the clock moved on: the old session has timed out
    client.get("/flags/")  # warm-up, as before
    with django_assert_num_queries(n):
        response = client.get("/flags/")
    assert response.status_code == 200
    assert len(queue_pks(response)) == 40


def test_the_case_page_runs_the_same_number_of_queries_for_1_and_7_flags(
    client, clock, people, django_assert_num_queries
):
    """Each flag on the case page says whether the reader may act on it, from the case it is
    on: the case already read, not a query per flag."""
    officer, supervisor = people["officer.gmp"], people["supervisor.gmp"]
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=1)
    clock.move_to(T0 + timedelta(days=30))
    criminalise(add_victim(inv, officer).victim, inv, officer)
    scan_now(officer.force)
    url = f"/investigations/{inv.reference}/"
    counts = {}
    for user in (officer, supervisor):
        client.force_login(user)
        client.get(url)  # warm-up
        with CaptureQueriesContext(connection) as few:
            assert client.get(url).status_code == 200
        counts[user.pk] = len(few.captured_queries)
    few_flags = Flag.objects.filter(investigation=inv, status__in=ACTIVE_STATUSES).count()

    for name in ("Andrei Ionescu", "Elena Rusu", "Ion Popa", "Maria Lungu"):
        criminalise(add_victim(inv, officer, name=name).victim, inv, officer)
    scan_now(officer.force)
    many_flags = Flag.objects.filter(investigation=inv, status__in=ACTIVE_STATUSES).count()
    assert (few_flags, many_flags) == (3, 7)
    for user in (officer, supervisor):
        client.force_login(user)
        client.get(url)
        with django_assert_num_queries(counts[user.pk]):
            response = client.get(url)
        assert response.status_code == 200
        assert f"{many_flags} open flags" in response.content.decode()


# --- a flag's page ----------------------------------------------------------------------------


def test_a_supervisor_acknowledges_resolves_and_dismisses(client, supervisor, queue_data):
    client.force_login(supervisor)
    flag = queue_data["a"]
    response = client.get(flag_url(flag))
    assert response.status_code == 200
    evidence = re.search(r'id="flag-evidence">([^<]*)<', response.content.decode()).group(1)
    assert html.unescape(evidence) == (
        "Crime recorded 18 days ago (28 Dec 2025); no substantive enquiry"
    )

    response = client.post(flag_url(flag), {"action": "acknowledge", "reason": ""})
    assert response.status_code == 302 and response["Location"] == "/flags/"
    flag.refresh_from_db()
    assert (flag.status, flag.acted_by) == (FlagStatus.ACKNOWLEDGED, supervisor)

    response = client.post(flag_url(flag), {"action": "resolve", "reason": "Enquiry set."})
    assert response.status_code == 302
    flag.refresh_from_db()
    assert (flag.status, flag.reason) == (FlagStatus.RESOLVED, "Enquiry set.")

    other = queue_data["b"]
    response = client.post(flag_url(other), {"action": "dismiss", "reason": "Duplicate report."})
    assert response.status_code == 302
    other.refresh_from_db()
    assert (other.status, other.reason) == (FlagStatus.DISMISSED, "Duplicate report.")


def test_dismissing_without_a_reason_is_a_400(client, supervisor, queue_data):
    client.force_login(supervisor)
    flag = queue_data["a"]
    for reason in ("", "   "):
        response = client.post(flag_url(flag), {"action": "dismiss", "reason": reason})
        assert response.status_code == 400
        assert DISMISS_ERROR in response.content.decode()
    flag.refresh_from_db()
    assert flag.status == FlagStatus.OPEN


def test_acting_on_a_flag_that_is_no_longer_active_is_a_400(client, supervisor, queue_data):
    flag = queue_data["a"]
    actions.flag_resolve(flag, actor=supervisor)
    client.force_login(supervisor)
    response = client.post(flag_url(flag), {"action": "acknowledge", "reason": ""})
    assert response.status_code == 400
    assert "This flag is already resolved." in response.content.decode()


def test_an_unknown_action_is_a_400(client, supervisor, queue_data):
    client.force_login(supervisor)
    response = client.post(flag_url(queue_data["a"]), {"action": "delete", "reason": ""})
    assert response.status_code == 400
    queue_data["a"].refresh_from_db()
    assert queue_data["a"].status == FlagStatus.OPEN


def test_outsiders_get_404_on_a_flag_of_a_case_they_cannot_see(
    client, people, other_force_officer, auditor, queue_data
):
    for user in (other_force_officer, people["supervisor.wyp"], auditor):
        client.force_login(user)
        for key in ("a", "d_contact"):
            url = flag_url(queue_data[key])
            assert client.get(url).status_code == 404, (user, key)
            assert client.post(url, {"action": "dismiss", "reason": "x"}).status_code == 404
    assert client.get("/flags/999999/").status_code == 404
    queue_data["a"].refresh_from_db()
    assert queue_data["a"].status == FlagStatus.OPEN


def test_those_who_see_the_case_but_may_not_act_get_403(
    client, officer, safeguarding_lead, queue_data
):
    cases = [(officer, "a"), (officer, "d_contact"), (safeguarding_lead, "a")]
    for user, key in cases:
        client.force_login(user)
        url = flag_url(queue_data[key])
        assert client.get(url).status_code == 403, (user, key)
        assert client.post(url, {"action": "dismiss", "reason": "x"}).status_code == 403
    client.force_login(safeguarding_lead)
    assert client.get(flag_url(queue_data["d_contact"])).status_code == 200
    response = client.post(flag_url(queue_data["d_contact"]), {"action": "acknowledge"})
    assert response.status_code == 302


# --- the case page ----------------------------------------------------------------------------


def test_the_case_page_shows_each_flags_evidence_in_words(client, officer, supervisor, queue_data):
    inv = queue_data["cases"]["a"]
    client.force_login(officer)
    page = html.unescape(client.get(f"/investigations/{inv.reference}/").content.decode())
    assert 'id="case-flags"' in page
    assert "1 open flag" in page
    assert "Delayed start</strong>: Crime recorded 18 days ago (28 Dec 2025); no substantive" in (
        page
    )
    assert flag_url(queue_data["a"]) not in page  # an officer cannot act on it

    client.force_login(supervisor)
    page = client.get(f"/investigations/{queue_data['cases']['d'].reference}/").content.decode()
    page = html.unescape(page)
    assert "2 open flags" in page
    assert "Victim arrested or charged 1 day ago (14 Jan 2026) with no section 45" in page
    assert "Next contact was due 1 day ago (14 Jan 2026)" in page
    assert flag_url(queue_data["d_custody"]) in page


def test_the_case_page_has_no_flags_section_without_active_flags(client, supervisor, queue_data):
    inv = queue_data["cases"]["b"]
    actions.flag_dismiss(queue_data["b"], actor=supervisor, reason="Transferred.")
    client.force_login(supervisor)
    assert 'id="case-flags"' not in client.get(f"/investigations/{inv.reference}/").content.decode()


def test_each_flag_carries_its_cases_unit(queue_data):
    assert Flag.objects.exists()
    for flag in Flag.objects.select_related("investigation"):
        assert flag.unit_id == flag.investigation.unit_id


def test_the_queue_adds_the_flags_of_cases_supervised_in_another_unit(
    client, people, supervisor, queue_data
):
    """A supervisor who moved to a new unit (no flags of its own yet) keeps the flags of the
    cases they still supervise in the old one in their queue."""
    old_unit = supervisor.unit
    new_unit = Unit.objects.create(force=old_unit.force, name="GMP Exploitation Hub")
    supervisor.unit = new_unit
    supervisor.save(update_fields=["unit"])
    client.force_login(supervisor)
    listed = queue_pks(client.get("/flags/"))
    supervised = Flag.objects.filter(
        status__in=ACTIVE_STATUSES, investigation__supervisor=supervisor
    )
    assert sorted(listed) == sorted(f.pk for f in supervised)
    assert supervised.count() == 5 and queue_data["wyp"].pk not in listed


def test_the_closure_review_shows_the_cases_open_flags(client, officer, supervisor, queue_data):
    case = queue_data["cases"]["d"]
    case.refresh_from_db()
    case_actions.closure_request(
        case,
        actor=officer,
        expected_version=case.version,
        proposed_outcome="charged",
        proposed_nfa_reason="",
        rationale="Suspect charged.",
    )
    client.force_login(supervisor)
    page = client.get(f"/investigations/{case.reference}/closure/review/").content.decode()
    facts = page[page.index('id="closure-facts"') :]
    assert "Open flags" in facts and "Flags still open" in facts
    custody = queue_data["d_custody"]
    assert f"{custody.get_kind_display()} (high)" in facts

    quiet = factories.investigation(officer, stage="closure_requested", supervisor=supervisor)
    page = client.get(f"/investigations/{quiet.reference}/closure/review/").content.decode()
    assert "Flags still open" not in page


def test_a_flag_acted_on_shows_who_did_what_and_offers_nothing_more(client, supervisor, queue_data):
    flag = queue_data["a"]
    actions.flag_dismiss(flag, actor=supervisor, reason="Started on the day; entered late.")
    client.force_login(supervisor)
    page = client.get(flag_url(flag)).content.decode()
    acted = page[page.index('id="flag-acted"') :]
    assert acted.startswith(f'id="flag-acted">{supervisor.display_name} on ')
    assert "Started on the day; entered late." in acted
    assert 'name="action"' not in page
    assert "This flag is dismissed: there is nothing more to do on it." in page
    # An active flag offers the actions.
    assert 'name="action"' in client.get(flag_url(queue_data["b"])).content.decode()
