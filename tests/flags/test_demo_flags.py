"""Issue 6 acceptance: on the demo data scan_flags opens every kind; a second run changes
nothing; some demo cases trip no rule."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings

from investigations.models import Investigation
from slaverycases.flags.models import Flag, FlagKind


@pytest.mark.django_db
@override_settings(DEBUG=True)
def test_scan_flags_on_the_demo_data():
    call_command("seed_demo", stdout=StringIO())
    first = StringIO()
    call_command("scan_flags", stdout=first)
    report = json.loads(first.getvalue().strip().splitlines()[-1])
    assert set(report) == {"opened", "resolved", "open"}
    for kind in FlagKind.values:
        assert report["opened"].get(kind, 0) >= 1, kind
    second = StringIO()
    call_command("scan_flags", stdout=second)
    again = json.loads(second.getvalue().strip().splitlines()[-1])
    assert again["opened"] == {} and again["resolved"] == {}
    assert again["open"] == report["open"]
    flagged = set(Flag.objects.values_list("investigation_id", flat=True))
    assert Investigation.objects.exclude(pk__in=flagged).exists()
