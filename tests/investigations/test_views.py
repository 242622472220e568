"""Pages for investigations: sign-in, 404 and 403 rules, every form's refusals (400 with a
GOV.UK error summary, typed values kept, nothing saved), stale edits (409), the list's filters
and pagination, and query counts that do not grow with the data."""

from __future__ import annotations

import html as html_lib
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from investigations import actions, views
from investigations.models import (
    ClosureReview,
    CrimeDecision,
    Enquiry,
    Investigation,
    InvestigationGroupObjectPermission,
    Offence,
    OffenceType,
    ReferenceCounter,
    Status,
    SupervisoryReview,
    Suspect,
    TimelineEvent,
    TimelineKind,
)
from slaverycases.accounts import roles
from slaverycases.accounts.actions import unit_ensure
from slaverycases.accounts.models import Unit, User
from slaverycases.audit.models import AuditAction, AuditEvent
from tests import factories
from victims import actions as victim_actions

pytestmark = pytest.mark.django_db

PROBLEM = "There is a problem"
_offence_refs = itertools.count(1)  # crime references are unique within a force
STALE = "Someone else changed this record"
LONG_TITLE = "Long title " + "x" * 190  # 201 characters
LONG_SUMMARY = "Long summary " + "y" * 4988  # 5001 characters
assert len(LONG_TITLE) == 201
assert len(LONG_SUMMARY) == 5001


# --- helpers -----------------------------------------------------------------------------------


def make_user(username: str, *, unit: Unit, role: str) -> User:
    user = User.objects.create(
        username=username,
        first_name=username.split(".")[0].title(),
        last_name="Tester",
        force=unit.force,
        unit=unit,
    )
    user.groups.add(Group.objects.get(name=role))
    return user


def case_url(inv: Investigation, suffix: str = "") -> str:
    return f"/investigations/{inv.reference}/{suffix}"


def date_post(name: str, when: date | datetime, *, with_time: bool = True) -> dict[str, str]:
    """The GOV.UK three-part date input (and a 24-hour time) as a browser posts it."""
    if isinstance(when, datetime):
        local = timezone.localtime(when)
        day, time = local.date(), local.strftime("%H:%M")
    else:
        day, time = when, "12:00"
    data = {
        f"{name}_day": str(day.day),
        f"{name}_month": str(day.month),
        f"{name}_year": str(day.year),
    }
    if with_time:
        data[f"{name}_time"] = time
    return data


def tomorrow() -> date:
    return timezone.localdate() + timedelta(days=1)


def input_value(html: str, name: str) -> str | None:
    """The value of a text/hidden input, or the content of a textarea, as re-rendered."""
    tag = re.search(rf'<input[^>]*\bname="{re.escape(name)}"[^>]*>', html)
    if tag:
        value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
        return html_lib.unescape(value.group(1)) if value else None
    area = re.search(rf'<textarea[^>]*\bname="{re.escape(name)}"[^>]*>(.*?)</textarea>', html, re.S)
    if area:
        return html_lib.unescape(area.group(1))
    return None


def checked_values(html: str, name: str) -> set[str]:
    """Checked radios / checkboxes, or the selected option of a select."""
    values = set()
    for tag in re.findall(rf'<input[^>]*\bname="{re.escape(name)}"[^>]*>', html):
        if re.search(r"\schecked\b", tag):
            values.add(html_lib.unescape(re.search(r'\bvalue="([^"]*)"', tag).group(1)))
    select = re.search(rf'<select[^>]*\bname="{re.escape(name)}"[^>]*>(.*?)</select>', html, re.S)
    if select:
        values |= set(re.findall(r'<option value="([^"]*)" selected>', select.group(1)))
    return values


def state(inv: Investigation) -> dict[str, Any]:
    """What any write to the case changes; page views only add CONSULTATION rows."""
    fresh = Investigation.objects.get(pk=inv.pk)
    return {
        "version": fresh.version,
        "status": fresh.status,
        "title": fresh.title,
        "summary": fresh.summary,
        "source": fresh.source,
        "oic": fresh.oic_id,
        "started_at": fresh.started_at,
        "exploitation": sorted(fresh.exploitation.values_list("type", flat=True)),
        "offences": list(Offence.objects.filter(investigation=fresh).values()),
        "enquiries": list(Enquiry.objects.filter(investigation=fresh).values()),
        "suspects": list(Suspect.objects.filter(investigation=fresh).values()),
        "reviews": SupervisoryReview.objects.filter(investigation=fresh).count(),
        "closure_reviews": list(ClosureReview.objects.filter(investigation=fresh).values()),
        "timeline": TimelineEvent.objects.filter(investigation=fresh).count(),
        "grants": InvestigationGroupObjectPermission.objects.filter(content_object=fresh).count(),
        "audit": AuditEvent.objects.filter(investigation_reference=fresh.reference)
        .exclude(action=AuditAction.CONSULTATION)
        .count(),
    }


def refs(response) -> list[str]:
    return [inv.reference for inv in response.context["page_obj"]]


def linked_refs(html: str) -> list[str]:
    return re.findall(r'href="/investigations/([A-Z]+-\d{4}-\d{6})/"', html)


# --- payloads of valid forms, varied per test ---------------------------------------------------


def edit_data(inv: Investigation, **over: Any) -> dict[str, Any]:
    data = {
        "version": inv.version,
        "title": inv.title,
        "summary": inv.summary,
        "source": inv.source,
        "location": inv.location,
        "exploitation_types": ["labour"],
    }
    return {**data, **over}


def crime_data(inv: Investigation, **over: Any) -> dict[str, Any]:
    data = {
        "version": inv.version,
        "decision": CrimeDecision.RECORDED,
        **date_post("decided_at", inv.reported_at + timedelta(hours=2)),
        "crime_reference": "GMP/26/TYPED1",
        "offence_type": OffenceType.MSA_S1,
        "not_recorded_reason": "",
    }
    return {**data, **over}


def offence_data(inv: Investigation, **over: Any) -> dict[str, Any]:
    data = {
        "crime_reference": "GMP/26/TYPED2",
        "offence_type": OffenceType.RAPE,
        **date_post("recorded_at", inv.reported_at + timedelta(days=1)),
        "notes": "Disclosed in interview",
    }
    return {**data, **over}


def enquiry_data(inv: Investigation, **over: Any) -> dict[str, Any]:
    data = {
        "description": "Check the CCTV at the car wash",
        "substantive": "yes",
        "owner": inv.oic_id or inv.created_by_id,
    }
    return {**data, **over}


def complete_data(inv: Investigation, **over: Any) -> dict[str, Any]:
    data = {
        **date_post("completed_at", inv.reported_at + timedelta(days=1)),
        "result": "Typed result of the enquiry",
    }
    return {**data, **over}


def suspect_data(**over: Any) -> dict[str, Any]:
    data = {
        "name": "Arben Krasniqi",
        "aliases": "Beni",
        "nationality": "Albanian",
        "role": "controller",
        "outcome": "open",
        "prevention_order": "not_considered",
        "risk_order": "not_considered",
    }
    return {**data, **over}


def closure_request_data(inv: Investigation, **over: Any) -> dict[str, Any]:
    data = {
        "version": inv.version,
        "proposed_outcome": "charged",
        "proposed_nfa_reason": "",
        "rationale": "Typed rationale: suspect charged",
    }
    return {**data, **over}


def closure_review_data(inv: Investigation, **over: Any) -> dict[str, Any]:
    data = {"version": inv.version, "decision": "approve", "rationale": "Typed decision"}
    return {**data, **over}


def with_enquiry(inv: Investigation) -> Enquiry:
    return actions.enquiry_add(
        inv,
        actor=inv.created_by,
        description="Take the account",
        substantive=True,
        owner=inv.created_by,
    )


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def case(officer, supervisor):
    """A GMP case under investigation with one suspect and one open enquiry."""
    inv = factories.investigation(officer, stage="under_investigation", supervisor=supervisor)
    actions.suspect_add(inv, actor=officer, name="Arben Krasniqi", role="controller")
    with_enquiry(inv)
    inv.refresh_from_db()
    return inv


def every_case_url(inv: Investigation) -> list[str]:
    enquiry = Enquiry.objects.filter(investigation=inv).first()
    suspect = Suspect.objects.filter(investigation=inv).first()
    return [
        case_url(inv),
        *(
            case_url(inv, s)
            for s in (
                "edit/",
                "crime-decision/",
                "allocate/",
                "offences/new/",
                "enquiries/new/",
                f"enquiries/{enquiry.pk}/complete/",
                "suspects/new/",
                f"suspects/{suspect.pk}/edit/",
                "reviews/new/",
                "closure/request/",
                "closure/review/",
                "reopen/",
                "share/",
            )
        ),
    ]


# --- sign in, 404, 403 -------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_sign_in(client, case):
    for url in ["/investigations/", "/investigations/new/", *every_case_url(case)]:
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, url
            assert response["Location"] == f"/account/sign-in/?next={quote(url)}", url
    assert not AuditEvent.objects.filter(action=AuditAction.CONSULTATION).exists()


def test_outsiders_get_404_on_every_case_url(client, case, other_force_officer):
    before = state(case)
    client.force_login(other_force_officer)
    for url in every_case_url(case):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"version": case.version, "reason": "x"}).status_code == 404, url
    assert state(case) == before


def test_a_sub_record_of_another_case_is_404(client, case, officer, supervisor):
    other = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    enquiry = Enquiry.objects.filter(investigation=case).first()
    suspect = Suspect.objects.get(investigation=case)
    client.force_login(officer)
    assert client.get(case_url(other, f"enquiries/{enquiry.pk}/complete/")).status_code == 404
    assert client.get(case_url(other, f"suspects/{suspect.pk}/edit/")).status_code == 404


def test_an_unknown_reference_is_404(client, officer):
    client.force_login(officer)
    assert client.get("/investigations/GMP-2020-999999/").status_code == 404


def test_read_only_users_get_403_on_every_write(client, case, safeguarding_lead):
    before = state(case)
    client.force_login(safeguarding_lead)
    assert client.get(case_url(case)).status_code == 200
    assert client.get("/investigations/new/").status_code == 403
    assert client.post("/investigations/new/", {"title": "x"}).status_code == 403
    for url in every_case_url(case)[1:]:
        if url.endswith("/share/"):
            continue  # a safeguarding lead may share a case (victim relocation)
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"version": case.version, "reason": "x"}).status_code == 403, url
    assert state(case) == before


def test_an_officer_gets_403_on_supervisor_pages(client, case, officer):
    client.force_login(officer)
    for suffix in ("allocate/", "reviews/new/", "closure/review/", "reopen/", "share/"):
        assert client.get(case_url(case, suffix)).status_code == 403, suffix


def test_the_403_page_explains_the_refusal(client, case, officer):
    client.force_login(officer)
    response = client.get(case_url(case, "allocate/"))
    assert response.status_code == 403
    assert "You cannot do this" in response.content.decode()


# --- happy paths through the pages ------------------------------------------------------------


def test_log_a_new_report(client, officer):
    client.force_login(officer)
    form_page = client.get("/investigations/new/")
    assert form_page.status_code == 200
    assert (
        '<nav aria-label="Back"><a href="/investigations/" class="govuk-back-link">'
        "Back to investigations</a></nav>"
    ) in form_page.content.decode()
    reported = timezone.now() - timedelta(hours=3)
    response = client.post(
        "/investigations/new/",
        {
            "title": "Hand car wash on Ashton Old Road",
            "summary": "Men sleeping on site.",
            "source": "public",
            "exploitation_types": ["labour", "criminal"],
            "location": "Manchester",
            **date_post("reported_at", reported),
        },
        follow=True,
    )
    inv = Investigation.objects.get()
    assert response.redirect_chain[-1][0] == case_url(inv)
    assert f"Report logged as {inv.reference}" in response.content.decode()
    assert inv.title == "Hand car wash on Ashton Old Road"
    assert inv.reported_at == reported.replace(second=0, microsecond=0)
    assert sorted(inv.exploitation.values_list("type", flat=True)) == ["criminal", "labour"]


def test_the_same_report_form_sent_twice_logs_one_report(client, officer):
    """The form carries a token, new each time it opens: sent again (a double click without
    JavaScript, a page resent from the history) it finds the report already logged."""
    client.force_login(officer)
    token = input_value(client.get("/investigations/new/").content.decode(), "submission")
    assert token
    data = {
        "title": "Nail bar on Oldham Street",
        "summary": "Two young women, no pay.",
        "source": "ngo",
        "exploitation_types": ["labour"],
        **date_post("reported_at", timezone.now() - timedelta(hours=1)),
        "submission": token,
    }
    first = client.post("/investigations/new/", data, follow=True)
    inv = Investigation.objects.get()
    assert f"Report logged as {inv.reference}" in first.content.decode()
    again = client.post("/investigations/new/", data, follow=True)
    assert again.redirect_chain[-1][0] == case_url(inv)
    assert f"This report was already logged as {inv.reference}" in again.content.decode()
    assert Investigation.objects.count() == 1
    # A new form is a new report; someone else's form is not theirs to replay.
    other = input_value(client.get("/investigations/new/").content.decode(), "submission")
    assert other != token
    client.force_login(make_user("colleague.gmp", unit=officer.unit, role=roles.OFFICER))
    refused = client.post("/investigations/new/", data)
    assert refused.status_code == 400
    assert "This form has already been used" in refused.content.decode()
    assert Investigation.objects.count() == 1


def test_record_the_crime_decision(client, officer):
    inv = factories.investigation(officer)
    client.force_login(officer)
    page = client.get(case_url(inv, "crime-decision/"))
    assert input_value(page.content.decode(), "version") == str(inv.version)
    response = client.post(case_url(inv, "crime-decision/"), crime_data(inv))
    assert response.status_code == 302
    fresh = Investigation.objects.get(pk=inv.pk)
    assert fresh.status == Status.RECORDED
    assert Offence.objects.get(investigation=inv).crime_reference == "GMP/26/TYPED1"


def test_allocate(client, officer, supervisor):
    inv = factories.investigation(officer, stage="recorded", supervisor=supervisor)
    client.force_login(supervisor)
    page = client.get(case_url(inv, "allocate/")).content.decode()
    assert checked_values(page, "supervisor") == {str(supervisor.pk)}
    response = client.post(
        case_url(inv, "allocate/"),
        {"version": inv.version, "oic": officer.pk, "supervisor": supervisor.pk},
    )
    assert response.status_code == 302
    fresh = Investigation.objects.get(pk=inv.pk)
    assert (fresh.status, fresh.oic, fresh.supervisor) == (Status.ALLOCATED, officer, supervisor)


def test_record_an_offence(client, case, officer):
    client.force_login(officer)
    response = client.post(case_url(case, "offences/new/"), offence_data(case))
    assert response.status_code == 302
    assert Offence.objects.filter(investigation=case, offence_type="rape").exists()


def _victim_of(inv: Investigation, actor: User, name: str, crime_reference: str) -> Any:
    (involvement,) = victim_actions.victims_add_to_investigation(
        inv,
        actor=actor,
        people=[{"name": name, "crime_reference": crime_reference}],
        identified_at=timezone.now() - timedelta(hours=1),
        offence_type=OffenceType.MSA_S2,
    )
    return involvement.victim


def test_an_offence_is_recorded_for_the_victim_who_disclosed_it(client, case, officer):
    """The unrecorded_linked_offence flag is cleared by an offence of that type recorded for
    that victim: the case page's form says which victim, from the case's own victims."""
    victim = _victim_of(case, officer, "Andrei Ionescu", "GMP/26/V00001")
    client.force_login(officer)
    url = case_url(case, "offences/new/")
    html = client.get(url).content.decode()
    assert "Which victim is it recorded for?" in html
    assert f'<option value="{victim.pk}">Victim A: Andrei Ionescu</option>' in html
    response = client.post(url, offence_data(case, victim=victim.pk))
    assert response.status_code == 302
    offence = Offence.objects.get(investigation=case, offence_type=OffenceType.RAPE)
    assert offence.victim == victim


def test_an_offence_for_someone_elses_victim_or_a_used_reference_is_refused(
    client, case, officer, supervisor
):
    other = factories.investigation(officer, stage="under_investigation", supervisor=supervisor)
    stranger = _victim_of(other, officer, "Elena Dumitru", "GMP/26/V00002")
    client.force_login(officer)
    url = case_url(case, "offences/new/")
    before = Offence.objects.count()
    response = client.post(url, offence_data(case, victim=stranger.pk))
    assert response.status_code == 400
    assert "Select a victim of this investigation" in response.content.decode()
    response = client.post(url, offence_data(case, crime_reference="GMP/26/V00002"))
    assert response.status_code == 400
    html = response.content.decode()
    assert PROBLEM in html
    assert "Crime reference GMP/26/V00002 is already used in this force." in html
    assert Offence.objects.count() == before


def test_an_offences_outcome_is_recorded_also_after_the_case_closes(client, officer, supervisor):
    """Charged, then convicted months after the investigation closed as charged: the case
    team records each outcome; the timeline and the audit log say what it was before."""
    inv = factories.investigation(officer, stage="closed", supervisor=supervisor)
    offence = Offence.objects.filter(investigation=inv).first()
    assert offence is not None and offence.outcome == "open"
    client.force_login(officer)
    url = case_url(inv, f"offences/{offence.pk}/outcome/")
    assert f'href="/investigations/{inv.reference}/offences/{offence.pk}/outcome/"' in (
        client.get(case_url(inv)).content.decode()
    )
    form_page = client.get(url)
    assert form_page.status_code == 200
    assert "What is the outcome of this offence?" in form_page.content.decode()

    inv.refresh_from_db()
    stale = {"version": inv.version, "outcome": "charged"}
    response = client.post(url, {"version": inv.version, "outcome": "convicted"})
    assert response.status_code == 302
    offence.refresh_from_db()
    assert offence.outcome == "convicted"
    latest = TimelineEvent.objects.filter(investigation=inv).order_by("-at", "-pk").first()
    assert latest.text.startswith("Outcome of ")
    assert latest.text.endswith("convicted (was under investigation)")
    assert AuditEvent.objects.filter(
        action=AuditAction.ALTERATION, object_type="investigations.offence"
    ).exists()

    response = client.post(url, stale)  # loaded before the conviction was recorded
    assert response.status_code == 409
    offence.refresh_from_db()
    assert offence.outcome == "convicted"

    inv.refresh_from_db()
    response = client.post(url, {"version": inv.version, "outcome": ""})
    assert response.status_code == 400
    assert "Select the outcome of the offence" in response.content.decode()


def test_add_and_complete_an_enquiry(client, officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    client.force_login(officer)
    due = date_post("due_date", timezone.localdate() + timedelta(days=7), with_time=False)
    response = client.post(case_url(inv, "enquiries/new/"), {**enquiry_data(inv), **due})
    assert response.status_code == 302
    enquiry = Enquiry.objects.get(investigation=inv)
    assert enquiry.substantive is True
    assert enquiry.due_date == timezone.localdate() + timedelta(days=7)
    response = client.post(
        case_url(inv, f"enquiries/{enquiry.pk}/complete/"), complete_data(inv), follow=True
    )
    assert "Enquiry completed" in response.content.decode()
    fresh = Investigation.objects.get(pk=inv.pk)
    assert fresh.status == Status.UNDER_INVESTIGATION
    assert fresh.started_at is not None


def test_add_and_update_a_suspect(client, officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    client.force_login(officer)
    response = client.post(case_url(inv, "suspects/new/"), suspect_data())
    assert response.status_code == 302
    suspect = Suspect.objects.get(investigation=inv)
    page = client.get(case_url(inv, f"suspects/{suspect.pk}/edit/")).content.decode()
    assert input_value(page, "name") == "Arben Krasniqi"
    version = int(input_value(page, "version"))
    arrested = timezone.now() - timedelta(days=1)
    response = client.post(
        case_url(inv, f"suspects/{suspect.pk}/edit/"),
        {**suspect_data(outcome="bail"), **date_post("arrested_at", arrested), "version": version},
    )
    assert response.status_code == 302
    suspect.refresh_from_db()
    assert suspect.outcome == "bail"
    assert suspect.arrested_at == arrested.replace(second=0, microsecond=0)


def test_record_a_supervisory_review(client, case, supervisor):
    client.force_login(supervisor)
    due = date_post("next_review_due", timezone.localdate() + timedelta(days=28), with_time=False)
    response = client.post(case_url(case, "reviews/new/"), {"direction": "Trace the van", **due})
    assert response.status_code == 302
    assert SupervisoryReview.objects.get(investigation=case).direction == "Trace the van"


def test_closure_request_rejection_approval_and_reopening(client, case, officer, supervisor):
    client.force_login(officer)
    response = client.post(case_url(case, "closure/request/"), closure_request_data(case))
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.CLOSURE_REQUESTED

    client.force_login(supervisor)
    page = client.get(case_url(case, "closure/review/")).content.decode()
    assert "Typed rationale: suspect charged" in page  # the request is shown to the reviewer
    assert "Facts that matter for the decision" in page
    response = client.post(
        case_url(case, "closure/review/"), closure_review_data(case, decision="reject")
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.UNDER_INVESTIGATION

    client.force_login(officer)
    client.post(case_url(case, "closure/request/"), closure_request_data(case))
    case.refresh_from_db()
    client.force_login(supervisor)
    response = client.post(case_url(case, "closure/review/"), closure_review_data(case))
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.outcome) == (Status.CLOSED, "charged")

    response = client.post(
        case_url(case, "reopen/"), {"version": case.version, "reason": "New witness"}
    )
    assert response.status_code == 302
    assert Investigation.objects.get(pk=case.pk).status == Status.UNDER_INVESTIGATION


def test_a_supervisor_approving_their_own_request_gets_403(client, case, officer, supervisor):
    actions.closure_request(
        case,
        actor=supervisor,
        expected_version=case.version,
        proposed_outcome="charged",
        proposed_nfa_reason="",
        rationale="Charged",
    )
    case.refresh_from_db()
    before = state(case)
    client.force_login(supervisor)
    response = client.post(case_url(case, "closure/review/"), closure_review_data(case))
    assert response.status_code == 403
    assert "another supervisor must review it" in response.content.decode()
    assert state(case) == before
    # Said before the form is filled in: no link on the case page or the dashboard, and the
    # form's address answers with the reason.
    response = client.get(case_url(case, "closure/review/"))
    assert response.status_code == 403
    assert "another supervisor must review it" in response.content.decode()
    assert case_url(case, "closure/review/") not in client.get(case_url(case)).content.decode()
    assert case_url(case, "closure/review/") not in client.get("/dashboard/").content.decode()


def test_share_the_case(client, case, supervisor, other_force_officer):
    client.force_login(supervisor)
    page = client.get(case_url(case, "share/")).content.decode()
    assert f'value="unit:{case.unit_id}"' not in page  # not with its own unit
    response = client.post(
        case_url(case, "share/"),
        {"share_with": f"unit:{other_force_officer.unit_id}", "reason": "Victim relocated"},
    )
    assert response.status_code == 302
    # Offered no more once shared with (a second share would disclose nothing new).
    client.force_login(supervisor)
    page = client.get(case_url(case, "share/")).content.decode()
    assert f'value="unit:{other_force_officer.unit_id}"' not in page
    assert f'value="force:{other_force_officer.force_id}"' in page
    client.force_login(other_force_officer)
    assert client.get(case_url(case)).status_code == 200


def test_the_case_page_shows_the_case_and_what_the_user_may_do(client, case, officer, supervisor):
    client.force_login(officer)
    html = client.get(case_url(case)).content.decode()
    assert case.title in html
    assert "OFFICIAL-SENSITIVE" in html
    assert "Arben Krasniqi" in html
    assert "Take the account" in html
    assert "Change report details" in html
    assert "Request closure" in html
    assert ">Allocate<" not in html and ">Re-allocate<" not in html
    client.force_login(supervisor)
    assert "Re-allocate" in client.get(case_url(case)).content.decode()


def test_a_case_with_no_enquiries_says_so(client, officer):
    inv = factories.investigation(officer)
    client.force_login(officer)
    assert "No enquiries made." in client.get(case_url(inv)).content.decode()


def test_a_lower_case_reference_finds_the_case(client, case, officer):
    client.force_login(officer)
    assert client.get(case_url(case).lower()).status_code == 200


# --- every form rejects bad input -------------------------------------------------------------


@dataclass
class Bad:
    id: str
    stage: str
    persona: str
    path: Callable[[Investigation], str]
    data: Callable[[Investigation, dict[str, User]], dict[str, Any]]
    error: str  # shown in the error summary (or "#field-id" for the summary's link)
    kept: dict[str, Any] = field(default_factory=dict)  # name -> typed value (or set)
    prepare: Callable[[Investigation], Any] | None = None


def _path(suffix: str) -> Callable[[Investigation], str]:
    return lambda inv: case_url(inv, suffix)


def _enquiry_path(inv: Investigation) -> str:
    enquiry = Enquiry.objects.filter(investigation=inv, completed_at__isnull=True).first()
    return case_url(inv, f"enquiries/{enquiry.pk}/complete/")


BAD_INPUT = [
    Bad(
        "edit-title-too-long",
        "reported",
        "officer",
        _path("edit/"),
        lambda inv, p: edit_data(inv, title=LONG_TITLE),
        "Short title must be 200 characters or fewer",
        {"title": LONG_TITLE},
    ),
    Bad(
        "edit-summary-too-long",
        "allocated",
        "officer",
        _path("edit/"),
        lambda inv, p: edit_data(inv, summary=LONG_SUMMARY),
        "What was reported must be 5000 characters or fewer",
        {"summary": LONG_SUMMARY},
    ),
    Bad(
        "edit-unknown-source",
        "reported",
        "officer",
        _path("edit/"),
        lambda inv, p: edit_data(inv, source="carrier_pigeon", title="Typed new title"),
        "#id_source_0",
        {"title": "Typed new title"},
    ),
    Bad(
        "edit-unknown-exploitation-type",
        "reported",
        "officer",
        _path("edit/"),
        lambda inv, p: edit_data(inv, exploitation_types=["labour", "piracy"], location="Typed"),
        "#id_exploitation_types_0",
        {"location": "Typed"},
    ),
    Bad(
        "crime-decision-in-the-future",
        "reported",
        "officer",
        _path("crime-decision/"),
        lambda inv, p: crime_data(inv, **date_post("decided_at", tomorrow())),
        "Date and time of the decision must be today or in the past",
        {
            "decided_at_day": str(tomorrow().day),
            "decided_at_year": str(tomorrow().year),
            "crime_reference": "GMP/26/TYPED1",
        },
    ),
    Bad(
        "crime-decision-before-the-report",
        "reported",
        "officer",
        _path("crime-decision/"),
        lambda inv, p: crime_data(
            inv, **date_post("decided_at", inv.reported_at - timedelta(days=2))
        ),
        "The decision cannot be before the report was made.",
        {"crime_reference": "GMP/26/TYPED1", "decision": {"recorded"}},
    ),
    Bad(
        "crime-decision-impossible-date",
        "reported",
        "officer",
        _path("crime-decision/"),
        lambda inv, p: crime_data(
            inv, decided_at_day="31", decided_at_month="2", decided_at_year="2026"
        ),
        "Date and time of the decision must be a real date",
        {"decided_at_day": "31", "decided_at_month": "2"},
    ),
    Bad(
        "crime-decision-bad-time",
        "reported",
        "officer",
        _path("crime-decision/"),
        lambda inv, p: crime_data(inv, decided_at_time="25:61"),
        "must have a real time in 24-hour format",
        {"decided_at_time": "25:61"},
    ),
    Bad(
        "crime-decision-unknown-offence-type",
        "reported",
        "officer",
        _path("crime-decision/"),
        lambda inv, p: crime_data(inv, offence_type="piracy"),
        "#id_offence_type",
        {"crime_reference": "GMP/26/TYPED1"},
    ),
    Bad(
        "crime-decision-recorded-without-reference",
        "reported",
        "officer",
        _path("crime-decision/"),
        lambda inv, p: crime_data(inv, crime_reference=""),
        "Enter the crime reference number",
        {"offence_type": {"msa_s1"}},
    ),
    Bad(
        "crime-decision-not-recorded-without-reason",
        "reported",
        "officer",
        _path("crime-decision/"),
        lambda inv, p: crime_data(inv, decision="not_recorded", not_recorded_reason=" "),
        "Enter the reason for not recording a crime",
        {"decision": {"not_recorded"}},
    ),
    Bad(
        "crime-decision-on-an-already-recorded-case",
        "recorded",
        "officer",
        _path("crime-decision/"),
        lambda inv, p: crime_data(inv, crime_reference="GMP/26/SECOND"),
        "This investigation is recorded: that step is not possible now.",
        {"crime_reference": "GMP/26/SECOND"},
    ),
    Bad(
        "allocate-an-officer-of-another-force",
        "recorded",
        "supervisor",
        _path("allocate/"),
        lambda inv, p: {
            "version": inv.version,
            "oic": p["officer.wyp"].pk,
            "supervisor": p["supervisor.gmp"].pk,
        },
        "from the owning unit",
        {"supervisor": {"__supervisor__"}},
    ),
    Bad(
        "allocate-a-reported-case",
        "reported",
        "supervisor",
        _path("allocate/"),
        lambda inv, p: {
            "version": inv.version,
            "oic": p["officer.gmp"].pk,
            "supervisor": p["supervisor.gmp"].pk,
        },
        "This investigation is reported: that step is not possible now.",
    ),
    Bad(
        "offence-unknown-type",
        "allocated",
        "officer",
        _path("offences/new/"),
        lambda inv, p: offence_data(inv, offence_type="piracy"),
        "#id_offence_type",
        {"crime_reference": "GMP/26/TYPED2", "notes": "Disclosed in interview"},
    ),
    Bad(
        "offence-recorded-before-the-report",
        "allocated",
        "officer",
        _path("offences/new/"),
        lambda inv, p: offence_data(
            inv, **date_post("recorded_at", inv.reported_at - timedelta(days=1))
        ),
        "The offence cannot be recorded before the report was made.",
        {"crime_reference": "GMP/26/TYPED2"},
    ),
    Bad(
        "offence-recorded-in-the-future",
        "allocated",
        "officer",
        _path("offences/new/"),
        lambda inv, p: offence_data(inv, **date_post("recorded_at", tomorrow())),
        "Date and time recorded must be today or in the past",
        {"recorded_at_day": str(tomorrow().day)},
    ),
    Bad(
        "offence-before-the-crime-decision",
        "reported",
        "officer",
        _path("offences/new/"),
        lambda inv, p: offence_data(inv),
        "Record the crime recording decision first.",
        {"crime_reference": "GMP/26/TYPED2"},
    ),
    Bad(
        "enquiry-due-in-the-past",
        "allocated",
        "officer",
        _path("enquiries/new/"),
        lambda inv, p: {
            **enquiry_data(inv),
            **date_post("due_date", timezone.localdate() - timedelta(days=1), with_time=False),
        },
        "Due date must be today or in the future",
        {"description": "Check the CCTV at the car wash", "substantive": {"yes"}},
    ),
    Bad(
        "enquiry-description-too-long",
        "allocated",
        "officer",
        _path("enquiries/new/"),
        lambda inv, p: enquiry_data(inv, description="D" * 301),
        "What needs to be done must be 300 characters or fewer",
        {"description": "D" * 301},
    ),
    Bad(
        "enquiry-owner-of-another-force",
        "allocated",
        "officer",
        _path("enquiries/new/"),
        lambda inv, p: enquiry_data(inv, owner=p["officer.wyp"].pk),
        "#id_owner",
        {"description": "Check the CCTV at the car wash"},
    ),
    Bad(
        "enquiry-on-a-closed-case",
        "closed",
        "officer",
        _path("enquiries/new/"),
        lambda inv, p: enquiry_data(inv),
        "This investigation is closed. A supervisor must reopen it before it can change.",
        {"description": "Check the CCTV at the car wash"},
    ),
    Bad(
        "enquiry-completed-before-the-report",
        "allocated",
        "officer",
        _enquiry_path,
        lambda inv, p: complete_data(
            inv, **date_post("completed_at", inv.reported_at - timedelta(days=1))
        ),
        "The enquiry cannot be completed before the report was made.",
        {"result": "Typed result of the enquiry"},
        prepare=with_enquiry,
    ),
    Bad(
        "enquiry-completed-in-the-future",
        "allocated",
        "officer",
        _enquiry_path,
        lambda inv, p: complete_data(inv, **date_post("completed_at", tomorrow())),
        "Date and time completed must be today or in the past",
        {"result": "Typed result of the enquiry", "completed_at_day": str(tomorrow().day)},
        prepare=with_enquiry,
    ),
    Bad(
        "enquiry-result-too-long",
        "allocated",
        "officer",
        _enquiry_path,
        lambda inv, p: complete_data(inv, result="R" * 5001),
        "Result must be 5000 characters or fewer",
        {"result": "R" * 5001},
        prepare=with_enquiry,
    ),
    Bad(
        "suspect-charged-before-arrest",
        "allocated",
        "officer",
        _path("suspects/new/"),
        lambda inv, p: {
            **suspect_data(),
            **date_post("arrested_at", timezone.now() - timedelta(days=1)),
            **date_post("charged_at", timezone.now() - timedelta(days=2)),
        },
        "Date charged must be the same as or after the arrest",
        {"name": "Arben Krasniqi", "role": {"controller"}},
    ),
    Bad(
        "suspect-born-in-the-future",
        "allocated",
        "officer",
        _path("suspects/new/"),
        lambda inv, p: {
            **suspect_data(),
            **date_post("date_of_birth", tomorrow(), with_time=False),
        },
        "Date of birth must be today or in the past",
        {"name": "Arben Krasniqi", "date_of_birth_year": str(tomorrow().year)},
    ),
    Bad(
        "suspect-name-too-long",
        "allocated",
        "officer",
        _path("suspects/new/"),
        lambda inv, p: suspect_data(name="N" * 201),
        "Full name must be 200 characters or fewer",
        {"name": "N" * 201},
    ),
    Bad(
        "review-next-due-today",
        "allocated",
        "supervisor",
        _path("reviews/new/"),
        lambda inv, p: {
            "direction": "Typed direction",
            **date_post("next_review_due", timezone.localdate(), with_time=False),
        },
        "Next review due must be in the future",
        {"direction": "Typed direction"},
    ),
    Bad(
        "review-without-a-direction",
        "allocated",
        "supervisor",
        _path("reviews/new/"),
        lambda inv, p: date_post("next_review_due", tomorrow(), with_time=False),
        "Enter direction given",
        {"next_review_due_day": str(tomorrow().day)},
    ),
    Bad(
        "closure-request-nfa-without-reason",
        "under_investigation",
        "officer",
        _path("closure/request/"),
        lambda inv, p: closure_request_data(inv, proposed_outcome="nfa"),
        "Select the reason for no further action",
        {"rationale": "Typed rationale: suspect charged", "proposed_outcome": {"nfa"}},
    ),
    Bad(
        "closure-request-of-a-reported-case",
        "reported",
        "officer",
        _path("closure/request/"),
        lambda inv, p: closure_request_data(inv),
        "This investigation is reported: that step is not possible now.",
        {"rationale": "Typed rationale: suspect charged"},
    ),
    Bad(
        "closure-approval-when-nothing-is-pending",
        "under_investigation",
        "supervisor",
        _path("closure/review/"),
        lambda inv, p: closure_review_data(inv),
        "This investigation is under investigation: that step is not possible now.",
        {"rationale": "Typed decision", "decision": {"approve"}},
    ),
    Bad(
        "closure-decision-without-rationale",
        "closure_requested",
        "supervisor",
        _path("closure/review/"),
        lambda inv, p: closure_review_data(inv, rationale=""),
        "Enter rationale for your decision",
        {"decision": {"approve"}},
    ),
    Bad(
        "closure-decision-unknown-choice",
        "closure_requested",
        "supervisor",
        _path("closure/review/"),
        lambda inv, p: closure_review_data(inv, decision="rubber_stamp"),
        "#id_decision_0",
        {"rationale": "Typed decision"},
    ),
    Bad(
        "reopen-an-open-case",
        "under_investigation",
        "supervisor",
        _path("reopen/"),
        lambda inv, p: {"version": inv.version, "reason": "Typed reason"},
        "This investigation is under investigation: that step is not possible now.",
        {"reason": "Typed reason"},
    ),
    Bad(
        "share-without-a-reason",
        "allocated",
        "supervisor",
        _path("share/"),
        lambda inv, p: {"share_with": f"unit:{p['officer.wyp'].unit_id}", "reason": ""},
        "Enter reason for sharing",
        {"share_with": {"__wyp_unit__"}},
    ),
    Bad(
        "share-with-an-unknown-unit",
        "allocated",
        "supervisor",
        _path("share/"),
        lambda inv, p: {"share_with": "unit:999999", "reason": "Typed reason"},
        "#id_share_with",
        {"reason": "Typed reason"},
    ),
]


@pytest.mark.parametrize("bad", BAD_INPUT, ids=[b.id for b in BAD_INPUT])
def test_every_form_rejects_bad_input_keeps_it_and_saves_nothing(
    client, people, officer, supervisor, bad
):
    inv = factories.investigation(officer, stage=bad.stage, supervisor=supervisor)
    if bad.prepare:
        bad.prepare(inv)
        inv.refresh_from_db()
    url = bad.path(inv)
    client.force_login(people[f"{bad.persona}.gmp"])
    # A closed case's form says so as it opens (test_a_closed_cases_forms_say_so_when_opened);
    # a POST (an old tab, a replay) is still refused by the action with the form's message.
    assert client.get(url).status_code == (409 if inv.status == Status.CLOSED else 200)
    before = state(inv)

    response = client.post(url, bad.data(inv, people))

    html = response.content.decode()
    assert response.status_code == 400, html[:2000]
    assert PROBLEM in html
    assert "<title>Error: " in html
    if bad.error.startswith("#"):
        assert f'<a href="{bad.error}">' in html
    else:
        assert bad.error in html
    placeholders = {
        "__supervisor__": str(supervisor.pk),
        "__wyp_unit__": f"unit:{people['officer.wyp'].unit_id}",
    }
    for name, typed in bad.kept.items():
        if isinstance(typed, set):
            assert checked_values(html, name) == {placeholders.get(v, v) for v in typed}, name
        else:
            assert input_value(html, name) == typed, name
    assert state(inv) == before


def test_an_empty_intake_form_lists_every_missing_answer(client, officer):
    client.force_login(officer)
    blank = {"title": "", "summary": "", "location": ""}  # what a browser sends, unfilled
    blank.update({f"reported_at_{part}": "" for part in ("day", "month", "year", "time")})
    response = client.post("/investigations/new/", blank)
    html = response.content.decode()
    assert response.status_code == 400
    assert PROBLEM in html
    for message in (
        "Enter short title",
        "Enter what was reported",
        "Select source of the report",
        "Select the types of exploitation",
        "Enter the date and time of the report",
    ):
        assert message in html
    assert not Investigation.objects.exists()


TWO_DAYS_AGO = timezone.localdate() - timedelta(days=2)


@pytest.mark.parametrize(
    ("over", "error", "kept"),
    [
        (
            {**date_post("reported_at", tomorrow())},
            "Date and time of the report must be today or in the past",
            {"reported_at_day": str(tomorrow().day), "title": "Typed title"},
        ),
        (
            {"title": LONG_TITLE},
            "Short title must be 200 characters or fewer",
            {"title": LONG_TITLE},
        ),
        (
            {"summary": LONG_SUMMARY},
            "What was reported must be 5000 characters or fewer",
            {"summary": LONG_SUMMARY},
        ),
        (
            {"exploitation_types": ["labour", "piracy"]},
            '<a href="#id_exploitation_types_0">',
            {"title": "Typed title"},
        ),
        (
            {"reported_at_month": ""},
            "Date and time of the report must include a month",
            {"reported_at_day": str(TWO_DAYS_AGO.day), "reported_at_time": "12:00"},
        ),
        ({"location": "L" * 201}, "must be 200 characters or fewer", {"location": "L" * 201}),
    ],
    ids=["future-date", "long-title", "long-summary", "unknown-type", "no-month", "long-place"],
)
def test_the_intake_form_rejects_bad_input(client, officer, over, error, kept):
    client.force_login(officer)
    data = {
        "title": "Typed title",
        "summary": "Typed summary",
        "source": "ngo",
        "exploitation_types": ["labour"],
        "location": "",
        **date_post("reported_at", TWO_DAYS_AGO),
        **over,
    }
    response = client.post("/investigations/new/", data)
    html = response.content.decode()
    assert response.status_code == 400
    assert PROBLEM in html
    assert error in html
    for name, value in kept.items():
        assert input_value(html, name) == value, name
    assert checked_values(html, "source") == {"ngo"}
    assert "labour" in checked_values(html, "exploitation_types")
    assert not Investigation.objects.exists()
    assert not ReferenceCounter.objects.filter(last_number__gt=0).exists()


def test_an_unknown_offence_type_gets_the_forms_own_message(client, officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    client.force_login(officer)
    response = client.post(case_url(inv, "offences/new/"), offence_data(inv, offence_type="x"))
    assert response.status_code == 400
    assert "Select an offence from the list" in response.content.decode()


def test_the_allocation_error_reads_well(client, officer, supervisor, other_force_officer):
    inv = factories.investigation(officer, stage="recorded", supervisor=supervisor)
    client.force_login(supervisor)
    response = client.post(
        case_url(inv, "allocate/"),
        {"version": inv.version, "oic": other_force_officer.pk, "supervisor": supervisor.pk},
    )
    assert response.status_code == 400
    assert "Select an officer in charge from the owning unit" in response.content.decode()


# --- stale edits through the pages ------------------------------------------------------------


def test_two_edits_from_the_same_loaded_version_the_second_gets_409(client, officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    url = case_url(inv, "edit/")
    client.force_login(officer)
    other = Client()
    other.force_login(supervisor)
    version = input_value(client.get(url).content.decode(), "version")
    assert input_value(other.get(url).content.decode(), "version") == version

    first = client.post(url, edit_data(inv, version=version, title="First editor's title"))
    assert first.status_code == 302
    second = other.post(
        url, edit_data(inv, version=version, title="Second title", summary="Second summary")
    )

    html = second.content.decode()
    assert second.status_code == 409
    assert PROBLEM in html
    assert STALE in html
    assert input_value(html, "title") == "Second title"  # the loser's typing is not lost
    fresh = Investigation.objects.get(pk=inv.pk)
    assert fresh.title == "First editor's title"
    assert fresh.summary == inv.summary
    assert fresh.version == int(version) + 1
    # The refused form carries the version the record has now: saving it again, knowing of the
    # other change, is accepted (an old version would be refused for ever).
    assert input_value(html, "version") == str(fresh.version)
    again = other.post(
        url,
        edit_data(
            inv, version=input_value(html, "version"), title="Second title", summary="Second"
        ),
    )
    assert again.status_code == 302
    assert Investigation.objects.get(pk=inv.pk).title == "Second title"


def test_a_stale_suspect_edit_gets_409(client, officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    suspect = actions.suspect_add(inv, actor=officer, name="Arben Krasniqi", role="controller")
    url = case_url(inv, f"suspects/{suspect.pk}/edit/")
    client.force_login(officer)
    version = input_value(client.get(url).content.decode(), "version")
    assert (
        client.post(url, {**suspect_data(outcome="charged"), "version": version}).status_code == 302
    )
    response = client.post(url, {**suspect_data(outcome="nfa"), "version": version})
    assert response.status_code == 409
    assert STALE in response.content.decode()
    suspect.refresh_from_db()
    assert suspect.outcome == "charged"


def test_a_stale_closure_decision_gets_409(client, officer, supervisor):
    inv = factories.investigation(officer, stage="closure_requested", supervisor=supervisor)
    client.force_login(supervisor)
    response = client.post(
        case_url(inv, "closure/review/"), closure_review_data(inv, version=inv.version - 1)
    )
    assert response.status_code == 409
    assert STALE in response.content.decode()
    assert Investigation.objects.get(pk=inv.pk).status == Status.CLOSURE_REQUESTED


# --- the list page: filters, sort, pagination -------------------------------------------------


@pytest.fixture
def listed(people, officer, supervisor):
    """Cases of several kinds; some the GMP officer may see, some not."""
    other_unit = unit_ensure(force=officer.force, name="GMP Exploitation Team")
    other_supervisor = make_user("exploitation.supervisor", unit=other_unit, role=roles.SUPERVISOR)
    second_officer = make_user("second.officer", unit=officer.unit, role=roles.OFFICER)
    f = factories.investigation
    cases = {
        "car_wash": f(officer, title="Car wash workers", days_ago=10),
        "nail_bar": f(
            officer,
            stage="recorded",
            supervisor=supervisor,
            title="Nail bar in Oldham",
            types=("sexual", "labour"),
            days_ago=5,
        ),
        "cannabis": f(
            officer,
            stage="allocated",
            supervisor=supervisor,
            title="Cannabis farm",
            types=("criminal",),
            days_ago=20,
        ),
        "salford": f(
            officer,
            stage="recorded",
            supervisor=supervisor,
            title="Domestic servitude in Salford",
            types=("domestic",),
            days_ago=1,
        ),
        "shared": f(
            other_supervisor, title="Shared car wash case", types=("sexual",), unit=other_unit
        ),
        "hidden": f(other_supervisor, title="Hidden car wash case", unit=other_unit),
        "leeds": f(people["officer.wyp"], title="Car wash in Leeds"),
    }
    salford = cases["salford"]
    salford = actions.investigation_allocate(
        salford,
        actor=supervisor,
        expected_version=salford.version,
        oic=second_officer,
        supervisor=supervisor,
    )
    actions.suspect_add(salford, actor=officer, name="Arben Krasniqi", role="principal")
    actions.investigation_share(
        cases["shared"], actor=other_supervisor, reason="Joint work", unit=officer.unit
    )
    cases["other_unit"] = other_unit
    cases["second_officer"] = second_officer
    return cases


VISIBLE = {"car_wash", "nail_bar", "cannabis", "salford", "shared"}


def _expect(listed: dict, *names: str) -> set[str]:
    return {listed[n].reference for n in names}


def test_the_list_shows_only_visible_cases(client, listed, officer):
    client.force_login(officer)
    response = client.get("/investigations/")
    assert response.status_code == 200
    assert set(refs(response)) == _expect(listed, *VISIBLE)
    html = response.content.decode()
    assert set(linked_refs(html)) == _expect(listed, *VISIBLE)
    assert "5 investigations" in html
    assert listed["hidden"].reference not in html
    assert listed["leeds"].reference not in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "recorded"}, {"nail_bar"}),
        ({"status": "reported"}, {"car_wash", "shared"}),
        ({"status": "closed"}, set()),
        ({"exploitation": "labour"}, {"car_wash", "nail_bar"}),
        ({"exploitation": "sexual"}, {"nail_bar", "shared"}),
        ({"q": "car wash"}, {"car_wash", "shared"}),
        ({"q": "CANNABIS"}, {"cannabis"}),
        ({"q": "krasniqi"}, {"salford"}),
        ({"q": "Leeds"}, set()),
        ({"status": "reported", "q": "shared"}, {"shared"}),
        ({"exploitation": "labour", "status": "recorded"}, {"nail_bar"}),
    ],
    ids=lambda v: "-".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else None,
)
def test_list_filters_return_only_matching_visible_cases(client, listed, officer, query, expected):
    client.force_login(officer)
    response = client.get("/investigations/", query)
    assert response.status_code == 200
    assert set(refs(response)) == _expect(listed, *expected)


def test_list_filters_by_unit_and_officer_in_charge(client, listed, officer):
    client.force_login(officer)
    by_unit = client.get("/investigations/", {"unit": listed["other_unit"].pk})
    assert set(refs(by_unit)) == _expect(listed, "shared")  # not the unshared one
    own_unit = client.get("/investigations/", {"unit": officer.unit_id})
    assert set(refs(own_unit)) == _expect(listed, "car_wash", "nail_bar", "cannabis", "salford")
    by_oic = client.get("/investigations/", {"oic": officer.pk})
    assert set(refs(by_oic)) == _expect(listed, "cannabis")
    by_second = client.get("/investigations/", {"oic": listed["second_officer"].pk})
    assert set(refs(by_second)) == _expect(listed, "salford")


def test_list_search_by_exact_reference(client, listed, officer):
    client.force_login(officer)
    reference = listed["nail_bar"].reference
    for text in (reference, reference.lower(), f"  {reference} "):
        assert refs(client.get("/investigations/", {"q": text})) == [reference]
    hidden = listed["leeds"].reference
    assert refs(client.get("/investigations/", {"q": hidden})) == []


def test_list_sorting(client, listed, officer):
    client.force_login(officer)
    visible = [listed[n] for n in VISIBLE]

    def fetch(sort: str | None) -> list[str]:
        return refs(client.get("/investigations/", {"sort": sort} if sort else {}))

    newest_first = sorted(visible, key=lambda i: (i.reported_at, i.pk), reverse=True)
    assert fetch(None) == [i.reference for i in newest_first]
    assert fetch("-reported_at") == [i.reference for i in newest_first]
    assert fetch("reported_at") == [
        i.reference for i in sorted(visible, key=lambda i: (i.reported_at, -i.pk))
    ]
    assert fetch("reference") == sorted(i.reference for i in visible)
    statuses = [Investigation.objects.get(reference=r).status for r in fetch("status")]
    assert statuses == sorted(statuses)


@pytest.mark.parametrize(
    "query",
    [{"status": "bogus"}, {"sort": "title; drop table"}, {"oic": "999999"}, {"q": "q" * 101}],
)
def test_a_bad_filter_is_400_with_an_error_summary(client, listed, officer, query):
    client.force_login(officer)
    response = client.get("/investigations/", query)
    assert response.status_code == 400
    assert PROBLEM in response.content.decode()
    assert set(refs(response)) == _expect(listed, *VISIBLE)  # the list is still shown, unfiltered


def test_the_list_is_paginated_at_25(client, officer, supervisor, other_force_officer):
    mine = [factories.investigation(officer, days_ago=1 + i / 10) for i in range(30)]
    factories.investigation(other_force_officer)  # never listed
    client.force_login(officer)

    first = client.get("/investigations/")
    html = first.content.decode()
    assert len(refs(first)) == 25
    assert len(linked_refs(html)) == 25
    assert "30 investigations" in html
    assert "Page 1 of 2" in html
    assert 'href="?page=2"' in html

    second = client.get("/investigations/", {"page": 2})
    assert len(refs(second)) == 5
    assert "Page 2 of 2" in second.content.decode()
    assert set(refs(first)) | set(refs(second)) == {i.reference for i in mine}
    assert not set(refs(first)) & set(refs(second))

    # out of range pages show the last page; filters are kept in the page links
    assert refs(client.get("/investigations/", {"page": 99})) == refs(second)
    filtered = client.get("/investigations/", {"status": "reported", "sort": "reference"})
    assert 'href="?status=reported&amp;sort=reference&amp;page=2"' in filtered.content.decode()


def test_beyond_the_count_limit_the_list_says_more_than_and_pages_without_a_last(
    client, officer, supervisor, monkeypatch
):
    """A unit's list counts up to COUNT_LIMIT cases (a national unit holds 80,000 after ten
    years, and counting them all cost more than the rest of the page's queries)."""
    mine = [factories.investigation(officer, days_ago=1 + i / 10) for i in range(30)]
    client.force_login(officer)
    monkeypatch.setattr(views, "COUNT_LIMIT", 29)
    first = client.get("/investigations/")
    html = first.content.decode()
    assert first.status_code == 200
    assert "More than 29 investigations" in html
    assert "Page 1</span>" in html and "Page 1 of" not in html
    assert 'href="?page=2"' in html
    second = client.get("/investigations/", {"page": 2})
    html = second.content.decode()
    assert "Page 2</span>" in html
    assert 'href="?page=1"' in html and 'href="?page=3"' not in html
    assert set(refs(first)) | set(refs(second)) == {i.reference for i in mine}
    assert len(refs(first)) == 25 and len(refs(second)) == 5

    # At the limit the count is exact, with the number of pages.
    monkeypatch.setattr(views, "COUNT_LIMIT", 30)
    html = client.get("/investigations/").content.decode()
    assert "30 investigations" in html and "Page 1 of 2" in html
    assert "More than" not in html


# --- query counts do not grow with the data ---------------------------------------------------


def count_queries(client, url: str) -> int:
    client.get(url)  # warm-up: the same for the small and the large case
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def assert_same_count(client, url: str, n: int, django_assert_num_queries) -> None:
    client.get(url)  # warm-up, as when measuring
    large = count_queries(client, url)
    assert large == n, f"{large} queries with more data, {n} with little: it grows"
    with django_assert_num_queries(n):
        response = client.get(url)
    assert response.status_code == 200


def _more_cases(officer, supervisor, count: int) -> None:
    stages = ["reported", "recorded", "allocated", "under_investigation"]
    types = [("labour",), ("sexual", "labour"), ("criminal",), ("domestic", "other")]
    for i in range(count):
        inv = factories.investigation(
            officer,
            stage=stages[i % 4],
            supervisor=supervisor,
            types=types[i % 4],
            days_ago=1 + i / 24,
        )
        if i % 5 == 0:
            actions.suspect_add(inv, actor=officer, name=f"Suspect {i}", role="other")


@pytest.mark.parametrize("query", ["", "?sort=reference&exploitation=labour", "?q=case&page=2"])
def test_the_list_runs_a_fixed_number_of_queries(
    client, people, officer, supervisor, django_assert_num_queries, query
):
    _more_cases(officer, supervisor, 3)
    wyp_case = factories.investigation(people["officer.wyp"], title="Shared case")
    actions.investigation_share(
        wyp_case, actor=people["supervisor.wyp"], reason="Joint", unit=officer.unit
    )
    client.force_login(officer)
    url = f"/investigations/{query}"
    small = count_queries(client, url)

    _more_cases(officer, supervisor, 57)
    assert Investigation.objects.visible_to(officer).count() == 61
    assert_same_count(client, url, small, django_assert_num_queries)


def _grow_case(inv: Investigation, officer, supervisor, enquiries: int) -> None:
    """Enquiries (half completed), each with timeline events, and more of everything else."""
    for i in range(enquiries):
        enquiry = actions.enquiry_add(
            inv,
            actor=officer,
            description=f"Enquiry {i}",
            substantive=i % 3 != 0,
            owner=officer if i % 2 else supervisor,
            due_date=timezone.localdate() + timedelta(days=i),
        )
        if i % 2:
            actions.enquiry_complete(
                enquiry,
                actor=officer,
                completed_at=inv.reported_at + timedelta(hours=i + 1),
                result=f"Result {i}",
            )
    for i in range(max(1, enquiries // 10)):
        actions.suspect_add(inv, actor=officer, name=f"Suspect {i}", role="recruiter")
        actions.offence_record(
            inv,
            actor=officer,
            crime_reference=f"GMP/26/Q{next(_offence_refs):05d}",
            offence_type=OffenceType.ASSAULT,
            recorded_at=inv.reported_at + timedelta(hours=1),
        )
        actions.supervisory_review_add(
            inv, actor=supervisor, direction=f"Direction {i}", next_review_due=None
        )
        inv.refresh_from_db()
        actions.closure_request(
            inv,
            actor=officer,
            expected_version=inv.version,
            proposed_outcome="nfa",
            proposed_nfa_reason="evidential",
            rationale=f"Attempt {i}",
        )
        inv.refresh_from_db()
        actions.closure_reject(
            inv, actor=supervisor, expected_version=inv.version, rationale=f"Not yet {i}"
        )


def test_the_case_page_runs_a_fixed_number_of_queries(
    client, people, officer, supervisor, django_assert_num_queries
):
    inv = factories.investigation(officer, stage="under_investigation", supervisor=supervisor)
    _grow_case(inv, officer, supervisor, 3)
    actions.investigation_share(
        inv, actor=supervisor, reason="Relocation", unit=people["officer.wyp"].unit
    )
    client.force_login(officer)
    url = case_url(inv)
    small = count_queries(client, url)

    _grow_case(inv, officer, supervisor, 57)
    actions.investigation_share(
        inv, actor=supervisor, reason="Relocation", force=people["officer.wyp"].force
    )
    actions.investigation_share(
        inv, actor=supervisor, reason="Liaison", user=people["supervisor.wyp"]
    )
    assert Enquiry.objects.filter(investigation=inv).count() == 61
    assert TimelineEvent.objects.filter(investigation=inv).count() > 100
    assert_same_count(client, url, small, django_assert_num_queries)


def test_the_closure_review_page_runs_a_fixed_number_of_queries(
    client, officer, supervisor, django_assert_num_queries
):
    inv = factories.investigation(officer, stage="under_investigation", supervisor=supervisor)
    _grow_case(inv, officer, supervisor, 3)
    inv.refresh_from_db()
    actions.closure_request(
        inv,
        actor=officer,
        expected_version=inv.version,
        proposed_outcome="charged",
        proposed_nfa_reason="",
        rationale="Charged",
    )
    client.force_login(supervisor)
    url = case_url(inv, "closure/review/")
    small = count_queries(client, url)

    inv.refresh_from_db()
    actions.closure_reject(inv, actor=supervisor, expected_version=inv.version, rationale="No")
    _grow_case(inv, officer, supervisor, 57)
    inv.refresh_from_db()
    actions.closure_request(
        inv,
        actor=officer,
        expected_version=inv.version,
        proposed_outcome="charged",
        proposed_nfa_reason="",
        rationale="Charged",
    )
    assert_same_count(client, url, small, django_assert_num_queries)


def test_the_case_page_shows_the_newest_timeline_events_and_links_to_all(
    client, officer, supervisor, monkeypatch, django_assert_num_queries
):
    inv = factories.investigation(officer, stage="under_investigation", supervisor=supervisor)
    start = timezone.now()  # after the events of the case's creation and allocation
    for n in range(6):
        actions.record_on_case(
            inv,
            actor=officer,
            kind=TimelineKind.UPDATED,
            text=f"Event number {n:02d}",
            at=start + timedelta(seconds=n + 1),
        )
    total = TimelineEvent.objects.filter(investigation=inv).count()
    monkeypatch.setattr(views, "TIMELINE_SHOWN", 3)
    client.force_login(officer)
    html = client.get(case_url(inv)).content.decode()
    timeline = html[html.index('id="timeline"') :]
    shown = re.findall(r"Event number (\d\d)", timeline)
    assert shown == ["05", "04", "03"]  # newest first
    assert f"The newest 3 of {total} events" in timeline
    assert f'href="?timeline=all#timeline">Show all {total} events</a>' in timeline

    whole = client.get(case_url(inv), {"timeline": "all"}).content.decode()
    whole_timeline = whole[whole.index('id="timeline"') :]
    assert re.findall(r"Event number (\d\d)", whole_timeline) == [
        "05",
        "04",
        "03",
        "02",
        "01",
        "00",
    ]
    assert "Show all" not in whole_timeline
    assert whole_timeline.count('class="app-timeline__item"') == total

    # The same number of queries with a page of events as with all of them.
    client.get(case_url(inv))
    with CaptureQueriesContext(connection) as some:
        client.get(case_url(inv))
    with django_assert_num_queries(len(some.captured_queries)):
        client.get(case_url(inv), {"timeline": "all"})


def test_a_closed_cases_forms_say_so_when_opened(client, officer, supervisor):
    """A step a closed case does not allow says so as its page opens (409, with the way back),
    not after the form is filled in; the steps a closed case allows still open."""
    inv = factories.investigation(officer, stage="closed", supervisor=supervisor)
    client.force_login(officer)
    for suffix in ("edit/", "enquiries/new/", "offences/new/", "closure/request/"):
        response = client.get(case_url(inv, suffix))
        assert response.status_code == 409, suffix
        html = response.content.decode()
        assert "This investigation is closed" in html
        assert "A supervisor of the owning unit must reopen it first." in html
        assert 'name="version"' not in html  # no form to fill in
    offence = inv.offences.first()
    assert client.get(case_url(inv, f"offences/{offence.pk}/outcome/")).status_code == 200
    client.force_login(supervisor)
    assert client.get(case_url(inv, "reopen/")).status_code == 200
    assert client.get(case_url(inv, "share/")).status_code == 200


@pytest.mark.parametrize(
    ("parts", "href"),
    [
        ({"reported_at_time": "25:61"}, "#id_reported_at_time"),
        ({"reported_at_month": ""}, "#id_reported_at_month"),
        ({"reported_at_day": "31", "reported_at_month": "2"}, "#id_reported_at_day"),
    ],
    ids=["time", "month", "day"],
)
def test_a_date_error_links_to_the_box_at_fault(client, officer, parts, href):
    client.force_login(officer)
    data = {
        "title": "Car wash",
        "summary": "Men sleeping on site.",
        "source": "public",
        "exploitation_types": ["labour"],
        **date_post("reported_at", timezone.now() - timedelta(days=3)),
        **parts,
    }
    response = client.post("/investigations/new/", data)
    assert response.status_code == 400
    summary = response.content.decode()
    summary = summary[summary.index("govuk-error-summary") :]
    assert f'<a href="{href}">' in summary
