"""CompiledQuery: a queryset compiled once per database gives the rows the ORM gives."""

from __future__ import annotations

import threading
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from django.db import connections
from django.db.models import Count, Window
from django.utils import timezone

from investigations import actions
from investigations.models import Offence, OffenceType, TimelineEvent
from slaverycases.core.compiled import CompiledQuery, Param
from tests import factories


def state(obj: Any, depth: int = 2, ignore: tuple[str, ...] = ()) -> Any:
    """An instance's field values and annotations, and those of the related objects it holds
    (what select_related and `known` put in its cache), to compare instances built two ways.
    What prefetch_related caches, and the attributes named in `ignore`, are left out: lists
    are compared on their own."""
    if obj is None or depth < 0:
        return obj
    skip = ("_state", "_prefetched_objects_cache", *ignore)
    values = {k: v for k, v in obj.__dict__.items() if k not in skip}
    related = {
        name: state(other, depth - 1, ignore) for name, other in obj._state.fields_cache.items()
    }
    return type(obj), values, related, obj._state.db, obj._state.adding


@pytest.fixture
def case_with_offences(officer, supervisor):
    inv = factories.investigation(officer, stage="under_investigation", supervisor=supervisor)
    actions.offence_record(
        inv,
        actor=officer,
        crime_reference="CR/EXTRA/1",
        offence_type=OffenceType.RAPE,
        recorded_at=timezone.now() - timedelta(days=1),
    )
    return inv


def test_rows_match_the_orm_with_select_related_nulls_and_known_objects(
    case_with_offences, django_assert_num_queries
):
    inv = case_with_offences
    query = CompiledQuery(
        lambda: Offence.objects.filter(investigation_id=Param("case")).select_related(
            "victim", "recorded_by"
        )
    )
    orm = list(inv.offences.select_related("victim", "recorded_by"))
    assert len(orm) == 2 and all(o.victim is None for o in orm)  # a nullable join, empty
    with django_assert_num_queries(1):
        compiled = query.fetch(case=inv.pk, known={"investigation": inv})
        assert all(o.investigation is inv and o.recorded_by.pk for o in compiled)
    assert [state(o) for o in compiled] == [state(o) for o in orm]
    assert query.fetch(case=inv.pk + 1000) == []


def test_annotations_ordering_and_slices_are_kept(case_with_offences):
    inv = case_with_offences

    def build() -> Any:
        return (
            TimelineEvent.objects.filter(investigation_id=Param("case"))
            .select_related("actor")
            .annotate(total=Window(Count("pk")))
            .order_by("-at", "-id")[:3]
        )

    orm = list(
        TimelineEvent.objects.filter(investigation=inv)
        .select_related("actor")
        .annotate(total=Window(Count("pk")))
        .order_by("-at", "-id")[:3]
    )
    compiled = CompiledQuery(build).fetch(case=inv.pk)
    assert len(compiled) == 3 and compiled[0].total > 3
    assert [state(e) for e in compiled] == [state(e) for e in orm]


def test_the_queryset_is_built_and_compiled_once(case_with_offences):
    built: list[int] = []

    def build() -> Any:
        built.append(1)
        return Offence.objects.filter(investigation_id=Param("case"))

    query = CompiledQuery(build)
    for _ in range(3):
        assert len(query.fetch(case=case_with_offences.pk)) == 2
    assert built == [1]
    assert "%s" in query.sql() and "investigation_id" in query.sql()


def test_json_and_datetime_columns_come_back_as_the_orm_gives_them(officer):
    from slaverycases.audit.models import AuditEvent

    inv = factories.investigation(officer)
    actions.investigation_consulted(inv, actor=officer, what="case page")
    orm = list(AuditEvent.objects.filter(investigation_reference=inv.reference))
    compiled = CompiledQuery(
        lambda: AuditEvent.objects.filter(investigation_reference=Param("ref"))
    ).fetch(ref=inv.reference)
    assert orm and [state(e) for e in compiled] == [state(e) for e in orm]
    assert isinstance(compiled[-1].detail, dict) and compiled[-1].at.tzinfo is not None


def test_a_missing_value_and_unsupported_querysets_are_refused(case_with_offences):
    query = CompiledQuery(lambda: Offence.objects.filter(investigation_id=Param("case")))
    with pytest.raises(TypeError, match="case"):
        query.fetch()
    with pytest.raises(TypeError, match="use fetch"):
        query.rows(case=case_with_offences.pk)
    for build in (
        lambda: Offence.objects.filter(investigation_id=Param("case")).prefetch_related("victim"),
        lambda: Offence.objects.annotate(n=Count("pk")).values_list("pk", "n"),
    ):
        with pytest.raises(TypeError):
            CompiledQuery(build).fetch(case=case_with_offences.pk)
    with pytest.raises(TypeError, match="use rows"):
        CompiledQuery(lambda: Offence.objects.values("pk")).fetch()


def test_only_and_defer_give_the_instances_the_orm_gives(case_with_offences):
    """Deferred fields, on the row and on a joined row, are left out as the ORM leaves them,
    and loaded on first use as the ORM loads them."""
    for rows in (
        lambda case: (
            Offence.objects.filter(investigation_id=case)
            .select_related("recorded_by")
            .only("offence_type", "recorded_at", "recorded_by__username")
        ),
        lambda case: Offence.objects.filter(investigation_id=case).defer("outcome"),
    ):
        compiled = CompiledQuery(partial(rows, Param("case"))).fetch(case=case_with_offences.pk)
        orm = list(rows(case_with_offences.pk))
        assert orm and [state(o) for o in compiled] == [state(o) for o in orm]
        assert [o.get_deferred_fields() for o in compiled] == [o.get_deferred_fields() for o in orm]
        assert compiled[0].get_deferred_fields()
        assert compiled[0].crime_reference == orm[0].crime_reference  # loaded when read


def test_values_rows_unions_and_counts_match_the_orm(officer, supervisor, case_with_offences):
    other = factories.investigation(officer, stage="recorded", supervisor=supervisor)

    def offences(**condition: Any) -> Any:
        return Offence.objects.filter(**condition).order_by().values("pk", "recorded_at")

    def build() -> Any:
        both = offences(investigation_id=Param("a")).union(
            offences(investigation_id=Param("b")), all=True
        )
        return both.order_by("-recorded_at", "-pk")[:2]

    query = CompiledQuery(build)
    wanted = offences(investigation_id=case_with_offences.pk).union(
        offences(investigation_id=other.pk), all=True
    )
    ids = (case_with_offences.pk, other.pk)
    assert query.rows(a=ids[0], b=ids[1]) == [
        (row["pk"], row["recorded_at"]) for row in wanted.order_by("-recorded_at", "-pk")[:2]
    ]
    assert query.count(a=ids[0], b=ids[1]) == 2
    everything = CompiledQuery(
        lambda: offences(investigation_id=Param("a")).union(
            offences(investigation_id=Param("b")), all=True
        )
    )
    assert everything.count(a=ids[0], b=ids[1]) == wanted.count() == 3
    flat = CompiledQuery(
        lambda: Offence.objects.filter(investigation_id=Param("a")).values_list("pk", flat=True)
    )
    assert flat.rows(a=ids[0]) == [
        (pk,) for pk in case_with_offences.offences.values_list("pk", flat=True)
    ]


@pytest.mark.django_db(transaction=True)
def test_a_thread_with_its_own_connection_runs_the_same_statement(people):
    """The statement is kept once for the database; each thread runs it on its own connection
    (the scan's threads, a threaded server)."""
    officer = people["officer.gmp"]
    inv = factories.investigation(officer)
    query = CompiledQuery(lambda: TimelineEvent.objects.filter(investigation_id=Param("case")))
    here = query.fetch(case=inv.pk)
    main = connections["default"]
    found: dict[str, Any] = {}

    def other() -> None:
        try:
            found["rows"] = query.fetch(case=inv.pk)
            found["same_connection"] = connections["default"] is main
        finally:
            connections.close_all()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert found["same_connection"] is False
    assert [state(e) for e in found["rows"]] == [state(e) for e in here] and here


def test_compiled_insert_writes_the_row_save_writes(officer, django_assert_num_queries):
    from django.db.models.functions import Now

    from slaverycases.audit.models import AuditAction, AuditEvent
    from slaverycases.core.compiled import CompiledInsert

    def event(**extra: Any) -> AuditEvent:
        values = {
            "actor": officer,
            "actor_username": officer.username,
            "ip_address": "10.0.0.1",
            "action": AuditAction.CONSULTATION,
            "object_type": "investigations.investigation",
            "detail": {"what": "case page", "n": [1, 2]},
        }
        return AuditEvent(**{**values, **extra})

    insert = CompiledInsert(AuditEvent)
    with django_assert_num_queries(1):
        ours = insert.insert(event())
    assert ours.pk and not ours._state.adding and ours._state.db == "default"
    theirs = event(at=ours.at)
    theirs.save()
    read = {e.pk: state(e) for e in AuditEvent.objects.filter(pk__in=[ours.pk, theirs.pk])}
    assert read[ours.pk][1] == {**read[theirs.pk][1], "id": ours.pk}
    assert state(ours)[1] == read[ours.pk][1]
    second = insert.insert(event(ip_address=None, detail={}))
    assert AuditEvent.objects.get(pk=second.pk).ip_address is None
    with pytest.raises(TypeError, match="expressions"):
        CompiledInsert(AuditEvent).insert(event(at=Now()))


def test_a_statement_compiled_with_prepare_false_is_never_prepared_and_still_logged(
    case_with_offences, django_assert_num_queries
):
    """The list's searches are planned with each run's text (prepare=False): psycopg keeps a
    statement run 5 times as a prepared statement, whose generic plan cannot see the text."""
    kept = CompiledQuery(
        lambda: Offence.objects.filter(investigation_id=Param("case")).values_list("pk")
    )
    planned = CompiledQuery(
        lambda: Offence.objects.filter(investigation_id=Param("case")).values_list(
            "pk", "crime_reference"
        ),
        prepare=False,
    )
    expected = list(
        Offence.objects.filter(investigation=case_with_offences).values_list(
            "pk", "crime_reference"
        )
    )
    with django_assert_num_queries(30):  # every run goes through the query log
        for _ in range(10):
            assert sorted(kept.rows(case=case_with_offences.pk)) == [(pk,) for pk, _ in expected]
            assert sorted(planned.rows(case=case_with_offences.pk)) == sorted(expected)
            assert planned.count(case=case_with_offences.pk) == len(expected)
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [s for (s,) in cursor.fetchall() if "investigations_offence" in s]
    assert len(statements) == 1  # the kept one, prepared after 5 runs
    assert "crime_reference" not in statements[0]
