"""MoPI retention (issue 8, item 6): a review date per closed investigation, the daily task
that tells each force what is due, and the review (retain with a reason, or dispose) that is
audited and erases nothing silently."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.apps import apps
from django.core import mail
from django.db import connection
from django.db.models import ForeignKey
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from investigations import actions, retention
from investigations.models import (
    Investigation,
    Offence,
    RetentionDecision,
    RetentionGroup,
    RetentionReview,
    Status,
    TimelineEvent,
)
from investigations.tasks import retention_reviews_due
from referrals import actions as referral_actions
from safeguarding import actions as safeguarding_actions
from slaverycases.audit.models import AuditAction, AuditEvent
from slaverycases.core.errors import DomainError, NotPermitted, StaleEdit, TransitionNotAllowed
from slaverycases.flags.actions import scan
from slaverycases.flags.models import Flag
from tests import factories
from tests.investigations.test_views import date_post
from victims import actions as victim_actions
from victims.models import Involvement, Victim

TEN_YEARS_ON = timedelta(days=3653 + 2)


def closed_case(officer, supervisor, **kw) -> Investigation:
    return factories.investigation(officer, stage="closed", supervisor=supervisor, **kw)


def add_victim(inv: Investigation, officer, name: str = "Ana Pop") -> Involvement:
    return victim_actions.victims_add_to_investigation(
        inv,
        actor=officer,
        people=[{"name": name, "estimated_age": 30, "crime_reference": f"PM/{name[:3]}"}],
        identified_at=timezone.now() - timedelta(days=2),
        offence_type="msa_s1",
    )[0]


def later(days: timedelta = TEN_YEARS_ON):
    return time_machine.travel(timezone.now() + days, tick=False)


def post_review(client: Client, inv: Investigation, **data):
    inv.refresh_from_db()
    payload = {"version": str(inv.version), "reason": "Reviewed.", **data}
    return client.post(f"/retention/{inv.reference}/", payload)


# --- the review date ----------------------------------------------------------------------------


def test_closing_sets_the_review_date_by_mopi_group_and_reopening_clears_it(officer, supervisor):
    inv = closed_case(officer, supervisor)
    closed_on = timezone.localdate(inv.closed_at)
    assert retention.retention_group(inv) == RetentionGroup.PUBLIC_PROTECTION
    assert inv.review_due_on == retention.add_years(closed_on, 10)

    inv = actions.investigation_reopen(
        inv, actor=supervisor, expected_version=inv.version, reason="New witness."
    )
    assert inv.review_due_on is None
    assert Investigation.objects.get(pk=inv.pk).review_due_on is None


def test_the_group_follows_the_offences_recorded(officer, supervisor):
    inv = factories.investigation(officer, stage="under_investigation", supervisor=supervisor)
    Offence.objects.filter(investigation=inv).update(offence_type="fraud")
    assert retention.retention_group(inv) == RetentionGroup.SERIOUS
    Offence.objects.filter(investigation=inv).update(offence_type="rape")
    assert retention.retention_group(inv) == RetentionGroup.PUBLIC_PROTECTION
    Offence.objects.filter(investigation=inv).delete()
    assert retention.retention_group(inv) == RetentionGroup.OTHER
    assert retention.first_review_on(inv, date(2020, 2, 29)) == date(2026, 2, 28)


# --- the list and the daily task -----------------------------------------------------------------


def test_list_shows_the_forces_due_records_in_fixed_queries(
    officer, supervisor, other_force_officer, people, force_admin
):
    due = [closed_case(officer, supervisor) for _ in range(3)]
    wyp = factories.investigation(
        other_force_officer, stage="closed", supervisor=people["supervisor.wyp"]
    )
    client = Client()
    with later():
        client.force_login(force_admin)  # sessions end after 10 hours: sign in in the future
        with CaptureQueriesContext(connection) as few:
            page = client.get("/retention/")
        assert page.status_code == 200
        text = page.content.decode()
        assert "3 records due for review" in text
        assert all(inv.reference in text for inv in due)
        assert wyp.reference not in text
    more = [closed_case(officer, supervisor) for _ in range(12)]
    with later():
        client.force_login(force_admin)
        with CaptureQueriesContext(connection) as many:
            page = client.get("/retention/")
        assert "15 records due for review" in page.content.decode()
        assert more[0].reference in page.content.decode()
    assert len(many) == len(few)
    # The list is a consultation of the records it shows.
    row = AuditEvent.objects.filter(action=AuditAction.CONSULTATION).latest("pk")
    assert row.actor == force_admin and row.detail["page"] == "retention"
    assert set(row.detail["shown"]) == {inv.reference for inv in due + more}
    # Not yet due today: nothing listed.
    client.force_login(force_admin)
    assert "0 records due for review" in client.get("/retention/").content.decode()


def test_daily_task_tells_each_forces_administrators_once(officer, supervisor, force_admin, people):
    closed_case(officer, supervisor)
    closed_case(officer, supervisor)
    assert retention_reviews_due.apply().get() == {}  # nothing due yet
    with later():
        assert retention_reviews_due.apply().get() == {"GMP": 2}
        assert len(mail.outbox) == 1
        message = mail.outbox[0]
        assert force_admin.email in message.to
        assert "2 records due for MoPI review" in message.subject
        assert "Domestic" not in message.body  # numbers only, no case details
        assert retention_reviews_due.apply().get() == {}  # a second run sends nothing
        assert len(mail.outbox) == 1


def test_an_open_case_has_no_retention_page(officer, supervisor, force_admin):
    """A force administrator sees figures, never an open case: its retention page is a 404 that
    shows nothing of it (references are sequential and could be walked)."""
    inv = factories.investigation(officer, stage="under_investigation", supervisor=supervisor)
    client = Client()
    client.force_login(force_admin)
    response = client.get(f"/retention/{inv.reference}/")
    assert response.status_code == 404
    assert inv.title not in response.content.decode()


# --- retain --------------------------------------------------------------------------------------


def test_retain_records_the_reason_and_next_review_audited(officer, supervisor, force_admin):
    inv = closed_case(officer, supervisor)
    client = Client()
    client.force_login(force_admin)
    with later():
        client.force_login(force_admin)
        today = timezone.localdate()
        page = client.get(f"/retention/{inv.reference}/")
        assert page.status_code == 200
        assert "Group 1: certain public protection matters" in page.content.decode()
        response = post_review(
            client,
            inv,
            decision="retain",
            reason="Principal suspect still active in the region.",
            **date_post("next_review_on", today + timedelta(days=365 * 3), with_time=False),
        )
        assert response.status_code == 302, response.content.decode()
        inv.refresh_from_db()
        assert inv.review_due_on == today + timedelta(days=365 * 3)
        review = RetentionReview.objects.get(reference=inv.reference)
        assert review.decision == RetentionDecision.RETAIN
        assert review.investigation_id == inv.pk
        assert review.reviewed_by == force_admin
        assert TimelineEvent.objects.filter(
            investigation=inv, kind="retention", text__contains="Principal suspect"
        ).exists()
        event = AuditEvent.objects.filter(
            action=AuditAction.ALTERATION, investigation_reference=inv.reference
        ).latest("id")
        assert event.actor == force_admin
        assert event.detail["decision"] == "retain"
        assert "0 records due for review" in client.get("/retention/").content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"decision": "retain", "reason": ""}, "Enter reason for the decision"),
        ({"decision": "retain"}, "Enter the date of the next review"),
        ({}, "Select decision"),
        (
            {
                "decision": "retain",
                **date_post("next_review_on", date(2099, 1, 1), with_time=False),
            },
            "no later than",
        ),
        ({"decision": "dispose", "confirm_reference": "GMP-1999-000001"}, "to confirm that"),
    ],
)
def test_bad_reviews_are_refused_with_a_message_and_change_nothing(
    officer, supervisor, force_admin, data, message
):
    inv = closed_case(officer, supervisor)
    client = Client()
    client.force_login(force_admin)
    with later():
        client.force_login(force_admin)
        before = inv.review_due_on
        response = post_review(client, inv, **data)
        assert response.status_code == 400
        assert message.lower() in response.content.decode().lower()
        inv.refresh_from_db()
        assert inv.review_due_on == before
        assert not RetentionReview.objects.exists()


def test_only_due_closed_records_of_ones_own_force_are_reviewed(
    officer, supervisor, force_admin, other_force_officer, people
):
    open_case = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    closed = closed_case(officer, supervisor)
    review = {"decision": "retain", "reason": "Keep.", "next_review_on": date(2040, 1, 1)}
    with pytest.raises(TransitionNotAllowed):
        actions.retention_review(
            open_case, actor=force_admin, expected_version=open_case.version, **review
        )
    with pytest.raises(DomainError, match="not due for review until"):
        actions.retention_review(
            closed, actor=force_admin, expected_version=closed.version, **review
        )
    client = Client()
    client.force_login(force_admin)
    assert (
        "not due for review until" in client.get(f"/retention/{closed.reference}/").content.decode()
    )
    with later():
        with pytest.raises(NotPermitted):
            actions.retention_review(
                closed, actor=officer, expected_version=closed.version, **review
            )
        with pytest.raises(StaleEdit):
            actions.retention_review(
                closed, actor=force_admin, expected_version=closed.version - 1, **review
            )
        client.force_login(officer)
        assert post_review(client, closed, decision="dispose").status_code == 403
        wyp = factories.investigation(
            other_force_officer, stage="closed", supervisor=people["supervisor.wyp"]
        )
    client.force_login(force_admin)
    assert client.get(f"/retention/{wyp.reference}/").status_code == 404
    assert Investigation.objects.filter(pk=closed.pk).exists()


# --- dispose -------------------------------------------------------------------------------------


def full_case(officer, supervisor) -> tuple[Investigation, Involvement]:
    """A closed case with a record of every kind hanging off it and off its victim."""
    inv = factories.investigation(officer, stage="under_investigation", supervisor=supervisor)
    actions.suspect_add(inv, actor=officer, name="Suspect", role="principal")
    actions.supervisory_review_add(
        inv, actor=supervisor, direction="Speak to the victim.", next_review_due=None
    )
    involvement = add_victim(inv, officer)
    victim = involvement.victim
    victim_actions.disclosure_record(
        involvement,
        actor=officer,
        offence_type="assault",
        disclosed_at=timezone.now() - timedelta(days=1),
        account="Beaten",
    )
    victim_actions.custody_event_record(
        victim,
        investigation=inv,
        actor=officer,
        kind="arrested",
        offence="Cannabis cultivation",
        occurred_at=timezone.now() - timedelta(days=1),
        s45_decision="not_considered",
        s45_rationale="",
    )
    safeguarding_actions.contact_record(
        victim,
        actor=officer,
        at=timezone.now() - timedelta(hours=5),
        method="in_person",
        made=True,
        interpreter_used=False,
        notes="Seen at the refuge.",
        next_contact_due=timezone.localdate() + timedelta(days=7),
    )
    safeguarding_actions.missing_episode_open(
        victim,
        actor=officer,
        reported_missing_at=timezone.now() - timedelta(hours=3),
        risk_level="high",
        notes="",
    )
    referral_actions.nrm_referral_submit(
        victim,
        investigation=inv,
        actor=officer,
        organisation="Police",
        submitted_on=timezone.localdate() - timedelta(days=1),
        consent_given=True,
        consent_on=timezone.localdate() - timedelta(days=1),
        childrens_services_told_on=None,
    )
    scan(force=inv.force)
    assert Flag.objects.filter(investigation=inv).exists()
    inv.refresh_from_db()
    actions.closure_request(
        inv,
        actor=officer,
        expected_version=inv.version,
        proposed_outcome="charged",
        proposed_nfa_reason="",
        rationale="Charged.",
    )
    inv.refresh_from_db()
    inv = actions.closure_approve(
        inv, actor=supervisor, expected_version=inv.version, rationale="Agreed."
    )
    return inv, involvement


def rows_pointing_at(model_name: str, pks: list[int]) -> dict[str, int]:
    """Rows of every model of the site with a foreign key to `model_name` in `pks`: found by
    introspection, so a model added later is checked too."""
    found = {}
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if (
                isinstance(field, ForeignKey)
                and field.related_model._meta.label == model_name
                and model is not RetentionReview
            ):
                n = model.objects.filter(**{f"{field.name}__in": pks}).count()
                if n:
                    found[f"{model._meta.label}.{field.name}"] = n
    return found


def test_dispose_erases_the_case_and_its_own_victims_and_keeps_the_record_of_it(
    officer, supervisor, force_admin
):
    inv, involvement = full_case(officer, supervisor)
    victim = involvement.victim
    # A victim of another case: untouched by this case's disposal.
    other = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    shared = add_victim(other, officer, name="Elena Dumitru")
    audit_before = AuditEvent.objects.filter(investigation_reference=inv.reference).count()
    assert audit_before > 5
    assert rows_pointing_at("investigations.Investigation", [inv.pk])
    assert rows_pointing_at("victims.Victim", [victim.pk])

    client = Client()
    client.force_login(force_admin)
    with later():
        client.force_login(force_admin)
        response = post_review(
            client,
            inv,
            decision="dispose",
            reason="No policing purpose remains; suspect convicted and deported.",
            confirm_reference=inv.reference.lower(),
        )
    assert response.status_code == 302, response.content.decode()
    assert not Investigation.objects.filter(pk=inv.pk).exists()
    assert not Victim.objects.filter(pk=victim.pk).exists()
    assert rows_pointing_at("investigations.Investigation", [inv.pk]) == {}
    assert rows_pointing_at("victims.Victim", [victim.pk]) == {}
    # The other case and its victim are untouched.
    assert Investigation.objects.filter(pk=other.pk).exists()
    assert Victim.objects.filter(pk=shared.victim_id).exists()
    assert Involvement.objects.filter(pk=shared.pk).exists()

    review = RetentionReview.objects.get(reference=inv.reference)
    assert review.decision == RetentionDecision.DISPOSE
    assert review.investigation is None
    assert review.erased["investigations.Investigation"] == 1
    assert review.erased["victims.Victim"] == 1
    for label in (
        "victims.Disclosure",
        "victims.CustodyEvent",
        "referrals.NrmReferral",
        "safeguarding.MissingEpisode",
        "flags.Flag",
        "investigations.Enquiry",
        "investigations.Suspect",
        "investigations.TimelineEvent",
    ):
        assert review.erased.get(label, 0) >= 1, label
    erasure = AuditEvent.objects.get(
        action=AuditAction.ERASURE, investigation_reference=inv.reference
    )
    assert erasure.actor == force_admin
    assert erasure.justification.startswith("No policing purpose")
    assert erasure.detail["erased"] == review.erased
    # The audit trail of the case is kept (append-only).
    assert AuditEvent.objects.filter(investigation_reference=inv.reference).count() > audit_before
    # The decision stays on the list of recent decisions.
    client.force_login(force_admin)
    page = client.get("/retention/").content.decode()
    assert inv.reference in page and "Dispose" in page


def test_a_disposal_that_would_orphan_a_record_is_refused_whole(officer, supervisor, force_admin):
    """A record of another case that points at this case's offence stops the disposal: the
    transaction rolls back and nothing is erased."""
    inv, _ = full_case(officer, supervisor)
    other = factories.investigation(officer, stage="allocated", supervisor=supervisor)
    other_victim = add_victim(other, officer, name="Ion Radu").victim
    offence = Offence.objects.filter(investigation=inv).first()
    referral = referral_actions.nrm_referral_submit(
        other_victim,
        investigation=other,
        actor=officer,
        organisation="Police",
        submitted_on=timezone.localdate(),
        consent_given=True,
        consent_on=timezone.localdate(),
        childrens_services_told_on=None,
    )
    type(referral).objects.filter(pk=referral.pk).update(linked_offence=offence)
    counts = {m: m.objects.count() for m in (Investigation, Victim, Offence, TimelineEvent)}
    with later(), pytest.raises(DomainError, match="records of other cases refer to it"):
        actions.retention_review(
            inv,
            actor=force_admin,
            expected_version=inv.version,
            decision="dispose",
            reason="Not needed.",
        )
    assert {m: m.objects.count() for m in counts} == counts
    assert not RetentionReview.objects.exists()


def test_retention_pages_meet_their_status_on_a_disposed_reference(
    officer, supervisor, force_admin
):
    inv = closed_case(officer, supervisor)
    with later():
        actions.retention_review(
            inv,
            actor=force_admin,
            expected_version=inv.version,
            decision="dispose",
            reason="Not needed.",
        )
    client = Client()
    client.force_login(force_admin)
    assert client.get(f"/retention/{inv.reference}/").status_code == 404
    client.force_login(officer)
    assert client.get(f"/investigations/{inv.reference}/").status_code == 404


def test_open_cases_are_not_listed_and_closed_ones_carry_a_date(officer, supervisor):
    factories.investigation(officer, stage="allocated", supervisor=supervisor)
    closed = closed_case(officer, supervisor)
    assert Investigation.objects.filter(status=Status.CLOSED, review_due_on=None).count() == 0
    with later():
        due = list(retention.due_for_review(officer.force_id, timezone.localdate()))
    assert due == [closed]
