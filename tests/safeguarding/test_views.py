"""Safeguarding pages: the board, plans, contact, relocation (and the access it gives the
receiving force), missing episodes; sign-in, 404 and 403 rules, GOV.UK errors with nothing
saved, and a board whose query count does not grow with the number of victims."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from django.utils import timezone

from investigations.models import Investigation
from safeguarding import actions
from safeguarding.models import Contact, MissingEpisode, Relocation, SafeguardingPlan
from slaverycases.audit.models import AuditAction, AuditEvent
from tests import factories
from tests.victims.test_actions import add_victims, counts, person, years_ago
from tests.victims.test_views import (
    CHILD_TAG,
    PROBLEM,
    assert_same_count,
    board_row,
    count_queries,
    date_post,
    page,
    populate,
)
from victims.models import Victim, VictimStatus

pytestmark = pytest.mark.django_db

BOARD = "/safeguarding/"


@pytest.fixture
def case(officer, supervisor) -> Investigation:
    return factories.investigation(officer, stage="allocated", supervisor=supervisor)


@pytest.fixture
def victim(case, officer) -> Victim:
    (involvement,) = add_victims(case, officer, person("Andrei Ionescu", nationality="Romanian"))
    return involvement.victim


@pytest.fixture
def episode(victim, officer) -> MissingEpisode:
    return actions.missing_episode_open(
        victim,
        actor=officer,
        reported_missing_at=timezone.now() - timedelta(hours=5),
        risk_level="high",
        notes="",
    )


def sg_url(victim: Victim, suffix: str) -> str:
    return f"/safeguarding/victims/{victim.pk}/{suffix}"


def victim_urls(victim: Victim, episode: MissingEpisode) -> list[str]:
    return [
        sg_url(victim, "plan/"),
        sg_url(victim, "contacts/new/"),
        sg_url(victim, "relocations/new/"),
        sg_url(victim, "missing/new/"),
        f"/safeguarding/missing/{episode.pk}/found/",
    ]


def plan_data(lead: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "version": "",
        "lead": lead.pk,
        "risk_level": "high",
        "risks": ["retrafficking", "missing"],
        "measures": ["safe_house"],
        "contact_every_days": "7",
        **date_post("review_date", timezone.localdate() + timedelta(days=28), with_time=False),
        **overrides,
    }


def contact_data(**overrides: Any) -> dict[str, Any]:
    return {
        **date_post("at", timezone.now() - timedelta(minutes=30)),
        "method": "in_person",
        "made": "yes",
        "notes": "Settled at the safe house.",
        **date_post("next_contact_due", timezone.localdate() + timedelta(days=5), with_time=False),
        **overrides,
    }


def relocation_data(force: Any, **overrides: Any) -> dict[str, Any]:
    return {
        **date_post("relocated_on", timezone.localdate(), with_time=False),
        "destination_type": "force_area",
        "to_force": force.pk,
        "safe_house_location": "",
        "receiving_contact": "Gareth Lloyd, WYP MSHT Unit",
        "first_contact_within_days": "7",
        **overrides,
    }


def refused(response, *messages: str) -> str:
    html = response.content.decode()
    assert response.status_code == 400, response.status_code
    assert PROBLEM in html
    for message in messages:
        assert message in html, message
    return html


# --- sign in, 404, 403 -------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_sign_in(client, victim, episode):
    for url in [BOARD, *victim_urls(victim, episode)]:
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, url
            assert response["Location"] == f"/account/sign-in/?next={quote(url)}", url


@pytest.mark.parametrize("who", ["officer.wyp", "safeguarding.wyp", "supervisor.wyp", "auditor"])
def test_users_who_cannot_see_the_victim_get_404(client, people, victim, episode, who):
    client.force_login(people[who])
    before = counts()
    for url in victim_urls(victim, episode):
        assert client.get(url).status_code == 404, url
        assert client.post(url, contact_data()).status_code == 404, url
    assert counts() == before


@pytest.mark.parametrize(
    ("who", "board"),
    [
        ("officer.gmp", 403),
        ("auditor", 403),
        ("admin", 403),
        ("supervisor.gmp", 200),
        ("safeguarding.gmp", 200),
        ("safeguarding.wyp", 200),
    ],
)
def test_the_board_is_for_safeguarding_leads_and_supervisors(client, people, victim, who, board):
    client.force_login(people[who])
    assert client.get(BOARD).status_code == board


@pytest.mark.parametrize("who", ["officer.gmp", "supervisor.gmp"])
def test_only_safeguarding_leads_plan_and_relocate(client, people, victim, who):
    client.force_login(people[who])
    before = counts()
    for url, data in (
        (sg_url(victim, "plan/"), plan_data(people["safeguarding.gmp"])),
        (sg_url(victim, "relocations/new/"), relocation_data(people["officer.wyp"].force)),
    ):
        assert client.get(url).status_code == 403, url
        assert client.post(url, data).status_code == 403, url
    assert counts() == before
    # officers and supervisors do log contact and report missing
    assert client.get(sg_url(victim, "contacts/new/")).status_code == 200
    assert client.get(sg_url(victim, "missing/new/")).status_code == 200


# --- plans ---------------------------------------------------------------------------------


def test_set_and_change_a_plan(client, victim, safeguarding_lead):
    client.force_login(safeguarding_lead)
    url = sg_url(victim, "plan/")
    assert "Safeguarding plan for Andrei Ionescu" in page(client, url)
    response = client.post(url, plan_data(safeguarding_lead))
    assert response.status_code == 302
    assert response["Location"] == f"/victims/{victim.pk}/"
    plan = SafeguardingPlan.objects.get(victim=victim)
    assert (plan.risk_level, plan.risks, plan.version) == ("high", ["missing", "retrafficking"], 1)
    html = page(client, f"/victims/{victim.pk}/")
    assert "Going missing, Re-trafficking" in html
    assert "At least every 7 days" in html

    response = client.post(url, plan_data(safeguarding_lead, version="1", risk_level="low"))
    assert response.status_code == 302
    assert SafeguardingPlan.objects.get(victim=victim).version == 2
    # a change made from the first version loaded is refused
    response = client.post(url, plan_data(safeguarding_lead, version="1", risk_level="medium"))
    assert response.status_code == 409
    assert SafeguardingPlan.objects.get(victim=victim).risk_level == "low"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            date_post("review_date", timezone.localdate(), with_time=False),
            "Review date must be in the future.",
        ),
        ({"contact_every_days": "0"}, "Contact frequency must be at least 1 day"),
        ({"contact_every_days": "91"}, "Contact frequency must be 90 days or fewer"),
        ({"contact_every_days": "weekly"}, "Contact frequency must be a number of days, like 7"),
        ({"risk_level": ""}, "Select risk level"),
    ],
    ids=["review-today", "every-0", "every-91", "every-text", "no-risk"],
)
def test_bad_plans_are_refused(client, victim, safeguarding_lead, overrides, message):
    if "review_date_day" in overrides:  # today, as the test runs
        overrides = date_post("review_date", timezone.localdate(), with_time=False)
    client.force_login(safeguarding_lead)
    before = counts()
    refused(
        client.post(sg_url(victim, "plan/"), plan_data(safeguarding_lead, **overrides)), message
    )
    assert counts() == before


def test_the_plan_lead_must_be_a_safeguarding_lead_of_the_force(
    client, people, victim, safeguarding_lead
):
    client.force_login(safeguarding_lead)
    for lead in (people["officer.gmp"], people["safeguarding.wyp"]):
        refused(client.post(sg_url(victim, "plan/"), plan_data(lead)))
    assert not SafeguardingPlan.objects.exists()


# --- contact -------------------------------------------------------------------------------


def test_record_contact(client, case, victim, safeguarding_lead):
    client.force_login(safeguarding_lead)
    url = sg_url(victim, "contacts/new/")
    assert "Record contact with Andrei Ionescu" in page(client, url)
    response = client.post(url, contact_data())
    assert response.status_code == 302
    contact = Contact.objects.get(victim=victim)
    assert contact.made and contact.by == safeguarding_lead
    html = page(client, f"/victims/{victim.pk}/")
    assert "Settled at the safe house." in html
    due = timezone.localdate() + timedelta(days=5)
    assert f"{due:%-d %b %Y}" in html[html.index('id="contact-log"') :]


def test_the_same_contact_submitted_twice_is_saved_once(client, victim, safeguarding_lead):
    client.force_login(safeguarding_lead)
    data = contact_data()
    assert client.post(sg_url(victim, "contacts/new/"), data).status_code == 302
    before = counts()
    refused(
        client.post(sg_url(victim, "contacts/new/"), data),
        "This contact has already been recorded.",
    )
    assert counts() == before
    assert Contact.objects.filter(victim=victim).count() == 1


def test_next_contact_cannot_be_due_before_the_last_contact(client, victim, safeguarding_lead):
    client.force_login(safeguarding_lead)
    assert client.post(sg_url(victim, "contacts/new/"), contact_data()).status_code == 302
    before = counts()
    back_dated = contact_data(
        **date_post("at", timezone.now() - timedelta(days=6)),
        **date_post("next_contact_due", timezone.localdate() - timedelta(days=4), with_time=False),
    )
    refused(
        client.post(sg_url(victim, "contacts/new/"), back_dated),
        "Next contact due cannot be before the last contact.",
    )
    assert counts() == before


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ("due-before", "Next contact due must be on or after this contact"),
        ({"notes": "n" * 5001}, "Notes must be 5000 characters or fewer"),
        ("future", "Date of the contact must be today or in the past"),
        ({"made": ""}, PROBLEM),
        ({"at_day": "31", "at_month": "2"}, "Date of the contact must be a real date"),
    ],
    ids=["due-before-contact", "long-notes", "future", "made-missing", "not-a-date"],
)
def test_bad_contacts_are_refused(client, victim, safeguarding_lead, overrides, message):
    if overrides == "due-before":
        overrides = {
            **date_post("at", timezone.now() - timedelta(days=3)),
            **date_post(
                "next_contact_due", timezone.localdate() - timedelta(days=4), with_time=False
            ),
        }
    elif overrides == "future":
        overrides = date_post("at", timezone.now() + timedelta(days=2))
    client.force_login(safeguarding_lead)
    before = counts()
    refused(client.post(sg_url(victim, "contacts/new/"), contact_data(**overrides)), message)
    assert counts() == before


# --- relocation ----------------------------------------------------------------------------


def test_a_relocation_gives_the_receiving_force_access(
    client, people, case, victim, safeguarding_lead
):
    victim_page, case_page = f"/victims/{victim.pk}/", f"/investigations/{case.reference}/"
    wyp = ("safeguarding.wyp", "officer.wyp")
    for who in wyp:
        client.force_login(people[who])
        assert client.get(victim_page).status_code == 404, who
        assert client.get(case_page).status_code == 404, who

    client.force_login(safeguarding_lead)
    response = client.post(
        sg_url(victim, "relocations/new/"), relocation_data(people["officer.wyp"].force)
    )
    assert response.status_code == 302
    assert response["Location"] == victim_page
    html = page(client, victim_page)
    assert re.search(r'id="victim-force">\s*West Yorkshire Police', html)

    for who in wyp:
        client.force_login(people[who])
        assert "Andrei Ionescu" in page(client, victim_page), who
        assert case.title in page(client, case_page), who
    client.force_login(people["safeguarding.wyp"])
    board = page(client, BOARD)
    assert "Andrei Ionescu" in board[board.index('id="relocations"') :]
    assert board_row(board, victim)

    for action in (AuditAction.GRANT, AuditAction.DISCLOSURE):
        (row,) = AuditEvent.objects.filter(action=action, investigation_reference=case.reference)
        assert row.recipient == "West Yorkshire Police", action
        assert row.actor == safeguarding_lead
        assert "Gareth Lloyd, WYP MSHT Unit" in row.justification


def test_a_safe_house_location_is_shown_only_to_those_who_may_see_it(
    client, people, case, victim, safeguarding_lead, colleague_officer
):
    actions.relocation_record(
        victim,
        actor=safeguarding_lead,
        relocated_on=timezone.localdate(),
        destination_type="safe_house",
        to_force=safeguarding_lead.force,
        safe_house_location="14 Hidden Lane, Wigan",
        receiving_contact="Helen Brennan",
        first_contact_within_days=3,
    )
    client.force_login(safeguarding_lead)
    assert "14 Hidden Lane, Wigan" in page(client, f"/victims/{victim.pk}/")
    client.force_login(colleague_officer)
    html = page(client, f"/victims/{victim.pk}/")
    assert "Helen Brennan" in html
    assert "14 Hidden Lane, Wigan" not in html


@pytest.fixture
def colleague_officer(officer):
    from slaverycases.accounts import roles
    from tests.victims.test_actions import make_user

    return make_user("colleague.gmp", unit=officer.unit, role=roles.OFFICER)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"to_force": "999999"}, "Select a force from the list"),
        ({"to_force": ""}, "Select the receiving force"),
        ("future", "Date of the move must be today or in the past"),
        ({"receiving_contact": "c" * 201}, "must be 200 characters or fewer"),
        ({"first_contact_within_days": "29"}, None),
        ({"destination_type": "abroad"}, None),
    ],
    ids=["unknown-force", "no-force", "future", "long-contact", "29-days", "bad-destination"],
)
def test_bad_relocations_are_refused(
    client, people, case, victim, safeguarding_lead, overrides, message
):
    if overrides == "future":
        overrides = date_post(
            "relocated_on", timezone.localdate() + timedelta(days=1), with_time=False
        )
    client.force_login(safeguarding_lead)
    before = counts()
    response = client.post(
        sg_url(victim, "relocations/new/"),
        relocation_data(people["officer.wyp"].force, **overrides),
    )
    refused(response, *([message] if message else []))
    assert counts() == before
    assert Victim.objects.get(pk=victim.pk).current_force == case.force
    client.force_login(people["officer.wyp"])
    assert client.get(f"/victims/{victim.pk}/").status_code == 404


def test_an_unknown_force_gets_the_forms_own_message(client, people, victim, safeguarding_lead):
    client.force_login(safeguarding_lead)
    response = client.post(
        sg_url(victim, "relocations/new/"),
        relocation_data(people["officer.wyp"].force, to_force="999999"),
    )
    refused(response, "Select a force from the list")


# --- missing episodes ----------------------------------------------------------------------


def test_report_missing_and_found(client, victim, officer, safeguarding_lead):
    client.force_login(officer)
    response = client.post(
        sg_url(victim, "missing/new/"),
        {
            **date_post("reported_missing_at", timezone.now() - timedelta(hours=3)),
            "risk_level": "high",
            "notes": "Left the safe house with an unknown man.",
        },
    )
    assert response.status_code == 302
    episode = MissingEpisode.objects.get(victim=victim)
    assert Victim.objects.get(pk=victim.pk).status == VictimStatus.MISSING

    client.force_login(safeguarding_lead)
    board = page(client, BOARD)
    assert "Andrei Ionescu" in board[board.index('id="missing"') :]
    assert "Missing</strong>" in board_row(board, victim)

    client.force_login(officer)
    url = f"/safeguarding/missing/{episode.pk}/found/"
    assert url in page(client, f"/victims/{victim.pk}/")
    refused(
        client.post(url, date_post("found_at", timezone.now() - timedelta(days=1))),
        "Date found cannot be before they were reported missing.",
    )
    assert client.post(url, date_post("found_at", timezone.now())).status_code == 302
    assert MissingEpisode.objects.get().found_at is not None
    assert Victim.objects.get(pk=victim.pk).status == VictimStatus.POTENTIAL
    client.force_login(safeguarding_lead)
    assert 'id="missing"' not in page(client, BOARD)


def test_missing_twice_is_refused(client, victim, episode, officer):
    client.force_login(officer)
    refused(
        client.post(
            sg_url(victim, "missing/new/"),
            {**date_post("reported_missing_at", timezone.now()), "risk_level": "low"},
        ),
        "Andrei Ionescu is already recorded as missing.",
    )
    assert MissingEpisode.objects.count() == 1


def test_a_missing_episode_of_an_unseen_victim_is_404(client, people, episode):
    client.force_login(people["safeguarding.wyp"])
    assert client.get(f"/safeguarding/missing/{episode.pk}/found/").status_code == 404
    assert client.get("/safeguarding/missing/999999/found/").status_code == 404


# --- the board -----------------------------------------------------------------------------


def test_the_board_shows_the_forces_victims_overdue_first(
    client, people, case, officer, safeguarding_lead
):
    involvements = add_victims(
        case,
        officer,
        person("Due Later", date_of_birth=years_ago(30)),
        person("Overdue Contact", date_of_birth=years_ago(30)),
        person("Never Contacted", estimated_age=16),
    )
    due_later, overdue, never = (i.victim for i in involvements)
    actions.contact_record(
        due_later,
        actor=safeguarding_lead,
        at=timezone.now() - timedelta(days=1),
        method="phone",
        made=True,
        interpreter_used=False,
        notes="",
        next_contact_due=timezone.localdate() + timedelta(days=6),
    )
    actions.contact_record(
        overdue,
        actor=safeguarding_lead,
        at=timezone.now() - timedelta(days=10),
        method="phone",
        made=False,
        interpreter_used=False,
        notes="",
        next_contact_due=timezone.localdate() - timedelta(days=3),
    )
    actions.plan_save(
        overdue,
        actor=safeguarding_lead,
        expected_version=None,
        lead=safeguarding_lead,
        risk_level="medium",
        risks=[],
        measures=[],
        contact_every_days=7,
        review_date=timezone.localdate() + timedelta(days=10),
    )
    wyp = people["officer.wyp"]
    wyp_case = factories.investigation(wyp, stage="allocated", supervisor=people["supervisor.wyp"])
    add_victims(wyp_case, wyp, person("Somebody In Leeds"))

    client.force_login(safeguarding_lead)
    html = page(client, BOARD)
    table = html[html.index('id="board"') :]
    order = [table.index(f'href="/victims/{v.pk}/"') for v in (never, overdue, due_later)]
    assert order == sorted(order)  # not set, overdue, then later
    assert "Somebody In Leeds" not in html
    assert "Not set" in board_row(html, never) and "No plan" in board_row(html, never)
    assert CHILD_TAG in board_row(html, never)
    assert "Overdue" in board_row(html, overdue) and "Medium" in board_row(html, overdue)
    assert "Never" in board_row(html, overdue)  # the attempt was not a contact made
    assert "Overdue" not in board_row(html, due_later)
    assert CHILD_TAG not in board_row(html, due_later)


def test_the_board_is_paginated(client, case, officer, safeguarding_lead):
    add_victims(case, officer, *(person(f"Worker {i:02d}") for i in range(51)))
    client.force_login(safeguarding_lead)
    first = page(client, BOARD)
    second = page(client, BOARD + "?page=2")
    table = first[first.index('id="board"') :]
    assert table.count('href="/victims/') == 50
    second_table = second[second.index('id="board"') :]
    assert second_table.count('href="/victims/') == 1


def test_the_board_runs_a_fixed_number_of_queries(
    client, people, case, safeguarding_lead, django_assert_num_queries
):
    populate(case, people, 3)
    client.force_login(safeguarding_lead)
    small = count_queries(client, BOARD)

    populate(case, people, 27, start=3)
    assert Relocation.objects.count() == 10
    assert MissingEpisode.objects.filter(found_at__isnull=True).count() == 10
    assert_same_count(client, BOARD, small, django_assert_num_queries)
    html = page(client, BOARD)
    assert html.count(CHILD_TAG) == 10
    assert 'id="relocations"' in html and 'id="missing"' in html


@pytest.mark.parametrize(
    ("suffix", "messages"),
    [
        (
            "contacts/new/",
            ["Enter the date and time of the contact", "Select how the contact was made"],
        ),
        (
            "relocations/new/",
            [
                "Enter the date of the move",
                "Select where the victim moved to",
                "Enter the number of days within which first contact must happen",
            ],
        ),
        (
            "missing/new/",
            [
                "Enter the date and time the victim was reported missing",
                "Select the risk to the missing victim",
            ],
        ),
    ],
    ids=["contact", "relocation", "missing"],
)
def test_an_empty_form_says_what_to_enter_in_words(
    client, victim, safeguarding_lead, suffix, messages
):
    """GOV.UK error messages name the thing to enter, not the field's short label ("Enter
    found at", "Select how")."""
    client.force_login(safeguarding_lead)
    response = client.post(sg_url(victim, suffix), {})
    assert response.status_code == 400
    html = refused(response, *messages)
    assert "Select how<" not in html and "Select moved to" not in html
    assert "Enter reported missing at" not in html and "Select risk<" not in html


def test_the_found_form_says_what_to_enter(client, episode, safeguarding_lead):
    client.force_login(safeguarding_lead)
    response = client.post(f"/safeguarding/missing/{episode.pk}/found/", {})
    assert response.status_code == 400
    refused(response, "Enter the date and time the victim was found")
