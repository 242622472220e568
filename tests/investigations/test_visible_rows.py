"""The list's rows come from two disjoint parts (the unit's cases, and the others the user sees)
merged page by page (querysets.VisibleRows): the pages must be exactly the pages of the plain
visibility query, in every order, across page boundaries, with the same count."""

from __future__ import annotations

import pytest
from django.core.paginator import Paginator
from django.db import connection, transaction

from investigations import access, actions
from investigations.models import EXPLOITATION_BIT, Investigation
from slaverycases.accounts import roles
from slaverycases.accounts.actions import unit_ensure
from tests import factories
from tests.investigations.test_views import make_user
from tests.victims.test_actions import add_victims, person


@pytest.fixture
def mixed(officer, supervisor):
    other_unit = unit_ensure(force=officer.force, name="GMP Exploitation Team")
    other = make_user("other.supervisor", unit=other_unit, role=roles.SUPERVISOR)
    for day in range(2, 32, 2):  # 15 of the unit's own
        factories.investigation(officer, days_ago=day, title=f"Own {day:02d}")
    for day in range(1, 23, 2):  # 11 of another unit, shared with the officer's unit
        inv = factories.investigation(
            other, days_ago=day, title=f"Shared {day:02d}", unit=other_unit
        )
        actions.investigation_share(inv, actor=other, reason="Joint work", unit=officer.unit)
    factories.investigation(other, days_ago=3, title="Hidden", unit=other_unit)
    return other_unit


@pytest.mark.parametrize(
    ("order", "filters"),
    [
        (["-reported_at", "-id"], {}),
        (["reported_at", "-id"], {}),
        (["reference", "-id"], {}),
        (["status", "-id"], {}),
        (["-reported_at", "-id"], {"q": "shared"}),
        (["-reported_at", "-id"], {"status": "closed"}),
    ],
)
def test_pages_of_the_parts_are_the_pages_of_the_visible_cases(officer, mixed, order, filters):
    rows = access.visible_list_rows(officer, filters, order)
    truth = list(Investigation.objects.visible_to(officer).filtered(**filters).order_by(*order))
    assert rows.count() == len(truth)
    for per_page in (4, 7, 25):
        paginator = Paginator(rows, per_page)
        pages = [list(paginator.page(n)) for n in paginator.page_range]
        assert [inv.pk for page in pages for inv in page] == [inv.pk for inv in truth]
    assert "Hidden" not in {inv.title for inv in truth}


def test_a_user_without_a_unit_sees_one_part(people, mixed, officer):
    officer.unit = None
    officer.save(update_fields=["unit"])
    rows = access.visible_list_rows(officer, {}, ["-reported_at", "-id"])
    assert len(rows.parts) == 1
    assert rows.count() == Investigation.objects.visible_to(officer).count()


@pytest.mark.parametrize(
    "order", [["-reported_at", "-id"], ["reported_at", "-id"], ["reference", "-id"]]
)
@pytest.mark.parametrize("kind", ["labour", "sexual", "criminal"])
def test_filtered_by_type_the_pages_are_those_of_the_exploitation_rows(officer, mixed, order, kind):
    """The filter reads the case row's bits; the truth is the exploitation rows themselves."""
    for n, inv in enumerate(Investigation.objects.order_by("id")):
        types = [["labour"], ["sexual", "labour"], ["criminal"], ["domestic", "sexual"]][n % 4]
        actions.investigation_update(
            inv,
            actor=inv.created_by,
            expected_version=inv.version,
            title=inv.title,
            summary=inv.summary,
            source=inv.source,
            location=inv.location,
            exploitation_types=types,
        )
    rows = access.visible_list_rows(officer, {"exploitation": kind}, order)
    truth = list(
        Investigation.objects.visible_to(officer).filter(exploitation__type=kind).order_by(*order)
    )
    assert 0 < len(truth) < Investigation.objects.visible_to(officer).count()
    assert rows.count() == len(truth)
    paginator = Paginator(rows, 4)
    pages = [list(paginator.page(n)) for n in paginator.page_range]
    assert [inv.pk for page in pages for inv in page] == [inv.pk for inv in truth]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner")
@pytest.mark.parametrize("kind", list(EXPLOITATION_BIT))
def test_the_unit_part_filtered_by_type_can_use_the_type_index(officer, kind):
    """The condition the filter writes is the partial index's own: were it written otherwise
    (a parameter, another cast), PostgreSQL could not prove the index's WHERE from it. With
    the table's other indexes dropped (in the test's transaction, rolled back) and sorting
    off, the type's index is the only way to the page in order, if the planner may use it."""
    index = f"inv_unit_reported_{kind}"
    part = Investigation.objects.visible_parts(officer)[0].filtered(exploitation=kind)
    sql, params = part.order_by("-reported_at", "-id").values("pk")[:25].query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = %s::regclass"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = indexrelid)",
            [Investigation._meta.db_table],
        )
        others = [name for (name,) in cursor.fetchall() if name != index]
        assert "inv_unit_reported" in others
        for name in others:
            cursor.execute(f'DROP INDEX "{name}"')
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    assert f"Scan using {index} on" in plan, plan
    assert "Sort" not in plan, plan
    assert "Filter" not in plan, plan  # the index's WHERE is the type; nothing left to test


def test_has_bit_takes_one_bit(officer):
    with pytest.raises(ValueError, match="single bit"):
        list(Investigation.objects.filter(exploitation_bits__has_bit=3))
    assert not Investigation.objects.filter(exploitation_bits__has_bit=EXPLOITATION_BIT["organ"])


def test_count_at_most_counts_up_to_the_limit(officer, mixed):
    rows = access.visible_list_rows(officer, {}, ["-reported_at", "-id"])
    assert len(rows.parts) == 2
    total = Investigation.objects.visible_to(officer).count()
    assert total == 26
    assert rows.count_at_most(25) is None
    assert rows.count_at_most(26) == total
    assert rows.count() == total
    fresh = access.visible_list_rows(officer, {}, ["-reported_at", "-id"])
    assert fresh.count_at_most(1000) == total
    assert fresh.count_at_most(3) is None  # a known count above a smaller limit


def _orm_rows(user, filters, order):
    """The list read by querysets (VisibleRows), as it is where nothing is compiled."""
    from investigations.querysets import VisibleRows

    parts = [p.filtered(**filters) for p in Investigation.objects.visible_parts(user)]
    return VisibleRows(parts, order, decorate=lambda qs: qs.with_list_columns())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="compiled on PostgreSQL only")
def test_the_compiled_list_gives_the_counts_and_pages_of_the_querysets(
    people, officer, supervisor, mixed, django_assert_num_queries
):
    """Every filter the compiled list takes, alone and together, every order, a user with and
    without a unit: the same count, limited counts and pages, row for row and column for
    column, as VisibleRows."""
    from investigations.querysets import CompiledVisibleRows
    from tests.core.test_compiled import state

    no_unit = make_user("no.unit.officer", unit=officer.unit, role=roles.OFFICER)
    no_unit.unit = None
    no_unit.save(update_fields=["unit"])
    for inv in Investigation.objects.order_by("pk")[:4]:
        actions.investigation_share(inv, actor=supervisor, reason="Analysis", user=no_unit)
    officer_id = str(officer.pk)
    unit_id = str(mixed.pk)
    own = Investigation.objects.filter(unit=officer.unit).order_by("pk")
    actions.suspect_add(own[0], actor=officer, name="Vasile Lupu 50%_off", role="controller")
    recorded = factories.investigation(officer, stage="recorded", supervisor=supervisor)
    add_victims(recorded, officer, person("Ioana Lupu"))
    add_victims(recorded, officer, person("Arbër Hoxha"))
    filter_sets = [
        {"q": "shared"},
        {"q": "arbër"},  # not ASCII, in lower case
        {"q": "hidden"},  # another unit's case, not shared
        {"q": "lu"},  # shorter than a search key
        {"q": own[2].reference[-9:]},  # a part of a reference
        {"q": "  Own 0 "},
        {"q": "lupu"},  # a suspect's and a victim's name
        {"q": "50%_"},
        {"q": "%"},
        {"q": "_"},
        {"q": "\\"},
        {"q": own[2].reference.lower()},
        {"q": "own", "status": "reported", "oic": officer_id},
        {},
        {"status": "reported"},
        {"exploitation": "labour"},
        {"unit": unit_id},
        {"oic": officer_id},
        {"status": "reported", "exploitation": "labour", "unit": unit_id, "oic": officer_id},
    ]
    compared = 0
    for user in (officer, no_unit, people["officer.wyp"]):
        for filters in filter_sets:
            for sort in ("-reported_at", "reported_at", "reference", "status"):
                order = [sort, "-id"]
                compiled = access.visible_list_rows(user, filters, order)
                assert isinstance(compiled, CompiledVisibleRows)
                orm = _orm_rows(user, filters, order)
                assert compiled.count() == orm.count()
                for limit in (0, 3, 100):
                    fresh = access.visible_list_rows(user, filters, order)
                    assert fresh.count_at_most(limit) == _orm_rows(
                        user, filters, order
                    ).count_at_most(limit)
                # Counted first (a search's page by its keys), and not (in list order).
                uncounted = access.visible_list_rows(user, filters, order)
                for start, stop in ((0, 4), (4, 8), (8, 12), (24, 28), (0, 40)):
                    expected = [state(r) for r in orm[start:stop]]
                    assert [state(r) for r in compiled[start:stop]] == expected
                    assert [state(r) for r in uncounted[start:stop]] == expected
                    compared += len(expected)
    assert compared > 100

    def found(text: str) -> int:
        return access.visible_list_rows(officer, {"q": text}, ["-reported_at", "-id"]).count()

    # A suspect's and a victim's name; wildcards are literal; a reference in any case.
    assert (found("lupu"), found("50%_"), found("%"), found("_off"), found("5_%")) == (
        2,
        1,
        1,
        1,
        0,
    )
    assert found(own[2].reference.lower()) == 1
    assert found("ARBËR") == found("hoxha") == 1
    # A page is three statements (the limited counts of the two parts, the ids, the rows).
    rows = access.visible_list_rows(officer, {}, ["-reported_at", "-id"])
    with django_assert_num_queries(4):
        assert rows.count_at_most(10_000) and len(rows[0:25]) == 25


def test_sqlite_reads_the_list_by_querysets(officer, mixed):
    from investigations.querysets import CompiledVisibleRows, VisibleRows

    for filters in ({}, {"q": "shared"}):
        rows = access.visible_list_rows(officer, filters, ["-reported_at", "-id"])
        expected = CompiledVisibleRows if connection.vendor == "postgresql" else VisibleRows
        assert isinstance(rows, expected)
