"""The case page's reads are compiled statements (slaverycases.core.compiled): on every demo
case they give what the ORM querysets they replaced give, record for record."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Count, Prefetch, Window
from django.test import override_settings

from investigations import actions
from investigations.access import get_investigation_for_user
from investigations.models import (
    Investigation,
    InvestigationGroupObjectPermission,
    InvestigationUserObjectPermission,
    TimelineEvent,
)
from investigations.querysets import (
    CASE_PAGE,
    case_records,
    investigation_shares,
    latest_timeline,
)
from slaverycases.accounts.models import User
from slaverycases.flags.models import ACTIVE_STATUSES
from slaverycases.flags.querysets import case_flags
from tests.core.test_compiled import state
from victims.models import CustodyEvent, Disclosure, Involvement
from victims.querysets import case_victims


@pytest.fixture
def demo(db) -> list[Investigation]:
    with override_settings(DEBUG=True):
        call_command("seed_demo", stdout=StringIO())
        call_command("scan_flags", stdout=StringIO())
    supervisor = User.objects.get(username="supervisor.gmp")
    case = Investigation.objects.filter(unit=supervisor.unit).order_by("pk").first()
    other = User.objects.get(username="officer.wyp")
    for target in ({"unit": other.unit}, {"force": other.force}, {"user": other}):
        actions.investigation_share(case, actor=supervisor, reason="Joint operation", **target)
    return list(Investigation.objects.order_by("pk"))


def states(rows: Any) -> list[Any]:
    return [state(row) for row in rows]


ATTACHED = ("case_disclosures", "case_custody_events")  # case_victims's lists, compared alone


def involvement(row: Involvement) -> Any:
    return state(row, ignore=ATTACHED)


def attached(rows: Any) -> list[Any]:
    return [state(row, ignore=ATTACHED) for row in rows]


def orm_shares(inv: Investigation) -> list[str]:
    groups = InvestigationGroupObjectPermission.objects.filter(content_object=inv).select_related(
        "group__unit__force", "group__force"
    )
    users = InvestigationUserObjectPermission.objects.filter(content_object=inv).select_related(
        "user"
    )
    names = [
        str(getattr(g.group, "unit", None) or getattr(g.group, "force", None) or g.group.name)
        for g in groups
    ]
    return sorted({*names, *(g.user.display_name for g in users)})


def test_every_demo_cases_page_reads_match_the_orm(demo):
    seen = {"offences": 0, "shares": 0, "flags": 0, "disclosures": 0, "custody": 0, "events": 0}
    for inv in demo:
        records = case_records(inv)
        assert states(records["offences"]) == states(inv.offences.select_related("victim"))
        assert states(records["enquiries"]) == states(inv.enquiries.select_related("owner"))
        assert states(records["suspects"]) == states(inv.suspects.all())
        assert states(records["reviews"]) == states(
            inv.supervisory_reviews.select_related("reviewer")
        )
        assert states(records["closure_reviews"]) == states(
            inv.closure_reviews.select_related("requested_by", "reviewer")
        )
        events = (
            TimelineEvent.objects.filter(investigation=inv)
            .select_related("actor", "investigation")
            .annotate(total=Window(Count("pk")))
            .order_by("-at", "-id")
        )
        for limit in (3, None):
            rows, total = latest_timeline(inv, limit)
            wanted = list(events if limit is None else events[:limit])
            assert states(rows) == states(wanted) and total == len(events)
        assert investigation_shares(inv) == orm_shares(inv)
        flags = inv.flags.filter(status__in=ACTIVE_STATUSES).select_related("victim")
        assert states(case_flags(inv)) == states(flags.order_by("-severity", "raised_at"))

        involvements = list(
            Involvement.objects.filter(investigation=inv)
            .select_related("victim", "account_taken_by", "investigation")
            .prefetch_related(
                Prefetch("disclosures", Disclosure.objects.select_related("offence")),
                Prefetch("victim__custody_events", CustodyEvent.objects.filter(investigation=inv)),
            )
        )
        compiled = case_victims(inv)
        assert [
            (involvement(c), attached(c.case_disclosures), attached(c.case_custody_events))
            for c in compiled
        ] == [
            (involvement(i), attached(i.disclosures.all()), attached(i.victim.custody_events.all()))
            for i in involvements
        ]
        seen["offences"] += len(records["offences"])
        seen["shares"] += len(investigation_shares(inv))
        seen["flags"] += len(flags)
        seen["disclosures"] += sum(len(c.case_disclosures) for c in compiled)
        seen["custody"] += sum(len(c.case_custody_events) for c in compiled)
        seen["events"] += len(events)
    assert all(seen.values()), seen  # each kind of record was compared somewhere


def test_the_case_page_read_matches_its_queryset(demo):
    officer = User.objects.get(username="officer.gmp")
    for inv in demo:
        if inv.unit_id != officer.unit_id:
            continue
        read = get_investigation_for_user(officer, inv.reference.lower(), queryset=CASE_PAGE)
        orm = Investigation.objects.for_case_page().get(pk=inv.pk)
        assert state(read) == state(orm)
