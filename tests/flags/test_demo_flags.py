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


@pytest.mark.django_db(transaction=True)
@override_settings(DEBUG=True)
def test_scan_flags_on_two_connections_opens_the_same_flags_as_on_one():
    """--workers 2 scans two forces at once, each in a thread with its own connection (as two
    Celery processes would): the same flags, and one finished run per force."""
    from slaverycases.accounts.models import Force
    from slaverycases.flags.models import FlagRun

    call_command("seed_demo", stdout=StringIO())
    forces = set(Investigation.objects.values_list("force_id", flat=True))
    assert len(forces) >= 2

    def keys() -> set[tuple[str, int, int]]:
        return set(Flag.objects.values_list("kind", "investigation_id", "victim_key"))

    Flag.objects.all().delete()  # the demo's writes have scanned their own cases already
    FlagRun.objects.all().delete()
    out = StringIO()
    call_command("scan_flags", workers=2, stdout=out)
    report = json.loads(out.getvalue().strip().splitlines()[-1])
    on_two = keys()
    assert sum(report["opened"].values()) == len(on_two) > 0
    runs = FlagRun.objects.filter(finished_at__isnull=False, error="")
    assert set(runs.values_list("force_id", flat=True)) == set(
        Force.objects.values_list("pk", flat=True)
    )
    Flag.objects.all().delete()
    call_command("scan_flags", stdout=StringIO())
    assert keys() == on_two
