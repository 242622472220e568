"""The list's free-text search reads Investigation.search_text: every action that writes a title,
a suspect's or a victim's name or alias keeps it, in the same transaction, for every case the
name is in; generated data and the migration's fill write the same text as the actions."""

from __future__ import annotations

import importlib
import threading
import time
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone

from investigations import actions
from investigations.models import Investigation, SuspectRole
from investigations.querysets import case_search_texts
from slaverycases.accounts.actions import unit_ensure
from slaverycases.accounts.models import User
from tests import factories
from tests.victims.test_actions import add_victims, person
from victims import actions as victim_actions
from victims.models import Victim

pytestmark = pytest.mark.django_db


def found(user, text: str) -> set[str]:
    return set(Investigation.objects.visible_to(user).search(text).values_list("title", flat=True))


def stored_matches_composed(*cases: Investigation) -> None:
    stored = dict(
        Investigation.objects.filter(pk__in=[c.pk for c in cases]).values_list("pk", "search_text")
    )
    assert stored == case_search_texts([c.pk for c in cases])


@pytest.fixture
def case(officer, supervisor):
    return factories.investigation(
        officer, stage="allocated", supervisor=supervisor, title="Car wash in Stockport"
    )


def test_a_case_is_found_by_its_title_suspects_and_victims_ignoring_case(
    client, case, officer, supervisor
):
    other = factories.investigation(officer, title="Nail bar in Bury")
    actions.suspect_add(
        case, actor=officer, name="Viktor Krasniqi", aliases="The Boss", role=SuspectRole.PRINCIPAL
    )
    add_victims(case, officer, person("Andrei Ionescu", aliases="Andy"))
    for text in ("stockport", "KRASNIQI", "the boss", "Ionescu", "andy", "  wash in "):
        assert found(officer, text) == {"Car wash in Stockport"}, text
    assert found(officer, "bury") == {"Nail bar in Bury"}
    # By its reference, or a part of it (its last digits)
    assert found(officer, case.reference.lower()) == {"Car wash in Stockport"}
    assert found(officer, case.reference[-7:]) == {"Car wash in Stockport"}
    assert found(officer, "Leeds") == set()
    # A search never matches across two names: they are stored one per line.
    assert found(officer, "Krasniqi The") == set()
    assert found(supervisor, "ionescu") == {"Car wash in Stockport"}
    client.force_login(officer)
    page = client.get("/investigations/", {"q": "ionescu"}).content.decode()
    assert case.reference in page and other.reference not in page
    stored_matches_composed(case, other)


def test_renaming_replaces_the_old_words(case, officer):
    suspect = actions.suspect_add(case, actor=officer, name="Viktor Krasniqi", role="principal")
    case.refresh_from_db()
    actions.suspect_update(suspect, actor=officer, expected_version=case.version, name="V Gashi")
    case.refresh_from_db()
    actions.investigation_update(
        case,
        actor=officer,
        expected_version=case.version,
        title="Hand car wash, Hazel Grove",
        summary=case.summary,
        source=case.source,
        location=case.location,
        exploitation_types=["labour"],
    )
    (involvement,) = add_victims(case, officer, person("Andrei Ionescu"))
    victim_actions.victim_update(
        involvement.victim, actor=officer, expected_version=1, name="Andrei Popescu"
    )
    for gone in ("krasniqi", "stockport", "ionescu"):
        assert found(officer, gone) == set(), gone
    for now in ("gashi", "hazel grove", "popescu"):
        assert found(officer, now) == {"Hand car wash, Hazel Grove"}, now
    stored_matches_composed(case)


def test_a_victims_new_name_reaches_cases_the_editor_cannot_see(
    case, officer, other_force_officer, people
):
    (involvement,) = add_victims(case, officer, person("Andrei Ionescu"))
    elsewhere = factories.investigation(
        other_force_officer,
        stage="allocated",
        supervisor=people["supervisor.wyp"],
        title="Farm in Wakefield",
    )
    victim = involvement.victim
    add_victims(elsewhere, other_force_officer, person(victim.name, existing_victim=victim))
    assert found(officer, "wakefield") == set()  # not shared with GMP
    victim_actions.victim_update(victim, actor=officer, expected_version=1, aliases="Andi")
    assert found(other_force_officer, "andi") == {"Farm in Wakefield"}
    assert found(officer, "andi") == {"Car wash in Stockport"}
    stored_matches_composed(case, elsewhere)


def test_a_refused_change_leaves_the_search_text_as_it_was(case, officer):
    suspect = actions.suspect_add(case, actor=officer, name="Viktor Krasniqi", role="principal")
    before = Investigation.objects.get(pk=case.pk).search_text
    with pytest.raises(Exception, match="arrest"):
        actions.suspect_update(
            suspect,
            actor=officer,
            expected_version=Investigation.objects.get(pk=case.pk).version,
            name="Someone Else",
            arrested_at=timezone.now(),
            charged_at=timezone.now() - timedelta(days=1),
        )
    assert Investigation.objects.get(pk=case.pk).search_text == before
    assert found(officer, "someone") == set()


def test_generated_cases_and_the_migrations_fill_write_what_the_actions_would(people):
    from tests.investigations.test_generate_cases import generate

    generate(60)
    cases = list(Investigation.objects.all())
    assert all(c.search_text.startswith(f"{c.reference}\n{c.title.upper()}") for c in cases)
    assert any(c.search_text.count("\n") > 1 for c in cases)  # with victims' names
    stored_matches_composed(*cases)

    # 0009 wrote the titles and names; 0010 puts each case's reference first, once.
    Investigation.objects.update(search_text="")
    importlib.import_module("investigations.migrations.0009_search_text").fill_search_text(
        apps, None
    )
    without_references = dict(Investigation.objects.values_list("pk", "search_text"))
    assert not any(without_references[c.pk].startswith(c.reference) for c in cases)
    keys = importlib.import_module("investigations.migrations.0010_search_keys")
    with connection.schema_editor(atomic=False) as editor:
        keys.add_references(apps, editor)
        keys.add_references(apps, editor)  # (run twice: no second reference)
    stored_matches_composed(*cases)
    some = next(c for c in cases if c.search_text.count("\n") > 1)
    name = some.search_text.split("\n")[2].lower()
    assert some.pk in set(Investigation.objects.search(name).values_list("pk", flat=True))
    with connection.schema_editor(atomic=False) as editor:
        keys.remove_references(apps, editor)
    assert dict(Investigation.objects.values_list("pk", "search_text")) == without_references


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's index")
def test_a_search_in_a_unit_reads_the_units_search_keys(case, officer):
    """The condition the list adds to the unit's part is the expression of the index of
    migration 0010 (the planner would read it rather than every case), and only the unit's
    cases holding the text pass it."""
    from investigations.querysets import SearchKeysMatch

    elsewhere = factories.investigation(
        officer, title="Car wash in Stockport", unit=unit_ensure(force=officer.force, name="Other")
    )
    keys = Investigation.objects.filter(SearchKeysMatch(officer.unit_id, "STOCKPORT"))
    assert set(keys.values_list("pk", flat=True)) == {case.pk}
    assert "STOCKPORT" in Investigation.objects.get(pk=elsewhere.pk).search_text
    assert set(
        Investigation.objects.filter(SearchKeysMatch(officer.unit_id, "WASH IN ST")).values_list(
            "pk", flat=True
        )
    ) == {case.pk}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = keys.filter(search_text__contains="STOCKPORT").explain()
    assert "inv_unit_search_keys" in plan, plan


def _until_a_session_waits_for_a_lock(timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # (one per transaction otherwise)
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.01)  # polling a condition, not waiting a fixed time
    raise AssertionError("no session waited for the case's lock")


@pytest.mark.django_db(transaction=True)
def test_a_victim_renamed_while_a_suspect_is_added_keeps_both_names(transactional_db, people):
    """The rename reads the case's names only once it holds the case's lock: it waits for the
    suspect's transaction instead of writing a text read before that suspect existed."""
    officer, supervisor = people["officer.gmp"], people["supervisor.gmp"]
    case = factories.investigation(officer, stage="allocated", supervisor=supervisor, title="Farm")
    (involvement,) = add_victims(case, officer, person("Andrei Ionescu"))
    suspect_added = threading.Event()
    errors: list[BaseException] = []

    def add_suspect() -> None:  # holds the case's lock until the rename waits for it
        try:
            with transaction.atomic():
                actions.suspect_add(
                    Investigation.objects.get(pk=case.pk),
                    actor=User.objects.get(pk=officer.pk),
                    name="Viktor Krasniqi",
                    role=SuspectRole.PRINCIPAL,
                )
                suspect_added.set()
                _until_a_session_waits_for_a_lock()
        except BaseException as exc:  # noqa: BLE001  (reported by the assertion below)
            errors.append(exc)
            suspect_added.set()
        finally:
            connection.close()

    def rename() -> None:
        try:
            assert suspect_added.wait(timeout=30)
            victim_actions.victim_update(
                Victim.objects.get(pk=involvement.victim_id),
                actor=User.objects.get(pk=officer.pk),
                expected_version=1,
                name="Andrei Popescu",
            )
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=add_suspect), threading.Thread(target=rename)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    text = Investigation.objects.get(pk=case.pk).search_text
    assert "VIKTOR KRASNIQI" in text and "ANDREI POPESCU" in text, text
    stored_matches_composed(case)
