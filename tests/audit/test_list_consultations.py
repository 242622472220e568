"""Every list that shows cases or victims writes one consultation row (DPA 2018 s62): which
list, with which search and filters, and what it showed. A search by a victim's name tells
which cases hold that person; the auditor finds it by the references shown."""

from __future__ import annotations

from typing import Any

import pytest

from investigations.models import Investigation
from slaverycases.audit.models import AuditAction, AuditEvent
from slaverycases.flags.models import FlagKind
from tests import factories
from tests.flags.test_rules import active, add_victim, criminalise, scan_now
from tests.referrals.test_referrals import _submit

pytestmark = pytest.mark.django_db


def consultations(since: int, page: str) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            pk__gt=since, action=AuditAction.CONSULTATION, detail__page=page
        ).order_by("pk")
    )


def last_id() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@pytest.fixture
def gmp(people) -> Any:
    return people["officer.gmp"].force


@pytest.fixture
def case(officer, supervisor) -> Investigation:
    return factories.investigation(officer, stage="under_investigation", supervisor=supervisor)


def test_a_search_of_the_list_records_the_words_and_the_cases_shown(
    client, case, officer, supervisor
):
    other = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    add_victim(case, officer, name="Andrei Ionescu")
    client.force_login(officer)
    since = last_id()
    response = client.get("/investigations/", {"q": "Ionescu"})
    assert response.status_code == 200
    (row,) = consultations(since, "investigations")
    assert row.actor == officer
    assert row.detail["shown"] == [case.reference]
    assert row.detail["filters"] == {"q": "Ionescu", "page": 1}
    assert other.reference not in row.detail["shown"]

    since = last_id()
    client.get("/investigations/")
    (row,) = consultations(since, "investigations")
    assert set(row.detail["shown"]) == {case.reference, other.reference}
    assert row.detail["filters"] == {"page": 1}


def test_the_flag_queue_and_a_flags_page_are_consultations(client, case, officer, supervisor, gmp):
    involvement = add_victim(case, officer)
    criminalise(involvement.victim, case, officer)
    scan_now(gmp)
    flag = active(FlagKind.VICTIM_CRIMINALISED, case, involvement.victim)
    assert flag is not None
    client.force_login(supervisor)
    since = last_id()
    assert client.get("/flags/").status_code == 200
    (row,) = consultations(since, "flag queue")
    assert case.reference in row.detail["shown"]

    since = last_id()
    assert client.get(f"/flags/{flag.pk}/").status_code == 200
    (row,) = consultations(since, "flag")
    assert row.investigation_reference == case.reference


def test_the_board_records_the_victims_it_shows(client, case, officer, safeguarding_lead):
    involvement = add_victim(case, officer)
    client.force_login(safeguarding_lead)
    since = last_id()
    assert client.get("/safeguarding/").status_code == 200
    (row,) = consultations(since, "safeguarding board")
    assert f"victim {involvement.victim_id}" in row.detail["shown"]


def test_the_referral_list_records_the_cases_it_shows(client, case, officer):
    involvement = add_victim(case, officer)
    make_referral(involvement, officer)
    client.force_login(officer)
    since = last_id()
    assert client.get("/referrals/").status_code == 200
    (row,) = consultations(since, "referrals")
    assert row.detail["shown"] == [case.reference]


def make_referral(involvement: Any, officer: Any) -> None:
    _submit(involvement.victim, involvement.investigation, officer)


def test_an_edited_referral_filter_is_explained(client, case, officer):
    """As the case list: a filter the form does not offer is a 400 with the error summary, and
    the list shows every referral the user may see."""
    involvement = add_victim(case, officer)
    make_referral(involvement, officer)
    client.force_login(officer)
    response = client.get("/referrals/", {"status": "no_such_status"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "<title>Error: NRM referrals" in html
    assert "There is a problem" in html and 'href="#id_status"' in html
    assert case.reference in html


def test_the_dashboard_records_the_cases_its_lists_show(client, case, officer):
    client.force_login(officer)
    since = last_id()
    assert client.get("/dashboard/").status_code == 200
    (row,) = consultations(since, "dashboard")
    assert case.reference in row.detail["shown"]


def test_form_pages_that_show_a_record_are_consultations(client, case, officer, safeguarding_lead):
    """A form filled with a victim's record shows it as their page does: GET is a
    consultation (of the case for the case's victim forms, of the victim for theirs)."""
    involvement = add_victim(case, officer)
    victim = involvement.victim
    client.force_login(officer)
    since = last_id()
    url = f"/investigations/{case.reference}/victims/{involvement.pk}/account/"
    assert client.get(url).status_code == 200
    (row,) = AuditEvent.objects.filter(pk__gt=since, action=AuditAction.CONSULTATION)
    assert row.investigation_reference == case.reference
    assert row.detail["page"].startswith("Record Victim A's account")

    since = last_id()
    assert client.get(f"/victims/{victim.pk}/edit/").status_code == 200
    (row,) = AuditEvent.objects.filter(pk__gt=since, action=AuditAction.CONSULTATION)
    assert (row.object_type, row.object_id) == ("victims.victim", str(victim.pk))

    client.force_login(safeguarding_lead)
    since = last_id()
    assert client.get(f"/safeguarding/victims/{victim.pk}/plan/").status_code == 200
    (row,) = AuditEvent.objects.filter(pk__gt=since, action=AuditAction.CONSULTATION)
    assert (row.object_type, row.object_id) == ("victims.victim", str(victim.pk))


def test_reading_the_audit_log_is_recorded(client, case, auditor):
    client.force_login(auditor)
    since = last_id()
    assert client.get("/audit/", {"reference": case.reference}).status_code == 200
    (row,) = consultations(since, "audit log")
    assert row.actor == auditor
    assert row.detail["filters"]["reference"] == case.reference


def test_referral_form_pages_are_consultations(client, case, officer):
    """A form for a new referral shows the victim (a consultation of the victim); a form about
    a referral shows its case's record (a consultation of the referral's own case)."""
    involvement = add_victim(case, officer)
    victim = involvement.victim
    _submit(victim, case, officer)
    referral = victim.nrm_referrals.get()
    client.force_login(officer)
    for url in (
        f"/referrals/victims/{victim.pk}/nrm/new/",
        f"/referrals/victims/{victim.pk}/ms1/new/",
        f"/referrals/victims/{victim.pk}/agency/new/",
    ):
        since = last_id()
        assert client.get(url).status_code == 200, url
        (row,) = AuditEvent.objects.filter(pk__gt=since, action=AuditAction.CONSULTATION)
        assert (row.object_type, row.object_id) == ("victims.victim", str(victim.pk)), url
    for url, page in (
        (f"/referrals/nrm/{referral.pk}/decision/", "NRM decision"),
        (f"/referrals/nrm/{referral.pk}/link/", "NRM referral's crime"),
    ):
        since = last_id()
        assert client.get(url).status_code == 200, url
        (row,) = AuditEvent.objects.filter(pk__gt=since, action=AuditAction.CONSULTATION)
        assert row.investigation_reference == case.reference
        assert row.detail == {"page": page}


def test_a_refused_form_shows_the_record_again_and_is_a_consultation(client, case, officer):
    """A POST refused (400) shows the form with the record again: a consultation, as the GET;
    a POST that succeeds records its write and no consultation."""
    involvement = add_victim(case, officer)
    client.force_login(officer)
    url = f"/investigations/{case.reference}/victims/{involvement.pk}/account/"
    since = last_id()
    assert client.post(url, {"version": case.version}).status_code == 400
    (row,) = AuditEvent.objects.filter(pk__gt=since, action=AuditAction.CONSULTATION)
    assert row.investigation_reference == case.reference

    since = last_id()
    response = client.post(f"/victims/{involvement.victim_id}/edit/", {"version": "1", "name": ""})
    assert response.status_code == 400
    (row,) = AuditEvent.objects.filter(pk__gt=since, action=AuditAction.CONSULTATION)
    assert (row.object_type, row.object_id) == ("victims.victim", str(involvement.victim_id))


def test_the_print_form_is_a_consultation(client, case, officer):
    client.force_login(officer)
    since = last_id()
    assert client.get(f"/investigations/{case.reference}/print/").status_code == 200
    (row,) = consultations(since, "Print form")
    assert row.investigation_reference == case.reference
