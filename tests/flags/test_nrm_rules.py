"""nrm_not_considered and nrm_decision_overdue: the case that raises each, the nearest that
does not, and the change that clears it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from referrals import actions as referral_actions
from referrals.models import Decision
from slaverycases.flags.models import FlagKind, Severity
from tests import factories
from tests.flags.test_rules import T0, active, add_victim, assert_cleared, scan_at, thresholds

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    from tests.flags.test_rules import frozen_clock

    yield from frozen_clock()


@pytest.fixture
def gmp(people):
    return people["officer.gmp"].force


@pytest.fixture
def case_with_victim(clock, officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=1)
    return inv, add_victim(inv, officer, estimated_age=30).victim  # identified T0 - 1h


def _refer(inv, victim, officer, submitted_on):
    return referral_actions.nrm_referral_submit(
        victim,
        investigation=inv,
        actor=officer,
        organisation="GMP",
        submitted_on=submitted_on,
        consent_given=True,
        consent_on=submitted_on,
        childrens_services_told_on=None,
    )


def test_nrm_not_considered_after_two_days_and_cleared_by_a_referral(
    clock, gmp, officer, case_with_victim
):
    inv, victim = case_with_victim
    scan_at(clock, gmp, T0 + timedelta(days=1, hours=22))  # identified under 2 days ago
    assert active(FlagKind.NRM_NOT_CONSIDERED, inv, victim) is None
    when = T0 + timedelta(days=2, hours=2)
    scan_at(clock, gmp, when)
    flag = active(FlagKind.NRM_NOT_CONSIDERED, inv, victim)
    assert flag is not None and flag.severity == Severity.HIGH
    assert flag.evidence["days"] == 2
    _refer(inv, victim, officer, timezone.localdate())
    cleared_at = when + timedelta(hours=1)
    scan_at(clock, gmp, cleared_at)
    assert_cleared(flag, inv, cleared_at)


def test_an_ms1_also_counts_as_considering_the_nrm(clock, gmp, officer, case_with_victim):
    inv, victim = case_with_victim
    referral_actions.duty_to_notify_submit(
        victim,
        investigation=inv,
        actor=officer,
        submitted_on=timezone.localdate(),
        gender="male",
        age_band="25-34",
        nationality="",
        exploitation_types=["labour"],
        where_exploited="Bolton",
        consent_to_be_identified=False,
    )
    scan_at(clock, gmp, T0 + timedelta(days=5))
    assert active(FlagKind.NRM_NOT_CONSIDERED, inv, victim) is None


def test_nrm_decision_overdue_after_the_threshold_and_cleared_by_a_decision(
    clock, gmp, officer, case_with_victim
):
    inv, victim = case_with_victim
    referral = _refer(inv, victim, officer, timezone.localdate())  # submitted 5 Jan 2026
    thresholds(gmp, nrm_decision_days=7)
    scan_at(clock, gmp, T0 + timedelta(days=7))  # 7 days: not yet overdue
    assert active(FlagKind.NRM_DECISION_OVERDUE, inv, victim) is None
    when = T0 + timedelta(days=8)
    scan_at(clock, gmp, when)
    flag = active(FlagKind.NRM_DECISION_OVERDUE, inv, victim)
    assert flag is not None and flag.evidence["submitted_at"] == "2026-01-05"
    referral_actions.nrm_decision_record(
        referral,
        actor=officer,
        expected_version=referral.version,
        stage="rg",
        decision=Decision.POSITIVE,
        decided_on=timezone.localdate(),
    )
    cleared_at = when + timedelta(hours=1)
    scan_at(clock, gmp, cleared_at)
    assert_cleared(flag, inv, cleared_at)
