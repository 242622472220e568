"""The navigation's count of open flags: exact up to 99, "99+" beyond (counted with a LIMIT,
since every page shows it and a unit can hold 15,000 active flags)."""

from __future__ import annotations

import re

import pytest

from slaverycases.core.navigation import BADGE_CAP
from slaverycases.flags.models import Flag, FlagKind, Severity
from tests import factories

pytestmark = pytest.mark.django_db


def badge(client) -> str | None:
    html = client.get("/").content.decode()
    found = re.search(r'href="/flags/"[^>]*>.*?<span class="govuk-tag govuk-tag--red">(.*?)<', html)
    return found.group(1) if found else None


def flags(case, n: int, start: int = 0) -> None:
    Flag.objects.bulk_create(
        Flag(
            kind=FlagKind.NRM_NOT_CONSIDERED,
            investigation=case,
            unit=case.unit,
            victim_key=start + i + 1,
            severity=Severity.LOW,
        )
        for i in range(n)
    )


def test_the_flags_link_counts_the_open_flags_up_to_99(client, officer, supervisor):
    case = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    client.force_login(supervisor)
    assert badge(client) is None
    flags(case, 2)
    assert badge(client) == "2"
    flags(case, BADGE_CAP - 2, start=2)
    assert badge(client) == "99"
    flags(case, 1, start=BADGE_CAP)
    assert badge(client) == "99+"
    Flag.objects.filter(investigation=case).update(status="resolved")
    assert badge(client) is None
