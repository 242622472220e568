"""The list's rows come from two disjoint parts (the unit's cases, and the others the user sees)
merged page by page (querysets.VisibleRows): the pages must be exactly the pages of the plain
visibility query, in every order, across page boundaries, with the same count."""

from __future__ import annotations

import pytest
from django.core.paginator import Paginator

from investigations import access, actions
from investigations.models import Investigation
from slaverycases.accounts import roles
from slaverycases.accounts.actions import unit_ensure
from tests import factories
from tests.investigations.test_views import make_user


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
