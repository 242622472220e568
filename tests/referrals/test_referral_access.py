"""Referral access follows the referral's own case: one victim in two forces' cases.

Victim V is in GMP's case A and in WYP's case B; WYP referred V to the NRM (referral R, linked
to B's crime) and to an agency from B. GMP's officer works A only: they see V's NRM status, but
not B's crime, nor B's agency referrals, nor the crimes of B offered on R's link form, and they
cannot record decisions on R or link it, even once B is shared with them read-only. WYP's
officer, who works B, still can. And the reasonable grounds decision cannot change once the
conclusive grounds decision is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from investigations import actions as case_actions
from investigations.models import Investigation, Offence
from referrals import actions
from referrals.models import Agency, AgencyReferral, Decision, NrmReferral
from slaverycases.accounts import roles
from slaverycases.accounts.actions import unit_ensure
from slaverycases.core.errors import DomainError, NotPermitted
from tests import factories
from tests.pdf.test_summary_pdf import flat, pdftotext, print_url
from tests.victims.test_actions import make_user
from victims import actions as victim_actions
from victims.models import Victim

pytestmark = pytest.mark.django_db

A_CRIME = "GMP/A/000001"
B_CRIME = "WYP/B/000001"
B_OTHER_CRIME = "WYP/B/000002"  # a second modern slavery crime on B, for the link form
B_AGENCY_REASON = "Referred for a housing assessment in Leeds"
B_AGENCY_RESPONSE = "Accepted by the Leeds housing team"
NOT_SHARED = "on an investigation not shared with you"


@dataclass
class TwoForces:
    victim: Victim
    a: Investigation
    b: Investigation
    b_offence: Offence
    referral: NrmReferral


@pytest.fixture
def two_forces(people) -> TwoForces:
    gmp, wyp = people["officer.gmp"], people["officer.wyp"]
    identified = timezone.now() - timedelta(days=50)  # before the referral (45 days ago)
    a = factories.investigation(
        gmp, stage="allocated", supervisor=people["supervisor.gmp"], days_ago=60
    )
    victim = victim_actions.victims_add_to_investigation(
        a,
        actor=gmp,
        people=[{"name": "Vera Two-Forces", "estimated_age": 30, "crime_reference": A_CRIME}],
        identified_at=identified,
        offence_type="msa_s1",
    )[0].victim
    b = factories.investigation(
        wyp, stage="allocated", supervisor=people["supervisor.wyp"], days_ago=60
    )
    victim_actions.victims_add_to_investigation(
        b,
        actor=wyp,
        people=[{"name": victim.name, "existing_victim": victim, "crime_reference": B_CRIME}],
        identified_at=identified,
        offence_type="msa_s2",
    )
    b_offence = Offence.objects.get(crime_reference=B_CRIME)
    Offence.objects.create(
        investigation=b,
        crime_reference=B_OTHER_CRIME,
        offence_type="msa_s1",
        recorded_at=timezone.now(),
        recorded_by=wyp,
        victim=victim,
    )
    submitted = timezone.localdate() - timedelta(days=45)
    referral = actions.nrm_referral_submit(
        victim,
        investigation=b,
        actor=wyp,
        organisation="West Yorkshire Police",
        submitted_on=submitted,
        consent_given=True,
        consent_on=submitted,
        childrens_services_told_on=None,
        linked_offence=b_offence,
    )
    actions.agency_referral_record(
        victim,
        investigation=b,
        actor=wyp,
        agency=Agency.VICTIM_CARE,
        organisation="Leeds City Council",
        referred_on=submitted,
        reason=B_AGENCY_REASON,
        response=B_AGENCY_RESPONSE,
    )
    return TwoForces(victim, a, b, b_offence, referral)


def _share_b_with_gmp(people, world: TwoForces) -> None:
    case_actions.investigation_share(
        world.b,
        actor=people["supervisor.wyp"],
        reason="Victim now lives in Manchester",
        force=people["officer.gmp"].force,
    )


def _decision_post(world: TwoForces, *, stage: str = "rg", decided_on=None) -> dict[str, str]:
    day = decided_on or timezone.localdate()
    return {
        "version": str(NrmReferral.objects.get(pk=world.referral.pk).version),
        "stage": stage,
        "decision": Decision.POSITIVE,
        "decided_on_day": str(day.day),
        "decided_on_month": str(day.month),
        "decided_on_year": str(day.year),
    }


def _link_post(world: TwoForces, offence: Offence) -> dict[str, str]:
    return {
        "version": str(NrmReferral.objects.get(pk=world.referral.pk).version),
        "linked_offence": str(offence.pk),
        "non_crime_reason": "",
    }


def _snapshot(world: TwoForces) -> tuple:
    r = NrmReferral.objects.get(pk=world.referral.pk)
    return (r.version, r.rg_decision, r.rg_decision_on, r.cg_decision, r.linked_offence_id)


def _decision_url(world: TwoForces) -> str:
    return f"/referrals/nrm/{world.referral.pk}/decision/"


def _link_url(world: TwoForces) -> str:
    return f"/referrals/nrm/{world.referral.pk}/link/"


# --- (a) the victim page ---------------------------------------------------------------------


def test_the_victim_page_shows_another_forces_referral_as_status_only(client, people, two_forces):
    world = two_forces
    client.force_login(people["officer.gmp"])
    response = client.get(f"/victims/{world.victim.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    for secret in (B_CRIME, B_AGENCY_REASON, B_AGENCY_RESPONSE, world.b.reference):
        assert secret not in html
    assert _decision_url(world) not in html and _link_url(world) not in html
    # the victim's NRM status (one referral per person) is still there, with no detail
    assert f"NRM referral submitted {world.referral.submitted_on:%-d %b %Y} {NOT_SHARED}" in html
    assert "No NRM referral or Duty to Notify recorded" not in html
    # GMP works A: it may make its own referrals from there
    assert f"/referrals/victims/{world.victim.pk}/nrm/new/" in html


def test_the_victim_page_shows_the_referral_in_full_to_its_cases_team(client, people, two_forces):
    world = two_forces
    client.force_login(people["officer.wyp"])
    html = client.get(f"/victims/{world.victim.pk}/").content.decode()
    for detail in (B_CRIME, B_AGENCY_REASON, B_AGENCY_RESPONSE):
        assert detail in html
    assert _decision_url(world) in html and _link_url(world) in html
    assert (
        f"NRM referral submitted {world.referral.submitted_on:%-d %b %Y} {NOT_SHARED}" not in html
    )


def test_a_read_only_share_shows_the_referral_but_no_way_to_change_it(client, people, two_forces):
    world = two_forces
    _share_b_with_gmp(people, world)
    client.force_login(people["officer.gmp"])
    html = client.get(f"/victims/{world.victim.pk}/").content.decode()
    assert B_CRIME in html and B_AGENCY_REASON in html  # B is visible to GMP now
    assert _decision_url(world) not in html and _link_url(world) not in html


def test_the_victim_page_runs_the_same_queries_with_more_referrals(
    client, people, two_forces, django_assert_num_queries
):
    world = two_forces
    gmp = people["officer.gmp"]
    client.force_login(gmp)
    url = f"/victims/{world.victim.pk}/"
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    before = len(captured.captured_queries)
    today = timezone.localdate()
    for i in range(3):
        actions.nrm_referral_submit(
            world.victim,
            investigation=world.a if i % 2 else world.b,
            actor=gmp if i % 2 else people["officer.wyp"],
            organisation="Police",
            submitted_on=today,
            consent_given=True,
            consent_on=today,
            childrens_services_told_on=None,
        )
        actions.agency_referral_record(
            world.victim,
            investigation=world.a if i % 2 else world.b,
            actor=gmp if i % 2 else people["officer.wyp"],
            agency=Agency.NGO,
            organisation="",
            referred_on=today,
            reason=f"Reason {i}",
        )
    client.get(url)
    with django_assert_num_queries(before):
        response = client.get(url)
    assert response.status_code == 200


@pytest.mark.parametrize("variant", ["full", "redacted"])
def test_the_case_summary_shows_another_forces_referral_as_status_only(
    client, people, two_forces, variant
):
    """The PDF decides as the victim page does (referrals_seen): GMP prints A, whose victim WYP
    referred from B; the PDF gives the NRM status, never WYP's responder or the consent."""
    world = two_forces
    client.force_login(people["officer.gmp"])
    response = client.post(
        print_url(world.a),
        {"variant": variant, "recipient": "CPS North West", "justification": "Charging file"},
    )
    assert response.status_code == 200
    text = flat(pdftotext(response.content))
    submitted = f"{world.referral.submitted_on:%-d %b %Y}"
    assert f"NRM referral submitted {submitted} on another investigation" in text
    assert "reasonable grounds: awaiting decision; conclusive grounds: awaiting decision" in text
    for secret in ("by West Yorkshire Police", "with consent", B_CRIME, world.b.reference):
        assert secret not in text


def test_the_case_summary_shows_the_referral_in_full_to_its_cases_team(client, people, two_forces):
    world = two_forces
    client.force_login(people["officer.wyp"])
    response = client.post(
        print_url(world.b),
        {"variant": "full", "recipient": "CPS Yorkshire", "justification": "Charging file"},
    )
    text = flat(pdftotext(response.content))
    submitted = f"{world.referral.submitted_on:%-d %b %Y}"
    assert f"NRM referral submitted {submitted} by West Yorkshire Police with consent" in text
    assert "on another investigation" not in text


# --- (b) and (c): the decision and link pages --------------------------------------------------


@pytest.mark.parametrize("url", [_link_url, _decision_url])
def test_an_officer_of_another_case_of_the_victim_gets_404(client, people, two_forces, url):
    world = two_forces
    before = _snapshot(world)
    client.force_login(people["officer.gmp"])
    response = client.get(url(world))
    assert response.status_code == 404
    assert B_CRIME not in response.content.decode()
    assert B_OTHER_CRIME not in response.content.decode()
    assert client.post(_decision_url(world), _decision_post(world)).status_code == 404
    other = Offence.objects.get(crime_reference=B_OTHER_CRIME)
    assert client.post(_link_url(world), _link_post(world, other)).status_code == 404
    assert _snapshot(world) == before


@pytest.mark.parametrize("url", [_link_url, _decision_url])
def test_a_read_only_share_gets_403_on_the_decision_and_link_pages(client, people, two_forces, url):
    world = two_forces
    _share_b_with_gmp(people, world)
    before = _snapshot(world)
    client.force_login(people["officer.gmp"])
    response = client.get(url(world))
    assert response.status_code == 403
    assert B_OTHER_CRIME not in response.content.decode()
    assert client.post(_decision_url(world), _decision_post(world)).status_code == 403
    other = Offence.objects.get(crime_reference=B_OTHER_CRIME)
    assert client.post(_link_url(world), _link_post(world, other)).status_code == 403
    assert _snapshot(world) == before


def test_the_actions_refuse_anyone_outside_the_referrals_case_team(people, two_forces):
    world = two_forces
    gmp = people["officer.gmp"]
    _share_b_with_gmp(people, world)
    before = _snapshot(world)
    with pytest.raises(NotPermitted):
        actions.nrm_decision_record(
            world.referral,
            actor=gmp,
            expected_version=world.referral.version,
            stage="rg",
            decision=Decision.POSITIVE,
            decided_on=timezone.localdate(),
        )
    with pytest.raises(NotPermitted):
        actions.nrm_referral_link_crime(
            world.referral,
            actor=gmp,
            expected_version=world.referral.version,
            offence=None,
            non_crime_reason="n200_1",
        )
    # reading B through the share does not let GMP make referrals from it either
    today = timezone.localdate()
    with pytest.raises(NotPermitted):
        actions.nrm_referral_submit(
            world.victim,
            investigation=world.b,
            actor=gmp,
            organisation="GMP",
            submitted_on=today,
            consent_given=True,
            consent_on=today,
            childrens_services_told_on=None,
        )
    with pytest.raises(NotPermitted):
        actions.agency_referral_record(
            world.victim,
            investigation=world.b,
            actor=gmp,
            agency=Agency.NGO,
            organisation="",
            referred_on=today,
            reason="Not GMP's to make",
        )
    assert _snapshot(world) == before
    assert NrmReferral.objects.filter(victim=world.victim).count() == 1
    assert AgencyReferral.objects.filter(victim=world.victim).count() == 1


def test_the_referrals_case_team_can_still_link_and_decide(client, people, two_forces):
    world = two_forces
    client.force_login(people["officer.wyp"])
    form = client.get(_link_url(world))
    assert form.status_code == 200
    html = form.content.decode()
    assert B_CRIME in html and B_OTHER_CRIME in html
    assert A_CRIME not in html  # the victim's crime on GMP's case is not B's to link

    other = Offence.objects.get(crime_reference=B_OTHER_CRIME)
    response = client.post(_link_url(world), _link_post(world, other))
    assert response.status_code == 302
    assert NrmReferral.objects.get(pk=world.referral.pk).linked_offence == other

    assert client.get(_decision_url(world)).status_code == 200
    response = client.post(_decision_url(world), _decision_post(world))
    assert response.status_code == 302
    referral = NrmReferral.objects.get(pk=world.referral.pk)
    assert (referral.rg_decision, referral.rg_decision_on) == (
        Decision.POSITIVE,
        timezone.localdate(),
    )


def test_the_referral_list_offers_reconcile_only_to_the_cases_team(
    client, people, django_assert_num_queries
):
    """A case of another GMP unit, shared with GMP's officer: its referral is listed, with no
    link to reconcile it. The list's queries do not grow with the referrals."""
    gmp = people["officer.gmp"]
    other_unit = unit_ensure(force=gmp.force, name="GMP Organised Crime Unit")
    other_officer = make_user("officer.gmp-oc", unit=other_unit, role=roles.OFFICER)
    other_supervisor = make_user("supervisor.gmp-oc", unit=other_unit, role=roles.SUPERVISOR)
    own = factories.investigation(
        gmp, stage="allocated", supervisor=people["supervisor.gmp"], days_ago=10
    )
    theirs = factories.investigation(
        other_officer, stage="allocated", supervisor=other_supervisor, days_ago=10
    )
    case_actions.investigation_share(
        theirs, actor=other_supervisor, reason="Joint operation", user=gmp
    )
    today = timezone.localdate()

    def orphan(inv: Investigation, actor, n: int) -> NrmReferral:
        victim = victim_actions.victims_add_to_investigation(
            inv,
            actor=actor,
            people=[{"name": f"Person {n}", "estimated_age": 25, "crime_reference": f"L/{n}"}],
            identified_at=timezone.now() - timedelta(days=2),
            offence_type="msa_s1",
        )[0].victim
        return actions.nrm_referral_submit(
            victim,
            investigation=inv,
            actor=actor,
            organisation="GMP",
            submitted_on=today,
            consent_given=True,
            consent_on=today,
            childrens_services_told_on=None,
        )

    mine = orphan(own, gmp, 1)
    shared = orphan(theirs, other_officer, 2)
    client.force_login(gmp)
    client.get("/referrals/")
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/referrals/")
    small = len(captured.captured_queries)
    html = response.content.decode()
    assert f"/referrals/nrm/{mine.pk}/link/" in html
    assert f"/victims/{shared.victim_id}/" in html  # listed: GMP may see the case
    assert f"/referrals/nrm/{shared.pk}/link/" not in html
    assert client.get(f"/referrals/nrm/{shared.pk}/link/").status_code == 403

    for n in range(3, 8):
        orphan(own if n % 2 else theirs, gmp if n % 2 else other_officer, n)
    with django_assert_num_queries(small):
        response = client.get("/referrals/")
    assert response.status_code == 200


# --- the reasonable grounds decision after the conclusive grounds decision --------------------


def _decided_to_cg(world: TwoForces, wyp) -> NrmReferral:
    today = timezone.localdate()
    referral = actions.nrm_decision_record(
        world.referral,
        actor=wyp,
        expected_version=world.referral.version,
        stage="rg",
        decision=Decision.POSITIVE,
        decided_on=today - timedelta(days=40),
    )
    return actions.nrm_decision_record(
        referral,
        actor=wyp,
        expected_version=referral.version,
        stage="cg",
        decision=Decision.POSITIVE,
        decided_on=today,
    )


@pytest.mark.parametrize("decision", [Decision.POSITIVE, Decision.NEGATIVE])
def test_the_rg_decision_cannot_change_once_the_cg_decision_is_recorded(
    people, two_forces, decision
):
    world = two_forces
    wyp = people["officer.wyp"]
    referral = _decided_to_cg(world, wyp)
    before = _snapshot(world)
    with pytest.raises(DomainError, match="conclusive grounds decision is recorded"):
        actions.nrm_decision_record(
            referral,
            actor=wyp,
            expected_version=referral.version,
            stage="rg",
            decision=decision,
            decided_on=timezone.localdate(),
        )
    assert _snapshot(world) == before
    assert before[1] == Decision.POSITIVE and before[3] == Decision.POSITIVE


def test_the_decision_form_explains_why_the_rg_decision_cannot_change(client, people, two_forces):
    world = two_forces
    _decided_to_cg(world, people["officer.wyp"])
    before = _snapshot(world)
    client.force_login(people["officer.wyp"])
    response = client.post(_decision_url(world), _decision_post(world, stage="rg"))
    assert response.status_code == 400
    assert "the reasonable grounds decision it followed can no longer be changed" in (
        response.content.decode()
    )
    assert _snapshot(world) == before


def test_the_rg_decision_can_still_be_corrected_before_the_cg_decision(people, two_forces):
    world = two_forces
    wyp = people["officer.wyp"]
    today = timezone.localdate()
    referral = actions.nrm_decision_record(
        world.referral,
        actor=wyp,
        expected_version=world.referral.version,
        stage="rg",
        decision=Decision.NEGATIVE,
        decided_on=today - timedelta(days=2),
    )
    referral = actions.nrm_decision_record(
        referral,
        actor=wyp,
        expected_version=referral.version,
        stage="rg",
        decision=Decision.POSITIVE,
        decided_on=today - timedelta(days=1),
    )
    assert referral.rg_decision == Decision.POSITIVE
