"""What the safeguarding board reads from the victim row: the contact state copied from the
latest contact, and whether the victim is in an open case (the board lists only those)."""

from __future__ import annotations

import importlib
import threading
import time
from datetime import timedelta

import psycopg
import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from investigations import actions as case_actions
from investigations.models import Investigation
from safeguarding import actions
from safeguarding.models import Relocation
from safeguarding.querysets import board_victims, relocations_awaiting_contact
from slaverycases.accounts import roles
from slaverycases.accounts.actions import unit_ensure
from slaverycases.accounts.models import Force
from tests import factories
from tests.flags.test_rules import close
from tests.flags.test_worker_killed import _dsn, backends
from tests.investigations.test_views import make_user
from tests.safeguarding.test_actions import relocate
from tests.victims.test_actions import add_victims, person
from tests.victims.test_views import board_row, page
from victims.models import Victim

pytestmark = pytest.mark.django_db

BOARD = "/safeguarding/"


def contact(victim, actor, *, days_ago: int, made: bool, due_in: int):
    return actions.contact_record(
        victim,
        actor=actor,
        at=timezone.now() - timedelta(days=days_ago),
        method="phone",
        made=made,
        interpreter_used=False,
        notes="",
        next_contact_due=timezone.localdate() + timedelta(days=due_in),
    )


@pytest.fixture
def case(officer, supervisor) -> Investigation:
    return factories.investigation(officer, stage="under_investigation", supervisor=supervisor)


def test_the_victim_row_keeps_the_latest_contact_and_the_last_contact_made(
    case, officer, safeguarding_lead
):
    (involvement,) = add_victims(case, officer, person("Andrei Ionescu"))
    victim = involvement.victim
    assert (victim.next_contact_due, victim.last_contact_at) == (None, None)

    made = contact(victim, safeguarding_lead, days_ago=6, made=True, due_in=1)
    attempt = contact(victim, safeguarding_lead, days_ago=2, made=False, due_in=3)
    victim.refresh_from_db()
    # The latest contact sets the next one due; an attempt is not a contact made.
    assert victim.next_contact_due == attempt.next_contact_due
    assert victim.last_contact_at == made.at

    # A contact recorded late (before both) changes neither.
    contact(victim, safeguarding_lead, days_ago=8, made=True, due_in=2)
    victim.refresh_from_db()
    assert victim.next_contact_due == attempt.next_contact_due
    assert victim.last_contact_at == made.at


def test_victims_leave_the_board_when_their_every_case_is_closed(
    client, people, case, officer, supervisor, safeguarding_lead
):
    other = factories.investigation(officer, stage="under_investigation", supervisor=supervisor)
    (only_here,) = (i.victim for i in add_victims(case, officer, person("Only Here")))
    (in_both,) = (i.victim for i in add_victims(case, officer, person("In Both Cases")))
    add_victims(
        other,
        officer,
        person("In Both Cases", existing_victim=in_both, crime_reference="GMP/26/901"),
    )
    assert set(Victim.objects.values_list("name", "in_open_case")) == {
        ("Only Here", True),
        ("In Both Cases", True),
    }

    case = close(case, officer, supervisor)
    only_here.refresh_from_db()
    in_both.refresh_from_db()
    assert (only_here.in_open_case, in_both.in_open_case) == (False, True)
    client.force_login(safeguarding_lead)
    html = page(client, BOARD)
    assert "Only Here" not in html
    assert board_row(html, in_both)  # still in an open case
    assert list(board_victims(safeguarding_lead)) == [in_both]

    case_actions.investigation_reopen(
        case, actor=supervisor, expected_version=case.version, reason="New evidence."
    )
    only_here.refresh_from_db()
    assert only_here.in_open_case
    assert board_row(page(client, BOARD), only_here)


def test_the_board_pages_without_counting(client, case, officer, safeguarding_lead):
    add_victims(case, officer, *(person(f"Worker {i:02d}") for i in range(51)))
    client.force_login(safeguarding_lead)
    first = page(client, BOARD)
    assert "Page 1</span>" in first and " of " not in first[first.index("Page 1") :][:20]
    assert 'rel="next"' in first and 'rel="prev"' not in first
    last = page(client, BOARD + "?page=2")
    assert "Page 2</span>" in last and 'rel="next"' not in last and 'rel="prev"' in last
    beyond = page(client, BOARD + "?page=9")
    assert 'href="/victims/' not in beyond[beyond.index('id="board"') :]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_contacts_recorded_at_once_leave_the_latest_on_the_victim(people):
    """Two contacts recorded at the same moment are checked and copied one after the other:
    both wait on the victim's row lock (held here in another connection, and seen waiting in
    pg_stat_activity), and the victim row ends with the latest contact's state whichever
    commits first."""
    officer, supervisor = people["officer.gmp"], people["supervisor.gmp"]
    lead = people["safeguarding.gmp"]
    case = factories.investigation(officer, stage="under_investigation", supervisor=supervisor)
    (victim,) = (i.victim for i in add_victims(case, officer, person("Andrei Ionescu")))
    holder = psycopg.connect(_dsn(), autocommit=False)
    holder.execute("SELECT 1 FROM victims_victim WHERE id = %s FOR UPDATE", [victim.pk])
    errors: list[BaseException] = []

    def record(days_ago: int, made: bool, due_in: int) -> None:
        try:
            contact(
                Victim.objects.get(pk=victim.pk), lead, days_ago=days_ago, made=made, due_in=due_in
            )
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=record, args=(1, False, 6)),  # the latest: an attempt
        threading.Thread(target=record, args=(3, True, 2)),  # earlier, made
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    try:
        # Both wait on the victim's row: the first behind this connection, the second behind
        # the first (pg_blocking_pids); nothing is written yet.
        while sum(1 for b in backends() if b["wait_type"] == "Lock" and b["blocked_by"]) < 2:
            assert all(t.is_alive() for t in threads), errors
            assert time.monotonic() < deadline, "the contacts did not wait on the victim's lock"
    finally:
        holder.rollback()
        holder.close()
    for thread in threads:
        thread.join()
    assert not errors, errors
    victim.refresh_from_db()
    latest, made = victim.contacts.order_by("-at")
    assert not latest.made and made.made
    assert victim.next_contact_due == latest.next_contact_due
    assert victim.last_contact_at == made.at


def test_both_shapes_of_the_board_list_the_same_victims_and_pages(
    client, people, case, officer, supervisor, safeguarding_lead, monkeypatch
):
    """The first pages test each victim walked; later pages hash the visible open cases'
    victims (safeguarding.querysets.board_victims): the same victims in the same order."""
    from safeguarding import views

    gmp, wyp = safeguarding_lead.force, people["officer.wyp"].force
    wyp_officer, wyp_lead = people["officer.wyp"], people["safeguarding.wyp"]
    here = [i.victim for i in add_victims(case, officer, *(person(f"Here {n}") for n in range(4)))]
    for n, victim in enumerate(here):
        contact(victim, safeguarding_lead, days_ago=3, made=True, due_in=n - 2)
    closed_case = factories.investigation(
        officer, stage="under_investigation", supervisor=supervisor
    )
    (closed_victim,) = (i.victim for i in add_victims(closed_case, officer, person("Closed")))
    close(closed_case, officer, supervisor)
    leeds = factories.investigation(
        wyp_officer, stage="under_investigation", supervisor=people["supervisor.wyp"]
    )
    moved_in, stays_in_leeds = (
        i.victim for i in add_victims(leeds, wyp_officer, person("Moved In"), person("In Leeds"))
    )
    relocate(moved_in, wyp_lead, gmp)  # now in GMP's area, its Leeds case shared with GMP
    relocate(here[0], safeguarding_lead, wyp)  # moved out, still in a GMP case
    other_team = make_user(
        "other.team.officer", unit=unit_ensure(force=gmp, name="GMP Other Team"), role=roles.OFFICER
    )
    other_unit_case = factories.investigation(other_team, stage="recorded", title="Not shared")
    (unseen,) = (i.victim for i in add_victims(other_unit_case, other_team, person("Unseen")))

    walked = list(board_victims(safeguarding_lead))
    hashed = list(board_victims(safeguarding_lead, deep=True))
    assert walked == hashed
    assert set(walked) == {*here, moved_in}
    assert not {closed_victim, stays_in_leeds, unseen} & set(walked)

    # Through the page, one victim a page: pages 1-2 walked, 3 on hashed; the same sequence.
    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    monkeypatch.setattr(views, "WALKED_PAGES", 2)
    client.force_login(safeguarding_lead)
    shown = []
    for number in range(1, len(walked) + 2):
        html = page(client, f"{BOARD}?page={number}")
        table = html[html.index('id="board"') :]
        rows = [v for v in walked if f'href="/victims/{v.pk}/"' in table]
        shown += rows
        assert len(rows) == (1 if number <= len(walked) else 0)
    assert shown == walked


def test_a_relocation_awaits_contact_until_a_contact_is_made_after_the_move(
    people, case, officer, safeguarding_lead
):
    """relocations_awaiting_contact reads the victim row's last contact made: a contact made
    before the move, or only attempted after it, leaves the relocation awaiting contact."""
    gmp, wyp = safeguarding_lead.force, people["officer.wyp"].force
    wyp_lead = people["safeguarding.wyp"]
    moved_out, quiet = (
        i.victim for i in add_victims(case, officer, person("Moved Out"), person("Stays Put"))
    )
    contact(moved_out, safeguarding_lead, days_ago=2, made=True, due_in=5)  # before the move
    out = relocate(moved_out, safeguarding_lead, wyp)
    leeds = factories.investigation(
        people["officer.wyp"], stage="under_investigation", supervisor=people["supervisor.wyp"]
    )
    (moved_in,) = (i.victim for i in add_victims(leeds, people["officer.wyp"], person("Moved In")))
    into = relocate(moved_in, wyp_lead, gmp)

    assert list(relocations_awaiting_contact(safeguarding_lead)) == [out, into]
    assert list(relocations_awaiting_contact(wyp_lead)) == [out, into]  # out of, into WYP

    contact(moved_out, safeguarding_lead, days_ago=0, made=False, due_in=1)  # only attempted
    assert list(relocations_awaiting_contact(safeguarding_lead)) == [out, into]
    contact(moved_out, wyp_lead, days_ago=0, made=True, due_in=7)  # made after the move
    assert list(relocations_awaiting_contact(safeguarding_lead)) == [into]
    assert quiet.relocations.count() == 0


def awaiting_by_rule() -> dict[int, bool]:
    """Each relocation's awaiting_contact by its definition: no contact made with the victim
    after the relocation was recorded."""
    return {
        r.pk: r.victim.last_contact_at is None or r.victim.last_contact_at <= r.recorded_at
        for r in Relocation.objects.select_related("victim")
    }


def test_generated_relocations_and_the_migrations_fill_keep_awaiting_contact(
    people, case, officer, safeguarding_lead
):
    from tests.investigations.test_generate_cases import generate

    generate(400, seed=3)
    assert Relocation.objects.exists()
    assert dict(Relocation.objects.values_list("pk", "awaiting_contact")) == awaiting_by_rule()

    # And relocations of both kinds made by the actions: the fill gives each its flag back.
    wyp = people["officer.wyp"].force
    waiting, reached = (i.victim for i in add_victims(case, officer, person("A"), person("B")))
    relocate(waiting, safeguarding_lead, wyp)
    relocate(reached, safeguarding_lead, wyp)
    contact(reached, safeguarding_lead, days_ago=0, made=True, due_in=7)
    expected = awaiting_by_rule()
    assert set(expected.values()) == {True, False}
    Relocation.objects.update(awaiting_contact=True)
    fill = importlib.import_module("safeguarding.migrations.0003_relocation_awaiting_contact")
    with connection.schema_editor(atomic=False) as editor:
        fill.fill_awaiting_contact(apps, editor)
    assert dict(Relocation.objects.values_list("pk", "awaiting_contact")) == expected


def test_a_contact_recorded_late_keeps_a_later_relocation_awaiting(
    people, case, officer, safeguarding_lead
):
    """A contact entered today but made before the move (an earlier `at`) does not clear it;
    the relocation's flag and the rule agree after every contact."""
    wyp = people["officer.wyp"].force
    (victim,) = (i.victim for i in add_victims(case, officer, person("Late Entry")))
    moved = relocate(victim, safeguarding_lead, wyp)
    Relocation.objects.filter(pk=moved.pk).update(recorded_at=timezone.now() - timedelta(days=3))
    contact(victim, safeguarding_lead, days_ago=5, made=True, due_in=5)  # before the move
    assert Relocation.objects.get(pk=moved.pk).awaiting_contact is True
    assert awaiting_by_rule() == {moved.pk: True}
    contact(victim, safeguarding_lead, days_ago=1, made=True, due_in=5)  # after it
    assert Relocation.objects.get(pk=moved.pk).awaiting_contact is False
    assert awaiting_by_rule() == {moved.pk: False}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_relocation_shares_the_case_after_an_edit_in_progress_not_over_it(people):
    """A relocation to another force shares the victim's case, which writes the case's version.
    An edit of the case in progress (its row locked here, in another connection, and its
    version moved on) is waited for, and the share writes the version after it: a form loaded
    before the edit is then refused, not silently applied over it."""
    officer, supervisor = people["officer.gmp"], people["supervisor.gmp"]
    lead = people["safeguarding.gmp"]
    case = factories.investigation(officer, stage="under_investigation", supervisor=supervisor)
    (victim,) = (i.victim for i in add_victims(case, officer, person("Andrei Ionescu")))
    start = Investigation.objects.get(pk=case.pk).version
    editor = psycopg.connect(_dsn(), autocommit=False)
    editor.execute(
        "UPDATE investigations_investigation SET version = version + 1, title = 'Edit two' "
        "WHERE id = %s",
        [case.pk],
    )
    errors: list[BaseException] = []

    def move() -> None:
        try:
            relocate(Victim.objects.get(pk=victim.pk), lead, Force.objects.get(code="WYP"))
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=move)
    thread.start()
    deadline = time.monotonic() + 60
    try:
        while not any(b["wait_type"] == "Lock" and b["blocked_by"] for b in backends()):
            assert thread.is_alive(), errors
            assert time.monotonic() < deadline, "the relocation did not wait on the case"
        editor.commit()
    finally:
        editor.close()
    thread.join()
    assert not errors, errors
    case.refresh_from_db()
    assert case.title == "Edit two"
    assert case.version == start + 2  # the edit, then the share


def test_only_the_latest_move_of_a_victim_awaits_contact_on_the_lists(
    people, case, officer, safeguarding_lead
):
    """A victim moved twice with no contact is one victim awaiting contact, at their latest
    move (as the relocated_victim_no_contact rule counts them), not two."""
    wyp_lead = people["safeguarding.wyp"]
    (victim,) = (i.victim for i in add_victims(case, officer, person("Moved Twice")))
    relocate(victim, safeguarding_lead, wyp_lead.force)
    latest = relocate(
        victim,
        wyp_lead,
        wyp_lead.force,
        destination_type="safe_house",
        safe_house_location="Leeds",
    )
    assert list(relocations_awaiting_contact(safeguarding_lead)) == [latest]
    assert list(relocations_awaiting_contact(wyp_lead)) == [latest]
