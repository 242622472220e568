from datetime import date, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from referrals import actions
from referrals.forms import AgencyReferralForm, NrmDecisionForm
from referrals.models import Decision, DutyToNotify, NrmReferral
from referrals.querysets import referrals_for_user
from slaverycases.audit.models import AuditAction, AuditEvent
from slaverycases.core.errors import DomainError, StaleEdit
from tests import factories
from victims import actions as victim_actions

pytestmark = pytest.mark.django_db


@pytest.fixture
def case_with_victims(officer, supervisor):
    inv = factories.investigation(officer, stage="allocated", supervisor=supervisor, days_ago=10)
    today = timezone.localdate()
    involvements = victim_actions.victims_add_to_investigation(
        inv,
        actor=officer,
        people=[
            {"name": "Ana Adult", "estimated_age": 30, "crime_reference": "R/1"},
            {
                "name": "Cal Child",
                "date_of_birth": date(today.year - 16, 3, 1),
                "crime_reference": "R/2",
            },
            {
                "name": "Pat Presumed",
                "estimated_age": 19,
                "may_be_under_18": True,
                "crime_reference": "R/3",
            },
        ],
        identified_at=timezone.now() - timedelta(days=3),
        offence_type="msa_s2",
    )
    return inv, [i.victim for i in involvements]


def _submit(victim, inv, officer, **overrides):
    today = timezone.localdate()
    args = {
        "investigation": inv,
        "actor": officer,
        "organisation": "Greater Manchester Police",
        "submitted_on": today,
        "consent_given": True,
        "consent_on": today,
        "childrens_services_told_on": today,
    }
    args.update(overrides)
    return actions.nrm_referral_submit(victim, **args)


def test_adult_referral_needs_consent(case_with_victims, officer):
    inv, (adult, _, _) = case_with_victims
    with pytest.raises(DomainError, match="An adult must consent"):
        _submit(adult, inv, officer, consent_given=False)
    assert not NrmReferral.objects.exists()
    referral = _submit(adult, inv, officer)
    assert referral.referred_as_child is False and referral.consent_given is True
    event = AuditEvent.objects.get(action=AuditAction.DISCLOSURE, object_id=str(referral.pk))
    assert event.recipient == "Single Competent Authority (NRM)"


def test_the_database_refuses_an_adult_referral_without_consent(case_with_victims, officer):
    inv, (adult, _, _) = case_with_victims
    with pytest.raises(IntegrityError), transaction.atomic():
        NrmReferral.objects.create(
            victim=adult,
            investigation=inv,
            first_responder_organisation="GMP",
            first_responder=officer,
            referred_as_child=False,
            consent_given=False,
            submitted_on=timezone.localdate(),
        )


@pytest.mark.parametrize("index", [1, 2])
def test_children_and_presumed_children_are_referred_without_consent(
    case_with_victims, officer, index
):
    inv, victims = case_with_victims
    child = victims[index]
    assert child.is_child
    referral = _submit(child, inv, officer, consent_given=False, consent_on=None)
    assert referral.referred_as_child is True
    assert referral.consent_given is None
    assert referral.childrens_services_told_on == timezone.localdate()
    with pytest.raises(DomainError, match="children's services"):
        _submit(child, inv, officer, childrens_services_told_on=None)


def test_recovery_period_and_decision_dates(case_with_victims, officer):
    inv, (adult, _, _) = case_with_victims
    today = timezone.localdate()
    referral = _submit(
        adult,
        inv,
        officer,
        submitted_on=today - timedelta(days=2),
        consent_on=today - timedelta(days=2),
    )
    with pytest.raises(DomainError, match="cannot be before the referral was submitted"):
        actions.nrm_decision_record(
            referral,
            actor=officer,
            expected_version=referral.version,
            stage="rg",
            decision=Decision.POSITIVE,
            decided_on=today - timedelta(days=5),
        )
    referral = actions.nrm_decision_record(
        referral,
        actor=officer,
        expected_version=referral.version,
        stage="rg",
        decision=Decision.POSITIVE,
        decided_on=today,
    )
    assert referral.recovery_period_ends == today + timedelta(days=30)
    assert referral.in_recovery_period
    with pytest.raises(StaleEdit):
        actions.nrm_decision_record(
            referral,
            actor=officer,
            expected_version=1,
            stage="cg",
            decision=Decision.POSITIVE,
            decided_on=today,
        )
    with pytest.raises(DomainError, match="no earlier than the end of the 30-day recovery"):
        actions.nrm_decision_record(
            referral,
            actor=officer,
            expected_version=referral.version,
            stage="cg",
            decision=Decision.POSITIVE,
            decided_on=today,
        )


def test_ms1_holds_no_identifier_without_consent(case_with_victims, officer):
    inv, (adult, child, _) = case_with_victims
    base = {
        "investigation": inv,
        "actor": officer,
        "submitted_on": timezone.localdate(),
        "gender": "female",
        "age_band": "25-34",
        "nationality": "Romanian",
        "exploitation_types": ["labour"],
        "where_exploited": "Oldham",
    }
    with pytest.raises(DomainError, match="must not hold their name"):
        actions.duty_to_notify_submit(
            adult, consent_to_be_identified=False, identified_name="Ana Adult", **base
        )
    with pytest.raises(DomainError, match="Children are referred to the NRM"):
        actions.duty_to_notify_submit(child, consent_to_be_identified=False, **base)
    ms1 = actions.duty_to_notify_submit(adult, consent_to_be_identified=False, **base)
    assert (ms1.identified_name, ms1.identified_date_of_birth, ms1.identified_address) == (
        "",
        None,
        "",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        DutyToNotify.objects.filter(pk=ms1.pk).update(identified_name="Ana Adult")


def test_no_ms1_for_an_adult_already_referred_with_consent(client, case_with_victims, officer):
    """An MS1 records an adult who declines the NRM: one already referred with their consent
    has not declined it. The victim page no longer offers it."""
    inv, (adult, _, _) = case_with_victims
    client.force_login(officer)
    assert (
        f"/referrals/victims/{adult.pk}/ms1/new/"
        in client.get(f"/victims/{adult.pk}/").content.decode()
    )
    referral = _submit(adult, inv, officer)
    with pytest.raises(DomainError, match=r"was referred to the NRM on .* with their consent"):
        actions.duty_to_notify_submit(
            adult,
            investigation=inv,
            actor=officer,
            submitted_on=timezone.localdate(),
            gender="female",
            age_band="25-34",
            nationality="Romanian",
            exploitation_types=["labour"],
            where_exploited="Oldham",
            consent_to_be_identified=False,
        )
    assert not DutyToNotify.objects.exists()
    assert referral.pk
    page = client.get(f"/victims/{adult.pk}/").content.decode()
    assert f"/referrals/victims/{adult.pk}/ms1/new/" not in page


def test_ms1_form_refuses_identifiers_without_consent(client, case_with_victims, officer):
    inv, (adult, _, _) = case_with_victims
    client.force_login(officer)
    today = timezone.localdate()
    response = client.post(
        f"/referrals/victims/{adult.pk}/ms1/new/",
        {
            "investigation": inv.pk,
            "submitted_on_day": today.day,
            "submitted_on_month": today.month,
            "submitted_on_year": today.year,
            "age_band": "25-34",
            "consent_to_be_identified": "no",
            "identified_address": "12 Acacia Avenue",
        },
    )
    assert response.status_code == 400
    assert "must not identify the person" in response.content.decode()
    assert not DutyToNotify.objects.exists()


def test_adult_referral_form_refuses_no_consent(client, case_with_victims, officer):
    inv, (adult, _, _) = case_with_victims
    client.force_login(officer)
    today = timezone.localdate()
    response = client.post(
        f"/referrals/victims/{adult.pk}/nrm/new/",
        {
            "investigation": inv.pk,
            "organisation": "GMP",
            "submitted_on_day": today.day,
            "submitted_on_month": today.month,
            "submitted_on_year": today.year,
            "consent_given": "no",
        },
    )
    assert response.status_code == 400
    assert "make a Duty to Notify (MS1) notification instead" in response.content.decode()
    assert not NrmReferral.objects.exists()


def test_immigration_enforcement_needs_a_justification_and_is_a_disclosure(
    case_with_victims, officer
):
    inv, (adult, _, _) = case_with_victims
    args = {
        "investigation": inv,
        "actor": officer,
        "agency": "immigration",
        "organisation": "IE North West",
        "referred_on": timezone.localdate(),
        "reason": "Status check",
    }
    with pytest.raises(DomainError, match="needs a justification"):
        actions.agency_referral_record(adult, **args)
    referral = actions.agency_referral_record(
        adult, justification="Victim asked for help regularising their status", **args
    )
    event = AuditEvent.objects.get(
        action=AuditAction.DISCLOSURE,
        object_id=str(referral.pk),
        object_type="referrals.agencyreferral",
    )
    assert event.recipient.startswith("Immigration Enforcement")
    assert event.justification.startswith("Victim asked")


def test_reconciliation_lists_referrals_with_neither_crime_nor_reason_first(
    case_with_victims, officer
):
    inv, (adult, child, presumed) = case_with_victims
    linked = _submit(adult, inv, officer, linked_offence=adult.offences.get())
    reasoned = _submit(presumed, inv, officer, non_crime_reason="n200_1")
    orphan = _submit(child, inv, officer)
    order = list(referrals_for_user(officer))
    assert order[0] == orphan
    assert set(order[1:]) == {linked, reasoned}
    assert list(referrals_for_user(officer, status="no_linked_crime")) == [orphan, reasoned]


def test_empty_decision_and_agency_forms_say_what_to_enter():
    """GOV.UK error messages name what is missing, not the field's short label."""
    decision = NrmDecisionForm({})
    assert not decision.is_valid()
    assert decision.errors["stage"] == ["Select which decision was made"]
    assert decision.errors["decision"] == ["Select whether the decision was positive or negative"]
    agency = AgencyReferralForm({}, cases=[])
    assert not agency.is_valid()
    assert agency.errors["agency"] == ["Select the agency referred to"]
    assert agency.errors["reason"] == ["Enter why the victim was referred"]
    assert agency.errors["referred_on"] == ["Enter the date of the referral"]


def test_a_referral_dated_before_the_victim_was_identified_is_refused(case_with_victims, officer):
    """Police refer a victim they have identified: a referral dated before the identification
    on the case it is made from (here 3 days ago) is a typing mistake, and raises a bogus NRM
    decision overdue flag if kept."""
    inv, (adult, _, _) = case_with_victims
    long_ago = timezone.localdate() - timedelta(days=30)
    with pytest.raises(DomainError, match="cannot be before Ana Adult was identified"):
        _submit(adult, inv, officer, submitted_on=long_ago, consent_on=long_ago)
    assert not NrmReferral.objects.exists()
