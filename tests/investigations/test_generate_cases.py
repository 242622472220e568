"""investigations/generate.py and `manage.py generate_cases`: the synthetic data is consistent
(counts, unique references, the models' constraints, dates in order), the reference counters
carry on so a case logged afterwards gets the next number, and the flag scan runs over it."""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from datetime import UTC

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count, F, Max, Q
from django.utils import timezone

from investigations.actions import investigation_create
from investigations.generate import Progress, keys_index_set_aside
from investigations.models import (
    MODERN_SLAVERY_OFFENCES,
    ClosureReview,
    Investigation,
    Offence,
    ReferenceCounter,
    Status,
)
from referrals.models import DutyToNotify, NrmReferral
from slaverycases.flags.models import ACTIVE_STATUSES, Flag
from victims.models import Involvement, Victim

pytestmark = pytest.mark.django_db

REFERENCE = re.compile(r"^[A-Z0-9]{2,10}-\d{4}-\d{6}$")


def generate(n: int, *, seed: int = 7, forces: int = 3) -> dict[str, int]:
    out = io.StringIO()
    call_command(
        "generate_cases",
        investigations=n,
        forces=forces,
        seed=seed,
        batch_size=80,
        no_progress=True,
        stdout=out,
    )
    return json.loads(out.getvalue())


@pytest.fixture
def generated(people):
    figures = generate(200)
    assert figures["investigations"] == 200
    return figures


def test_counts_and_spread(generated):
    assert Investigation.objects.count() == 200
    assert set(Investigation.objects.values_list("force__code", flat=True)) == {
        "MPS",
        "WMP",
        "GMP",
    }
    per_case = Involvement.objects.values("investigation").annotate(n=Count("pk"))
    sizes = [row["n"] for row in per_case]
    assert len(sizes) == 200 and min(sizes) >= 1 and max(sizes) <= 14
    assert sum(1 for n in sizes if n <= 3) > 0.7 * len(sizes)  # most cases have 1 to 3
    assert Victim.objects.count() == Involvement.objects.count()
    years = {d.year for d in Investigation.objects.values_list("reported_at", flat=True)}
    assert len(years) >= 5  # spread over ten years
    open_cases = Investigation.objects.exclude(status=Status.CLOSED).count()
    assert 0 < open_cases < 60  # a realistic share (about 5% at scale) is open
    assert NrmReferral.objects.count() > 0.7 * Victim.objects.count()
    assert DutyToNotify.objects.exists()


def test_references_are_unique_and_follow_the_format(generated):
    refs = list(Investigation.objects.values_list("reference", flat=True))
    assert len(set(refs)) == len(refs) == 200
    assert all(REFERENCE.match(r) for r in refs)
    for inv in Investigation.objects.select_related("force"):
        code, year, _ = inv.reference.split("-")
        assert code == inv.force.code
        assert int(year) == inv.reported_at.astimezone(UTC).year


def test_reference_counters_cover_every_generated_number(generated):
    top: Counter[tuple[str, int]] = Counter()
    for ref in Investigation.objects.values_list("reference", flat=True):
        code, year, number = ref.split("-")
        top[(code, int(year))] = max(top[(code, int(year))], int(number))
    counters = {(c.force_code, c.year): c.last_number for c in ReferenceCounter.objects.all()}
    for key, number in top.items():
        assert counters[key] == number  # numbered 1..N without gaps


def test_statuses_outcomes_and_dates_are_consistent(generated):
    cases = Investigation.objects.all()
    assert not cases.filter(status=Status.CLOSED, outcome="").exists()
    assert not cases.filter(outcome="nfa", nfa_reason="").exists()
    assert not cases.exclude(status=Status.CLOSED).exclude(outcome="").exists()
    assert not cases.filter(status=Status.CLOSED, closed_at__isnull=True).exists()
    assert not cases.filter(crime_recorded_at__lt=F("reported_at")).exists()
    assert not cases.filter(allocated_at__lt=F("crime_recorded_at")).exists()
    assert not cases.filter(started_at__lt=F("allocated_at")).exists()
    assert not cases.filter(closure_requested_at__lt=F("reported_at")).exists()
    assert not cases.filter(closed_at__lt=F("closure_requested_at")).exists()
    assert not cases.filter(reported_at__gt=timezone.now()).exists()
    assert not cases.filter(closed_at__gt=timezone.now()).exists()
    # Allocated cases have an officer in charge and supervisor; closed ones an approved review.
    assert not cases.filter(allocated_at__isnull=False, oic__isnull=True).exists()
    approved = ClosureReview.objects.filter(decision="approved").values("investigation")
    assert (
        cases.filter(status=Status.CLOSED, pk__in=approved).count()
        >= 0.95 * cases.filter(status=Status.CLOSED).count()
    )
    pending = ClosureReview.objects.filter(decision="pending")
    assert pending.count() == cases.filter(status=Status.CLOSURE_REQUESTED).count()


def test_one_modern_slavery_offence_per_victim_of_a_recorded_case(generated):
    recorded = Investigation.objects.filter(crime_decision="recorded")
    victims = Involvement.objects.filter(investigation__in=recorded).count()
    msa = Offence.objects.filter(offence_type__in=MODERN_SLAVERY_OFFENCES)
    assert msa.count() == victims
    assert not msa.values("investigation", "victim").annotate(n=Count("pk")).filter(n__gt=1)
    assert not Offence.objects.filter(victim__isnull=True).exists()


def test_a_case_logged_afterwards_gets_the_next_reference(generated, officer):
    year = timezone.localdate().year
    counter = ReferenceCounter.objects.filter(force_code="GMP", year=year).first()
    last = counter.last_number if counter else 0
    inv = investigation_create(
        actor=officer,
        title="After the benchmark",
        summary="A new report.",
        source="public",
        exploitation_types=["labour"],
        reported_at=timezone.now(),
    )
    assert inv.reference == f"GMP-{year}-{last + 1:06d}"
    assert Investigation.objects.filter(reference=inv.reference).count() == 1


def test_a_second_run_carries_on_numbering(generated):
    generate(60, seed=8)
    refs = list(Investigation.objects.values_list("reference", flat=True))
    assert len(refs) == len(set(refs)) == 260
    # The synthetic people were made once and reused.
    from slaverycases.accounts.models import User

    names = User.objects.filter(username__startswith="gen.").values("username")
    assert not names.annotate(n=Count("pk")).filter(n__gt=1).exists()


def test_scan_flags_runs_over_generated_data_and_a_second_run_changes_nothing(generated):
    out = io.StringIO()
    call_command("scan_flags", stdout=out)
    first = json.loads(out.getvalue())
    assert sum(first["opened"].values()) > 0
    active = Flag.objects.filter(status__in=ACTIVE_STATUSES).count()
    out = io.StringIO()
    call_command("scan_flags", stdout=out)
    second = json.loads(out.getvalue())
    assert second["opened"] == {} and second["resolved"] == {}
    assert Flag.objects.filter(status__in=ACTIVE_STATUSES).count() == active


def test_progress_bar_shows_an_estimate():
    stream = io.StringIO()
    bar = Progress(1000, stream=stream, width=10)
    bar.update(520)
    text = stream.getvalue()
    assert "[#####     ]" in text and "52%" in text and "520/1000" in text and "ETA" in text


def test_generated_cases_show_up_as_flags_where_expected(generated):
    # Not a rules test (tests/flags does that): the data gives the scan something to find.
    call_command("scan_flags", stdout=io.StringIO())
    kinds = set(Flag.objects.values_list("kind", flat=True))
    assert "premature_closure" in kinds or "nrm_not_considered" in kinds
    assert Flag.objects.aggregate(m=Max("severity"))["m"] >= 2
    assert not Flag.objects.filter(~Q(status__in=ACTIVE_STATUSES)).exists()


def _keys_index() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'inv_unit_search_keys'")
        row = cursor.fetchone()
    return row[0] if row else None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's index")
def test_a_load_as_large_as_the_table_builds_the_search_keys_index_afterwards(people):
    """A bulk load drops the keys' index and builds the migration's own definition again,
    even when the load fails; a load smaller than the table keeps it."""
    migrated = _keys_index()
    assert migrated and "sc_search_keys(unit_id, search_text)" in migrated
    stream = io.StringIO()
    with keys_index_set_aside(100, Progress(100, stream=stream).stage) as set_aside:
        assert set_aside and _keys_index() is None
    assert _keys_index() == migrated
    assert "Building the search index again" in stream.getvalue()

    with pytest.raises(RuntimeError), keys_index_set_aside(100):
        assert _keys_index() is None
        raise RuntimeError("the load failed")
    assert _keys_index() == migrated

    generate(30)  # (into an empty table: set aside)
    assert _keys_index() == migrated
    with keys_index_set_aside(29) as set_aside:
        assert not set_aside and _keys_index() == migrated

    # An earlier run stopped while building it: the next load builds it, however small.
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX inv_unit_search_keys")
    with keys_index_set_aside(1) as set_aside:
        assert set_aside
    assert _keys_index() == migrated


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's index")
def test_generated_cases_are_found_through_the_rebuilt_search_keys_index(generated):
    """The index built after the load answers the list's search in a unit, as the one the
    migration built does (tests/investigations/test_search_text.py)."""
    from investigations.querysets import SearchKeysMatch

    case = Investigation.objects.order_by("pk").first()
    surname = case.search_text.splitlines()[-1][-6:]
    keys = Investigation.objects.filter(SearchKeysMatch(case.unit_id, surname))
    found = set(keys.filter(search_text__contains=surname).values_list("pk", flat=True))
    expected = Investigation.objects.filter(unit_id=case.unit_id, search_text__contains=surname)
    assert case.pk in found and found == set(expected.values_list("pk", flat=True))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = keys.filter(search_text__contains=surname).explain()
    assert "inv_unit_search_keys" in plan, plan
