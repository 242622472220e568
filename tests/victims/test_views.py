"""Victim pages: sign-in, 404 and 403 rules, multi-victim intake with its duplicate check, the
child rule on every page that shows a victim, sensitive fields only for the case team's
officer in charge, supervisor and safeguarding leads, GOV.UK errors with nothing half saved, and
query counts that do not grow with the number of victims."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from investigations import actions as case_actions
from investigations.models import Investigation, Offence, OffenceType
from safeguarding import actions as sg_actions
from slaverycases.accounts import roles
from slaverycases.accounts.models import User
from slaverycases.audit.models import AuditAction, AuditEvent
from tests import factories
from tests.investigations.test_views import input_value
from tests.victims.test_actions import (
    add_victims,
    counts,
    last_audit_id,
    make_user,
    new_audits,
    person,
    years_ago,
)
from victims import actions
from victims.models import CustodyEvent, Disclosure, Involvement, Victim

pytestmark = pytest.mark.django_db

PROBLEM = "There is a problem"
CHILD_TAG = '<strong class="govuk-tag govuk-tag--pink">Child</strong>'
OFFERED = "Some of these people may already have a record"


# --- helpers -----------------------------------------------------------------------------------


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


def intake_data(
    rows: list[dict[str, Any]],
    *,
    identified_at: datetime | None = None,
    offence_type: str = OffenceType.MSA_S1,
    indicators: tuple[str, ...] = ("movement",),
) -> dict[str, Any]:
    """The intake page as a browser posts it: the case questions, the management form (every
    row shown is an initial row) and one block of `victim-<i>-...` keys per person."""
    data: dict[str, Any] = {
        "victim-TOTAL_FORMS": str(len(rows)),
        "victim-INITIAL_FORMS": str(len(rows)),
        "victim-MIN_NUM_FORMS": "1",
        "victim-MAX_NUM_FORMS": "30",
        **date_post("identified_at", identified_at or timezone.now() - timedelta(days=1)),
        "offence_type": offence_type,
        "indicators": list(indicators),
    }
    for i, row in enumerate(rows):
        row = {"gender": "unknown", **row}
        for key, value in row.items():
            if key == "date_of_birth":
                data.update(date_post(f"victim-{i}-date_of_birth", value, with_time=False))
            elif isinstance(value, bool):
                if value:
                    data[f"victim-{i}-{key}"] = "on"
            else:
                data[f"victim-{i}-{key}"] = str(value)
    return data


_crn = {"n": 0}


def row(name: str, **fields: Any) -> dict[str, Any]:
    """One person's block; `match` is the hidden field every row carries until the duplicate
    check asks its question."""
    _crn["n"] += 1
    return {"name": name, "crime_reference": f"GMP/26/{800000 + _crn['n']}", "match": "", **fields}


def add_url(inv: Investigation) -> str:
    return f"/investigations/{inv.reference}/victims/add/"


def case_url(inv: Investigation) -> str:
    return f"/investigations/{inv.reference}/"


def victim_url(victim: Victim | int, suffix: str = "") -> str:
    pk = victim if isinstance(victim, int) else victim.pk
    return f"/victims/{pk}/{suffix}"


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def case_card(html: str, victim: Victim) -> str:
    """The victim's summary card in the victims section of the case page."""
    start = html.index(f'id="victim-{victim.pk}"')
    end = html.find('<div class="govuk-summary-card"', start)
    return html[start : end if end != -1 else html.index('id="offences"', start)]


def heading(html: str) -> str:
    return re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S).group(1)


def board_row(html: str, victim: Victim) -> str:
    table = html[html.index('id="board"') :]
    start = table.index(f'href="/victims/{victim.pk}/"')
    return table[start : table.index("</tr>", start)]


def count_queries(client, url: str) -> int:
    client.get(url)  # warm-up: the same for the small and the large case
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def assert_same_count(client, url: str, n: int, django_assert_num_queries) -> None:
    client.get(url)  # warm-up, as when measuring
    with django_assert_num_queries(n):
        response = client.get(url)
    assert response.status_code == 200


def populate(inv: Investigation, people: dict[str, User], how_many: int, start: int = 0) -> list:
    """Victims with everything their pages show, in a repeating pattern of three: an account,
    a linked disclosure, an arrest, a plan and contact; an unlinked disclosure, contact and a
    relocation to West Yorkshire; a child who is missing."""
    officer, lead = people["officer.gmp"], people["safeguarding.gmp"]
    now, today = timezone.now(), timezone.localdate()
    created = add_victims(
        inv,
        officer,
        *(
            person(
                f"Person {start + i:02d} Surname{start + i:02d}",
                nationality="Romanian",
                date_of_birth=years_ago(16 if i % 3 == 2 else 30),
                crime_reference=f"POP/{inv.pk}/{start + i}",
            )
            for i in range(how_many)
        ),
        identified_at=inv.reported_at + timedelta(hours=1),
    )
    for i, involvement in enumerate(created):
        kind = (start + i) % 3
        victim = involvement.victim
        if kind == 0:
            actions.involvement_record_account(
                involvement,
                actor=officer,
                taken_at=inv.reported_at + timedelta(hours=2),
                interpreter_used=True,
                interpreter_language="Romanian",
                summary="Account.",
                indicators=["debt"],
            )
            actions.custody_event_record(
                victim,
                investigation=inv,
                actor=officer,
                kind="arrested",
                offence="Cannabis cultivation",
                occurred_at=inv.reported_at + timedelta(hours=3),
                s45_decision="not_considered",
                s45_rationale="",
            )
            sg_actions.plan_save(
                victim,
                actor=lead,
                expected_version=None,
                lead=lead,
                risk_level="high",
                risks=["retrafficking"],
                measures=["safe_house"],
                contact_every_days=7,
                review_date=today + timedelta(days=20),
            )
        if kind in (0, 1):
            disclosure = actions.disclosure_record(
                involvement,
                actor=officer,
                offence_type=OffenceType.RAPE,
                disclosed_at=inv.reported_at + timedelta(hours=4),
                account="Disclosed.",
            )
            if kind == 0:
                actions.disclosure_link_offence(
                    disclosure, actor=officer, crime_reference=f"POP/{inv.pk}/R{start + i}"
                )
            sg_actions.contact_record(
                victim,
                actor=lead,
                at=now - timedelta(days=10, minutes=start + i),
                method="phone",
                made=True,
                interpreter_used=False,
                notes="Fine.",
                next_contact_due=today + timedelta(days=(start + i) % 5 * 3 - 6),  # some overdue
            )
        if kind == 1:
            sg_actions.relocation_record(
                victim,
                actor=lead,
                relocated_on=today,
                destination_type="force_area",
                to_force=people["officer.wyp"].force,
                safe_house_location="Withheld",
                receiving_contact="Gareth Lloyd",
                first_contact_within_days=7,
            )
        if kind == 2:
            sg_actions.missing_episode_open(
                victim,
                actor=lead,
                reported_missing_at=now - timedelta(hours=2),
                risk_level="high",
                notes="",
            )
    return created


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def case(officer, supervisor):
    """A GMP case allocated to officer.gmp, supervised by supervisor.gmp, reported 3 days ago."""
    return factories.investigation(officer, stage="allocated", supervisor=supervisor)


@pytest.fixture
def victim_a(case, officer) -> Involvement:
    (involvement,) = add_victims(
        case,
        officer,
        person("Andrei Ionescu", nationality="Romanian", date_of_birth=date(1990, 3, 14)),
    )
    return involvement


@pytest.fixture
def colleague(officer) -> User:
    """An officer of the same GMP unit who is neither the OIC nor the supervisor."""
    return make_user("colleague.gmp", unit=officer.unit, role=roles.OFFICER)


def every_victim_url(inv: Investigation, involvement: Involvement) -> list[str]:
    disclosure = Disclosure.objects.filter(involvement=involvement).first()
    base = f"/investigations/{inv.reference}/"
    return [
        f"{base}victims/add/",
        f"{base}victims/{involvement.pk}/account/",
        f"{base}victims/{involvement.pk}/disclosures/new/",
        f"{base}victims/{involvement.pk}/custody/new/",
        f"{base}disclosures/{disclosure.pk}/link/",
        victim_url(involvement.victim_id),
        victim_url(involvement.victim_id, "edit/"),
    ]


@pytest.fixture
def with_disclosure(officer, victim_a) -> Disclosure:
    return actions.disclosure_record(
        victim_a,
        actor=officer,
        offence_type=OffenceType.RAPE,
        disclosed_at=timezone.now() - timedelta(hours=1),
        account="Raped by the controller.",
    )


# --- sign in, 404, 403 -------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_sign_in(client, case, victim_a, with_disclosure):
    for url in every_victim_url(case, victim_a):
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, url
            assert response["Location"] == f"/account/sign-in/?next={quote(url)}", url
    assert not AuditEvent.objects.filter(action=AuditAction.CONSULTATION).exists()


@pytest.mark.parametrize("who", ["officer.wyp", "safeguarding.wyp", "supervisor.wyp", "auditor"])
def test_users_who_cannot_see_the_case_get_404(
    client, people, case, victim_a, with_disclosure, who
):
    """The auditor sees no case at all, so every victim page is a 404 for it too."""
    client.force_login(people[who])
    before = counts()
    for url in every_victim_url(case, victim_a):
        assert client.get(url).status_code == 404, url
        assert client.post(url, intake_data([row("Mihai Popa")])).status_code == 404, url
    assert counts() == before


def test_an_involvement_of_another_case_is_404(client, case, officer, supervisor, victim_a):
    other = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    client.force_login(officer)
    for suffix in ("account/", "disclosures/new/", "custody/new/"):
        url = f"/investigations/{other.reference}/victims/{victim_a.pk}/{suffix}"
        assert client.get(url).status_code == 404, url


def test_a_safeguarding_lead_reads_but_gets_403_on_case_writes(
    client, case, victim_a, with_disclosure, safeguarding_lead
):
    before = counts()
    client.force_login(safeguarding_lead)
    assert client.get(case_url(case)).status_code == 200
    urls = every_victim_url(case, victim_a)
    for url in urls[:5]:
        assert client.get(url).status_code == 403, url
        assert client.post(url, intake_data([row("Mihai Popa")])).status_code == 403, url
    assert client.get(urls[5]).status_code == 200  # the victim's page
    assert counts() == {**before, "AuditEvent": counts()["AuditEvent"]}


def test_a_user_who_sees_the_case_through_a_share_cannot_add_victims(
    client, case, victim_a, with_disclosure, supervisor, other_force_officer
):
    case_actions.investigation_share(
        case, actor=supervisor, reason="Joint operation", unit=other_force_officer.unit
    )
    before = counts()
    client.force_login(other_force_officer)
    assert client.get(case_url(case)).status_code == 200
    assert client.get(add_url(case)).status_code == 403
    response = client.post(add_url(case), intake_data([row("Mihai Popa")]))
    assert response.status_code == 403
    urls = every_victim_url(case, victim_a)
    for url in [*urls[1:5], urls[6]]:
        assert client.get(url).status_code == 403, url
        assert client.post(url, {}).status_code == 403, url
    assert client.get(urls[5]).status_code == 200  # the victim's page: read only
    assert "Change this record" not in page(client, urls[5])
    assert counts() == {**before, "AuditEvent": counts()["AuditEvent"]}
    assert not AuditEvent.objects.filter(
        actor=other_force_officer, action=AuditAction.COLLECTION
    ).exists()


def test_no_victims_can_be_added_to_a_closed_case(client, officer, supervisor):
    inv = factories.investigation(officer, stage="closed", supervisor=supervisor)
    client.force_login(officer)
    assert "Add victims" not in page(client, case_url(inv))
    response = client.post(add_url(inv), intake_data([row("Mihai Popa")]))
    assert response.status_code == 400
    html = response.content.decode()
    assert PROBLEM in html
    assert "This investigation is closed." in html
    assert not Victim.objects.exists()


def test_victims_cannot_be_added_before_the_crime_decision(client, officer):
    inv = factories.investigation(officer, stage="reported")
    client.force_login(officer)
    assert "Add victims" not in page(client, case_url(inv))
    response = client.post(add_url(inv), intake_data([row("Mihai Popa")]))
    assert response.status_code == 400
    html = response.content.decode()
    assert PROBLEM in html
    assert "Record the crime recording decision before adding victims." in html
    assert not Victim.objects.exists()


# --- multi-victim intake -----------------------------------------------------------------------


def test_the_intake_page_shows_the_rows_asked_for(client, case, officer):
    client.force_login(officer)
    html = page(client, add_url(case))
    assert 'name="victim-2-name"' in html
    assert 'name="victim-3-name"' not in html
    html = page(client, add_url(case) + "?count=5")
    assert 'name="victim-4-name"' in html
    assert 'name="victim-5-name"' not in html
    html = page(client, add_url(case) + "?count=99")
    assert 'name="victim-29-name"' in html
    assert 'name="victim-30-name"' not in html


def test_the_first_row_carries_the_crime_recorded_for_the_report(client, case, officer):
    """The case's crime with no victim yet is the first person's: their row starts with its
    reference (changeable), the other rows empty; once it is a victim's, no row carries it."""
    report_crime = case.offences.get().crime_reference
    client.force_login(officer)
    html = page(client, add_url(case))
    assert input_value(html, "victim-0-crime_reference") == report_crime
    assert not input_value(html, "victim-1-crime_reference")
    add_victims(case, officer, person("Andrei Ionescu", crime_reference=report_crime))
    assert not input_value(page(client, add_url(case)), "victim-0-crime_reference")


def test_add_three_victims_found_together(client, case, officer):
    client.force_login(officer)
    response = client.post(
        add_url(case),
        intake_data(
            [
                row("Andrei Ionescu", nationality="Romanian", crime_reference="GMP/26/900001"),
                row("Mihai Popa", date_of_birth=years_ago(30), crime_reference="GMP/26/900002"),
                row("Elena Dumitru", may_be_under_18=True, crime_reference="GMP/26/900003"),
            ],
            indicators=("movement", "documents"),
        ),
    )
    assert response.status_code == 302
    assert response["Location"] == f"/investigations/{case.reference}/#victims"
    involvements = list(Involvement.objects.filter(investigation=case).order_by("label"))
    assert [(i.label, i.victim.name) for i in involvements] == [
        ("Victim A", "Andrei Ionescu"),
        ("Victim B", "Mihai Popa"),
        ("Victim C", "Elena Dumitru"),
    ]
    assert all(i.indicators == ["documents", "movement"] for i in involvements)
    crimes = Offence.objects.filter(investigation=case, victim__isnull=False)
    assert {(o.crime_reference, o.victim.name) for o in crimes} == {
        ("GMP/26/900001", "Andrei Ionescu"),
        ("GMP/26/900002", "Mihai Popa"),
        ("GMP/26/900003", "Elena Dumitru"),
    }
    html = page(client, case_url(case))
    assert "3 victims added, each with a modern slavery crime recorded" in html
    assert "Victim C: " in html


def test_an_age_is_typed_as_text_and_a_word_gets_a_message(client, case, officer):
    """Whole numbers use a text input with the numeric keyboard (GOV.UK): a number input
    would send "" for "about 30" and the age would be lost without a word."""
    client.force_login(officer)
    html = page(client, add_url(case))
    assert re.search(
        r'<input class="govuk-input[^"]*" id="id_victim-0-estimated_age" '
        r'name="victim-0-estimated_age" type="text"[^>]* inputmode="numeric"',
        html,
    )
    assert 'type="number"' not in html
    before = counts()
    response = client.post(
        add_url(case), intake_data([row("Andrei Ionescu", estimated_age="about 30")])
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Estimated age must be a number, like 24" in html
    assert 'value="about 30"' in html
    assert counts() == before


# --- the duplicate check -----------------------------------------------------------------------


@pytest.fixture
def second_case(officer, supervisor) -> Investigation:
    return factories.investigation(officer, stage="allocated", supervisor=supervisor)


def test_a_known_name_is_offered_and_nothing_is_created_until_answered(
    client, second_case, officer, victim_a
):
    client.force_login(officer)
    data = intake_data([row("andrei  IONESCU"), row("Mihai Popa")])
    before = counts()
    response = client.post(add_url(second_case), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert OFFERED in html
    assert 'value="andrei  IONESCU"' in html and 'value="Mihai Popa"' in html
    assert counts() == before

    since = last_audit_id()
    response = client.post(add_url(second_case), {**data, "victim-0-match": victim_a.victim_id})
    assert response.status_code == 302
    assert Victim.objects.count() == 2  # Andrei linked, Mihai new
    linked = Involvement.objects.get(investigation=second_case, victim_id=victim_a.victim_id)
    assert linked.label == "Victim A"
    assert Offence.objects.filter(investigation=second_case, victim_id=victim_a.victim_id).exists()
    combination = new_audits(since, action=AuditAction.COMBINATION)
    assert [(r.object_id, r.investigation_reference) for r in combination] == [
        (str(victim_a.victim_id), second_case.reference)
    ]


def test_the_question_and_the_possible_matches_are_shown(client, second_case, officer, victim_a):
    client.force_login(officer)
    data = intake_data([row("andrei  IONESCU"), row("Mihai Popa")])
    html = client.post(add_url(second_case), data).content.decode()
    assert "Is andrei  IONESCU someone we already know?" in html
    assert "Use the existing record: Andrei Ionescu, born 14 March 1990, Romanian" in html
    assert re.search(rf'name="victim-0-match"[^>]*value="{victim_a.victim_id}"', html) or re.search(
        rf'value="{victim_a.victim_id}"[^>]*name="victim-0-match"', html
    )
    assert "No, this is a new person" in html
    assert "Is Mihai Popa someone we already know?" not in html  # Mihai matches nobody


def test_the_officer_may_say_it_is_a_new_person(client, second_case, officer, victim_a):
    client.force_login(officer)
    data = intake_data([row("Andrei Ionescu")])
    assert client.post(add_url(second_case), data).status_code == 200
    response = client.post(add_url(second_case), {**data, "victim-0-match": "new"})
    assert response.status_code == 302
    assert Victim.objects.filter(name="Andrei Ionescu").count() == 2
    assert not AuditEvent.objects.filter(action=AuditAction.COMBINATION).exists()


def test_the_question_left_unanswered_is_an_error_on_the_form(
    client, second_case, officer, victim_a
):
    client.force_login(officer)
    data = intake_data([row("Andrei Ionescu"), row("Mihai Popa")])
    assert client.post(add_url(second_case), data).status_code == 200  # the question is asked
    before = counts()
    unanswered = {k: v for k, v in data.items() if k != "victim-0-match"}  # no radio chosen
    response = client.post(add_url(second_case), unanswered)
    assert response.status_code == 400
    html = response.content.decode()
    assert PROBLEM in html
    assert "<title>Error: " in html
    assert 'href="#id_victim-0-match_0"' in html  # the summary links to the first radio
    assert html.count("Select an existing record or say this is a new person") == 2
    assert 'value="Andrei Ionescu"' in html and 'value="Mihai Popa"' in html  # nothing lost
    assert counts() == before


def test_an_answer_that_was_not_offered_is_refused(client, second_case, officer, victim_a):
    stranger = add_victims(second_case, officer, person("Someone Else"))[0].victim
    client.force_login(officer)
    before = counts()
    response = client.post(
        add_url(second_case),
        {**intake_data([row("Andrei Ionescu")]), "victim-0-match": stranger.pk},
    )
    html = response.content.decode()
    assert PROBLEM in html
    assert "Select an existing record or say this is a new person" in html
    assert counts() == {**before, "AuditEvent": counts()["AuditEvent"]}


def test_an_answer_that_was_not_offered_is_a_400(client, second_case, officer, victim_a):
    client.force_login(officer)
    response = client.post(
        add_url(second_case), {**intake_data([row("Andrei Ionescu")]), "victim-0-match": "99999"}
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("fields", "offered"),
    [
        ({"date_of_birth": date(1990, 3, 14)}, True),  # a shared name part and the same birth
        ({"nationality": "romanian"}, True),  # a shared name part and the same nationality
        ({"date_of_birth": date(1991, 3, 14), "nationality": "Moldovan"}, False),
        ({}, False),  # a shared name part alone is not enough
    ],
)
def test_a_shared_name_part_needs_a_second_match(
    client, second_case, officer, victim_a, fields, offered
):
    client.force_login(officer)
    response = client.post(add_url(second_case), intake_data([row("Ionescu Vasile", **fields)]))
    if offered:
        assert response.status_code == 200
        assert OFFERED in response.content.decode()
        assert not Victim.objects.filter(name="Ionescu Vasile").exists()
    else:
        assert response.status_code == 302
        assert Victim.objects.filter(name="Ionescu Vasile").exists()


def test_an_alias_is_a_known_name(client, second_case, officer, victim_a):
    actions.victim_update(
        victim_a.victim, actor=officer, expected_version=1, aliases="Andi Ion, Dragos"
    )
    client.force_login(officer)
    response = client.post(add_url(second_case), intake_data([row("Dragos")]))
    assert response.status_code == 200
    assert OFFERED in response.content.decode()
    assert not Victim.objects.filter(name="Dragos").exists()


def test_victims_the_user_cannot_see_are_never_offered(client, people, case, officer):
    wyp_officer = people["officer.wyp"]
    wyp_case = factories.investigation(
        wyp_officer, stage="allocated", supervisor=people["supervisor.wyp"]
    )
    (hidden,) = add_victims(
        wyp_case, wyp_officer, person("Andrei Ionescu", date_of_birth=date(1990, 3, 14))
    )
    client.force_login(officer)
    response = client.post(
        add_url(case), intake_data([row("Andrei Ionescu", date_of_birth=date(1990, 3, 14))])
    )
    assert response.status_code == 302
    assert Victim.objects.filter(name="Andrei Ionescu").count() == 2
    assert not Involvement.objects.filter(investigation=case, victim=hidden.victim).exists()


def test_a_hidden_victims_id_cannot_be_posted_as_the_answer(client, people, case, officer):
    wyp_officer = people["officer.wyp"]
    wyp_case = factories.investigation(
        wyp_officer, stage="allocated", supervisor=people["supervisor.wyp"]
    )
    (hidden,) = add_victims(wyp_case, wyp_officer, person("Andrei Ionescu"))
    client.force_login(officer)
    client.post(
        add_url(case), {**intake_data([row("Andrei Ionescu")]), "victim-0-match": hidden.victim_id}
    )
    assert not Involvement.objects.filter(investigation=case, victim=hidden.victim).exists()
    assert not AuditEvent.objects.filter(action=AuditAction.COMBINATION).exists()


# --- bad intake input: a GOV.UK error, nothing half saved --------------------------------------


def _long(n: int) -> str:
    return ("Name " * n)[:n]


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        (
            [row("Mihai Popa"), row("Elena Dumitru", date_of_birth=timezone.localdate())],
            None,  # today is allowed; replaced below by a future date
        ),
        ([row("Mihai Popa"), row(_long(201))], "Full name must be 200 characters or fewer"),
        (
            [row("Mihai Popa", crime_reference="GMP/1"), row("Elena", crime_reference="GMP/1")],
            "Each victim&#x27;s crime needs its own crime reference number",
        ),
        (
            [row("Mihai Popa"), {"name": "Elena Dumitru"}],
            "Enter the crime reference number for this victim&#x27;s crime",
        ),
        ([row("Mihai Popa", estimated_age=121)], "Estimated age must be 120 or less"),
        ([row("Mihai Popa", estimated_age="old")], "Estimated age must be a number, like 24"),
        ([row("Mihai Popa"), row("")], "Enter full name"),
    ],
    ids=["dob-future", "long-name", "same-crn", "no-crn", "age-121", "age-text", "no-name"],
)
def test_bad_rows_are_refused(client, case, officer, rows, error):
    if error is None:
        rows[1]["date_of_birth"] = timezone.localdate() + timedelta(days=1)
        error = "Date of birth must be today or in the past"
    client.force_login(officer)
    before = counts()
    response = client.post(add_url(case), intake_data(rows))
    html = response.content.decode()
    assert response.status_code == 400
    assert PROBLEM in html
    assert error in html
    assert 'value="Mihai Popa"' in html  # what was typed is kept
    assert counts() == before
    if error.startswith("Enter"):  # a row's error in the summary says which row
        summary = html[html.index("govuk-error-summary") : html.index('id="count"')]
        assert f"Person 2: {error}" in summary


def test_a_crime_reference_already_used_in_the_force_refuses_the_batch(
    client, case, officer, victim_a
):
    used = Offence.objects.get(victim=victim_a.victim).crime_reference
    client.force_login(officer)
    before = counts()
    response = client.post(
        add_url(case), intake_data([row("Mihai Popa"), row("Elena Dumitru", crime_reference=used)])
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert PROBLEM in html
    assert f"Crime reference {used} is already used in this force." in html
    assert counts() == before


def test_a_refused_intake_keeps_the_number_of_rows(client, case, officer):
    client.force_login(officer)
    rows = [row(f"Person {i}") for i in range(5)]
    rows[4]["name"] = ""
    response = client.post(add_url(case), intake_data(rows))
    assert response.status_code == 400
    assert re.search(r'<input[^>]*name="count"[^>]*value="5"', response.content.decode())


@pytest.mark.parametrize(
    ("when", "error"),
    [
        (timedelta(days=10), "Victims cannot be identified before the report was made."),
        (-timedelta(hours=2), "When were they identified? must be today or in the past"),
    ],
    ids=["before-report", "future"],
)
def test_a_bad_identification_date_is_refused(client, case, officer, when, error):
    client.force_login(officer)
    response = client.post(
        add_url(case),
        intake_data([row("Mihai Popa")], identified_at=timezone.now() - when),
    )
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not Victim.objects.exists()


def test_a_blank_extra_row_is_ignored(client, case, officer):
    client.force_login(officer)
    data = intake_data([row("Mihai Popa"), {"name": "", "crime_reference": ""}])
    data["victim-INITIAL_FORMS"] = "0"
    response = client.post(add_url(case), data)
    assert response.status_code == 302


# --- accounts, disclosures and custody events through the pages -------------------------------


def account_data(inv: Investigation, **overrides: Any) -> dict[str, Any]:
    """The account form as posted, with the case's version the form was loaded at."""
    inv.refresh_from_db(fields=["version"])
    return {
        "version": inv.version,
        **date_post("taken_at", timezone.now() - timedelta(minutes=30)),
        "interpreter_used": "yes",
        "interpreter_language": "Romanian",
        "summary": "Recruited in Iasi.",
        "indicators": ["debt"],
        **overrides,
    }


def test_record_an_account(client, case, officer, victim_a):
    client.force_login(officer)
    url = f"/investigations/{case.reference}/victims/{victim_a.pk}/account/"
    assert "Record Victim A&#x27;s account (Andrei Ionescu)" in page(client, url)
    response = client.post(url, account_data(case))
    assert response.status_code == 302
    assert response["Location"] == f"/investigations/{case.reference}/#victims"
    victim_a.refresh_from_db()
    assert victim_a.spoken_to
    assert "with a Romanian interpreter" in case_card(page(client, case_url(case)), victim_a.victim)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"interpreter_language": ""}, "Enter the interpreter&#x27;s language"),
        ({"summary": "x" * 5001}, "Summary of the account must be 5000 characters or fewer"),
        ({"summary": ""}, "Enter summary of the account"),
        (date_post("taken_at", date(2099, 1, 1)), "must be today or in the past"),
    ],
    ids=["no-language", "long-summary", "no-summary", "future"],
)
def test_bad_accounts_are_refused(client, case, officer, victim_a, overrides, error):
    client.force_login(officer)
    url = f"/investigations/{case.reference}/victims/{victim_a.pk}/account/"
    before = counts()
    response = client.post(url, account_data(case, **overrides))
    assert response.status_code == 400
    html = response.content.decode()
    assert PROBLEM in html
    assert error in html
    assert counts() == before


def test_a_recorded_account_is_changed_from_what_was_saved(client, case, officer, victim_a):
    client.force_login(officer)
    url = f"/investigations/{case.reference}/victims/{victim_a.pk}/account/"
    assert client.post(url, account_data(case)).status_code == 302
    html = page(client, url)
    assert "Change Victim A&#x27;s account (Andrei Ionescu)" in html
    assert "Recruited in Iasi." in html  # the form starts from the saved account
    assert 'value="Romanian"' in html
    assert "Change account<span" in page(client, case_url(case))
    response = client.post(url, account_data(case, summary="Recruited in Iasi; moved to Leeds."))
    assert response.status_code == 302
    victim_a.refresh_from_db()
    assert victim_a.account_summary == "Recruited in Iasi; moved to Leeds."


def test_two_officers_recording_one_account_cannot_overwrite_each_other(
    client, case, officer, victim_a
):
    client.force_login(officer)
    url = f"/investigations/{case.reference}/victims/{victim_a.pk}/account/"
    first = account_data(case, summary="First officer's account.")
    second = account_data(case, summary="Second officer's account.")  # loaded at the same time
    assert client.post(url, first).status_code == 302
    response = client.post(url, second)
    assert response.status_code == 409
    html = response.content.decode()
    assert PROBLEM in html
    assert "Second officer&#x27;s account." in html  # what they typed is kept on the form
    victim_a.refresh_from_db()
    assert victim_a.account_summary == "First officer's account."


def test_an_account_before_the_identification_is_refused(client, case, officer, victim_a):
    client.force_login(officer)
    url = f"/investigations/{case.reference}/victims/{victim_a.pk}/account/"
    response = client.post(url, account_data(case, **date_post("taken_at", case.reported_at)))
    assert response.status_code == 400
    assert "before the victim was identified" in response.content.decode()


def test_record_a_disclosure_then_the_offence(client, case, officer, victim_a):
    client.force_login(officer)
    base = f"/investigations/{case.reference}/"
    response = client.post(
        f"{base}victims/{victim_a.pk}/disclosures/new/",
        {
            "offence_type": OffenceType.RAPE,
            **date_post("disclosed_at", timezone.now() - timedelta(minutes=10)),
            "account": "Raped by the controller.",
        },
    )
    assert response.status_code == 302
    disclosure = Disclosure.objects.get()
    card = case_card(page(client, case_url(case)), victim_a.victim)
    assert "Not recorded" in card
    assert f"{base}disclosures/{disclosure.pk}/link/" in card

    link = f"{base}disclosures/{disclosure.pk}/link/"
    response = client.post(link, {"offence": "", "crime_reference": ""})
    assert response.status_code == 400
    assert "Choose a recorded offence or enter the crime reference number" in (
        response.content.decode()
    )
    response = client.post(link, {"offence": "", "crime_reference": " GMP/26/900010 "})
    assert response.status_code == 302
    disclosure.refresh_from_db()
    assert disclosure.offence.crime_reference == "GMP/26/900010"
    assert "recorded as GMP/26/900010" in case_card(page(client, case_url(case)), victim_a.victim)


def test_a_long_disclosure_account_is_refused(client, case, officer, victim_a):
    client.force_login(officer)
    response = client.post(
        f"/investigations/{case.reference}/victims/{victim_a.pk}/disclosures/new/",
        {
            "offence_type": OffenceType.RAPE,
            **date_post("disclosed_at", timezone.now() - timedelta(minutes=10)),
            "account": "y" * 2001,
        },
    )
    assert response.status_code == 400
    assert "Short account must be 2000 characters or fewer" in response.content.decode()
    assert not Disclosure.objects.exists()


def test_a_disclosure_of_another_case_is_404(client, case, officer, supervisor, with_disclosure):
    other = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    client.force_login(officer)
    url = f"/investigations/{other.reference}/disclosures/{with_disclosure.pk}/link/"
    assert client.get(url).status_code == 404


def test_record_an_arrest(client, case, officer, victim_a):
    client.force_login(officer)
    url = f"/investigations/{case.reference}/victims/{victim_a.pk}/custody/new/"
    data = {
        "kind": "arrested",
        "offence": "Cannabis cultivation",
        **date_post("occurred_at", timezone.now() - timedelta(hours=1)),
        "s45_decision": "applies",
        "s45_rationale": "",
    }
    response = client.post(url, data)
    assert response.status_code == 400
    assert "Give the reasons for the section 45 decision." in response.content.decode()
    assert not CustodyEvent.objects.exists()
    response = client.post(url, {**data, "s45_decision": "not_considered"})
    assert response.status_code == 302
    card = case_card(page(client, case_url(case)), victim_a.victim)
    assert "Cannabis cultivation" in card
    assert "Section 45: Not yet considered" in card

    # The consideration, once recorded, is not replaced by a second submission (two officers
    # acting on the same flag): the second gets a message and the first decision stands.
    event = CustodyEvent.objects.get()
    s45_url = f"/investigations/{case.reference}/custody/{event.pk}/s45/"
    decision = {"s45_decision": "applies", "s45_rationale": "Compelled by her controller."}
    assert client.post(s45_url, decision).status_code == 302
    response = client.post(s45_url, {"s45_decision": "does_not_apply", "s45_rationale": "No."})
    assert response.status_code == 400
    assert "Section 45 has already been considered" in response.content.decode()
    event.refresh_from_db()
    assert (event.s45_decision, event.s45_rationale) == ("applies", "Compelled by her controller.")
    assert "Record the section 45 consideration" not in page(client, case_url(case))


# --- the victim's page and edits ---------------------------------------------------------------


def test_the_victim_page_lists_their_cases_and_is_audited(
    client, case, second_case, officer, victim_a
):
    add_victims(second_case, officer, person("Andrei Ionescu", existing_victim=victim_a.victim))
    client.force_login(officer)
    since = last_audit_id()
    html = page(client, victim_url(victim_a.victim))
    assert "Andrei Ionescu" in heading(html)
    assert case.reference in html
    assert second_case.reference in html
    assert "not shared with you" not in html
    (row_,) = new_audits(since, action=AuditAction.CONSULTATION, object_type="victims.victim")
    assert row_.actor == officer


def test_cases_the_user_cannot_see_are_counted_not_shown(
    client, people, case, officer, supervisor, victim_a
):
    """A WYP case about the same person, shared with WYP after a relocation: WYP sees both,
    GMP sees only its own and a count of the other."""
    sg_actions.relocation_record(
        victim_a.victim,
        actor=people["safeguarding.gmp"],
        relocated_on=timezone.localdate(),
        destination_type="force_area",
        to_force=people["officer.wyp"].force,
        safe_house_location="",
        receiving_contact="Gareth Lloyd",
        first_contact_within_days=7,
    )
    wyp = people["officer.wyp"]
    wyp_case = factories.investigation(wyp, stage="allocated", supervisor=people["supervisor.wyp"])
    add_victims(wyp_case, wyp, person("Andrei Ionescu", existing_victim=victim_a.victim))
    client.force_login(officer)
    html = page(client, victim_url(victim_a.victim))
    assert wyp_case.reference not in html
    assert "1 other investigation involving this person is not shared with you." in html
    client.force_login(wyp)
    html = page(client, victim_url(victim_a.victim))
    assert wyp_case.reference in html and case.reference in html


def edit_data(victim: Victim, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": victim.version,
        "name": victim.name,
        "aliases": victim.aliases,
        "estimated_age": "" if victim.estimated_age is None else victim.estimated_age,
        "gender": victim.gender,
        "nationality": victim.nationality,
        "languages": victim.languages,
        "status": victim.status,
        "current_force": victim.current_force_id or "",
        "immigration_status": victim.immigration_status,
        "phone": victim.phone,
        "address": victim.address,
    }
    if victim.may_be_under_18:
        data["may_be_under_18"] = "on"
    if victim.date_of_birth:
        data.update(date_post("date_of_birth", victim.date_of_birth, with_time=False))
    data.update(overrides)
    return data


def test_edit_a_victims_record(client, officer, victim_a):
    victim = victim_a.victim
    client.force_login(officer)
    assert 'name="phone"' in page(client, victim_url(victim, "edit/"))
    response = client.post(
        victim_url(victim, "edit/"),
        edit_data(victim, phone="07700 900123", immigration_status="asylum"),
    )
    assert response.status_code == 302
    assert response["Location"] == victim_url(victim)
    fresh = Victim.objects.get(pk=victim.pk)
    assert (fresh.phone, fresh.immigration_status, fresh.version) == ("07700 900123", "asylum", 2)


def test_an_edit_from_an_old_copy_gets_409(client, officer, supervisor, victim_a):
    victim = victim_a.victim
    stale = edit_data(victim, phone="1")
    actions.victim_update(victim, actor=supervisor, expected_version=victim.version, phone="2")
    client.force_login(officer)
    response = client.post(victim_url(victim, "edit/"), stale)
    assert response.status_code == 409
    assert "Someone else changed this record" in response.content.decode()
    assert Victim.objects.get(pk=victim.pk).phone == "2"


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        (date_post("date_of_birth", date(2099, 1, 1), with_time=False), "Date of birth must be"),
        ({"address": "z" * 301}, "Address must be 300 characters or fewer"),
        ({"name": ""}, "Enter full name"),
        ({"current_force": "999999"}, "Select a force from the list"),
    ],
    ids=["dob-future", "long-address", "no-name", "unknown-force"],
)
def test_bad_edits_are_refused(client, officer, victim_a, overrides, error):
    victim = victim_a.victim
    client.force_login(officer)
    before = counts()
    response = client.post(victim_url(victim, "edit/"), edit_data(victim, **overrides))
    assert response.status_code == 400
    html = response.content.decode()
    assert PROBLEM in html
    assert error in html
    assert counts() == before
    assert Victim.objects.get(pk=victim.pk).version == victim.version


# --- the child rule on every page --------------------------------------------------------------


def test_a_child_is_shown_as_a_child_everywhere_until_assessed_as_an_adult(
    client, case, officer, safeguarding_lead
):
    client.force_login(officer)
    response = client.post(
        add_url(case),
        intake_data(
            [
                row("Arben Hoxha", date_of_birth=years_ago(17), nationality="Albanian"),
                row("Ermal Gashi", estimated_age=17),
                row("Tran Thi Mai", may_be_under_18=True, estimated_age=19),
                row("Nguyen Thi Lan", date_of_birth=years_ago(24)),
                row("Duc Pham", estimated_age=19),
            ]
        ),
    )
    assert response.status_code == 302
    victims = {v.name: v for v in Victim.objects.all()}
    children = ["Arben Hoxha", "Ermal Gashi", "Tran Thi Mai"]
    adults = ["Nguyen Thi Lan", "Duc Pham"]

    def shown_as_child() -> dict[str, tuple[bool, bool, bool]]:
        client.force_login(officer)
        case_html = page(client, case_url(case))
        client.force_login(safeguarding_lead)
        board_html = page(client, "/safeguarding/")
        return {
            name: (
                CHILD_TAG in case_card(case_html, victim),
                CHILD_TAG in heading(page(client, victim_url(victim))),
                CHILD_TAG in board_row(board_html, victim),
            )
            for name, victim in victims.items()
        }

    shown = shown_as_child()
    for name in children:
        assert shown[name] == (True, True, True), name
    for name in adults:
        assert shown[name] == (False, False, False), name
    client.force_login(officer)
    victim_page = page(client, victim_url(victims["Tran Thi Mai"]))
    assert "may be under 18: treated as a child until their age is assessed" in victim_page

    # the age assessment finds Tran Thi Mai is 19: she is no longer treated as a child
    mai = victims["Tran Thi Mai"]
    response = client.post(
        victim_url(mai, "edit/"),
        edit_data(mai, **date_post("age_assessed_on", timezone.localdate(), with_time=False)),
    )
    assert response.status_code == 302
    assert shown_as_child()["Tran Thi Mai"] == (False, False, False)
    assert shown_as_child()["Arben Hoxha"] == (True, True, True)


# --- sensitive fields --------------------------------------------------------------------------

SENSITIVE = ("07700 900123", "12 Acacia Avenue, Rochdale", "Asylum seeker")


@pytest.fixture
def sensitive_victim(officer, victim_a) -> Victim:
    return actions.victim_update(
        victim_a.victim,
        actor=officer,
        expected_version=victim_a.victim.version,
        phone=SENSITIVE[0],
        address=SENSITIVE[1],
        immigration_status="asylum",
    )


@pytest.mark.parametrize("who", ["officer.gmp", "supervisor.gmp", "safeguarding.gmp"])
def test_the_oic_supervisor_and_safeguarding_leads_see_sensitive_fields(
    client, people, case, sensitive_victim, who
):
    client.force_login(people[who])
    html = page(client, victim_url(sensitive_victim))
    for value in SENSITIVE:
        assert value in html, value
    card = case_card(page(client, case_url(case)), sensitive_victim)
    assert SENSITIVE[0] in card and SENSITIVE[1] in card


def test_another_officer_of_the_unit_does_not_see_sensitive_fields(
    client, case, sensitive_victim, colleague
):
    client.force_login(colleague)
    html = page(client, victim_url(sensitive_victim))
    assert "Andrei Ionescu" in html
    for value in (*SENSITIVE, "Immigration status"):
        assert value not in html, value
    card = case_card(page(client, case_url(case)), sensitive_victim)
    assert SENSITIVE[0] not in card and SENSITIVE[1] not in card
    edit = page(client, victim_url(sensitive_victim, "edit/"))
    for name in ("phone", "address", "immigration_status"):
        assert f'name="{name}"' not in edit, name
    assert SENSITIVE[0] not in edit


def test_an_edit_by_another_officer_keeps_the_sensitive_fields(client, sensitive_victim, colleague):
    client.force_login(colleague)
    data = edit_data(sensitive_victim, languages="Romanian")
    for name in ("phone", "address", "immigration_status"):
        data.pop(name)
    assert client.post(victim_url(sensitive_victim, "edit/"), data).status_code == 302
    fresh = Victim.objects.get(pk=sensitive_victim.pk)
    assert (fresh.languages, fresh.phone, fresh.address) == ("Romanian", *SENSITIVE[:2])


def test_a_user_who_sees_the_case_through_a_share_does_not_see_sensitive_fields(
    client, case, supervisor, sensitive_victim, other_force_officer
):
    case_actions.investigation_share(
        case, actor=supervisor, reason="Joint operation", unit=other_force_officer.unit
    )
    client.force_login(other_force_officer)
    html = page(client, victim_url(sensitive_victim))
    assert "Andrei Ionescu" in html
    for value in (*SENSITIVE, "Immigration status"):
        assert value not in html, value
    card = case_card(page(client, case_url(case)), sensitive_victim)
    assert SENSITIVE[0] not in card and SENSITIVE[1] not in card


# --- query counts ------------------------------------------------------------------------------


def test_the_case_page_runs_a_fixed_number_of_queries(
    client, people, case, officer, django_assert_num_queries
):
    populate(case, people, 3)
    client.force_login(officer)
    url = case_url(case)
    small = count_queries(client, url)

    populate(case, people, 27, start=3)
    assert Involvement.objects.filter(investigation=case).count() == 30
    assert_same_count(client, url, small, django_assert_num_queries)
    html = page(client, url)
    assert "Victim AD: " in html
    assert html.count(CHILD_TAG) == 10


def test_the_victim_page_runs_the_same_queries_before_and_after_a_disclosure_is_recorded(
    client, people, case, officer, django_assert_num_queries
):
    """The victim's page lists their cases, not their disclosures: whether a disclosure has its
    offence recorded does not change the page's queries (a prefetch nobody read did)."""
    unlinked = populate(case, people, 3)[1]
    client.force_login(officer)
    url = victim_url(unlinked.victim)
    before = count_queries(client, url)
    disclosure = unlinked.disclosures.get()
    assert disclosure.offence is None
    actions.disclosure_link_offence(disclosure, actor=officer, crime_reference="POP/LINK/1")
    assert_same_count(client, url, before, django_assert_num_queries)


def test_the_victim_page_runs_a_fixed_number_of_queries(
    client, people, case, second_case, officer, django_assert_num_queries
):
    first = populate(case, people, 3)[0].victim
    client.force_login(officer)
    url = victim_url(first)
    small = count_queries(client, url)

    populate(case, people, 27, start=3)
    add_victims(second_case, officer, person(first.name, existing_victim=first))
    lead = people["safeguarding.gmp"]
    for i in range(25):
        sg_actions.contact_record(
            first,
            actor=lead,
            at=timezone.now() - timedelta(hours=1, minutes=i),
            method="in_person",
            made=bool(i % 2),
            interpreter_used=True,
            notes=f"Visit {i}",
            next_contact_due=timezone.localdate() + timedelta(days=3),
        )
    assert Involvement.objects.filter(investigation=case).count() == 30
    assert_same_count(client, url, small, django_assert_num_queries)
    html = page(client, url)
    assert second_case.reference in html
    assert "Visit 24" not in html  # the contact log shows the latest 20


def test_changing_the_number_of_rows_keeps_what_was_typed(client, case, officer):
    """The button posts the whole form: the rows come back with what was typed, more (or
    fewer) of them, with no error shown and nothing saved."""
    client.force_login(officer)
    data = intake_data([row("Andrei Ionescu", nationality="Romanian"), row("Mihai Popa")])
    before = counts()
    response = client.post(add_url(case), {**data, "count": "4", "change_rows": "1"})
    assert response.status_code == 200
    html = response.content.decode()
    assert PROBLEM not in html
    assert 'name="victim-3-name"' in html and 'name="victim-4-name"' not in html
    assert 'value="Andrei Ionescu"' in html and 'value="Romanian"' in html
    assert 'value="Mihai Popa"' in html
    assert 'name="victim-TOTAL_FORMS" value="4"' in html
    assert 'id="count" name="count" type="text" inputmode="numeric" value="4"' in html
    assert counts() == before

    # Fewer rows drop the last ones; the intake questions are kept too.
    response = client.post(add_url(case), {**data, "count": "1", "change_rows": "1"})
    html = response.content.decode()
    assert 'value="Andrei Ionescu"' in html and "Mihai Popa" not in html
    assert 'name="victim-1-name"' not in html
    assert re.search(r'value="movement"[^>]*checked', html)


def test_section_45_is_considered_after_the_case_closes(
    client, case, officer, supervisor, victim_a
):
    """The victim_criminalised flag watches closed cases too: the case team can still record
    the consideration (nothing else on the closed case changes)."""
    actions.custody_event_record(
        victim_a.victim,
        investigation=case,
        actor=officer,
        kind="charged",
        offence="Cannabis cultivation",
        occurred_at=timezone.now() - timedelta(hours=1),
        s45_decision="not_considered",
        s45_rationale="",
    )
    case.refresh_from_db()
    case_actions.closure_request(
        case,
        actor=officer,
        expected_version=case.version,
        proposed_outcome="charged",
        proposed_nfa_reason="",
        rationale="Controller charged.",
    )
    case.refresh_from_db()
    case_actions.closure_approve(
        case, actor=supervisor, expected_version=case.version, rationale="Agreed."
    )
    client.force_login(officer)
    assert "Record the section 45 consideration" in page(client, case_url(case))
    event = CustodyEvent.objects.get()
    response = client.post(
        f"/investigations/{case.reference}/custody/{event.pk}/s45/",
        {"s45_decision": "applies", "s45_rationale": "Compelled to tend the farm."},
    )
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.s45_decision == "applies"
    case.refresh_from_db()
    assert case.status == "closed"
