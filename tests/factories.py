"""Test data built through the real actions, so every row is one the app could have written."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from investigations import actions
from investigations.models import CrimeDecision, Investigation, OffenceType

_counter = {"n": 0}


def investigation(
    officer: Any,
    *,
    stage: str = "reported",
    supervisor: Any = None,
    days_ago: float = 3,
    title: str | None = None,
    types: tuple[str, ...] = ("labour",),
    **kwargs: Any,
) -> Investigation:
    """An investigation taken to `stage` (reported, recorded, allocated, under_investigation,
    closure_requested, closed) by the officer and, where needed, the supervisor."""
    _counter["n"] += 1
    reported = timezone.now() - timedelta(days=days_ago)
    inv = actions.investigation_create(
        actor=officer,
        title=title or f"Test case {_counter['n']}",
        summary="Workers found living on site.",
        source="public",
        exploitation_types=list(types),
        reported_at=reported,
        location="Manchester",
        **kwargs,
    )
    if stage == "reported":
        return inv
    inv = actions.investigation_record_crime_decision(
        inv,
        actor=officer,
        expected_version=inv.version,
        decision=CrimeDecision.RECORDED,
        decided_at=reported + timedelta(hours=2),
        crime_reference=f"CR/{_counter['n']:05d}",
        offence_type=OffenceType.MSA_S1,
    )
    if stage == "recorded":
        return inv
    inv = actions.investigation_allocate(
        inv, actor=supervisor, expected_version=inv.version, oic=officer, supervisor=supervisor
    )
    if stage == "allocated":
        return inv
    enquiry = actions.enquiry_add(
        inv, actor=officer, description="Take the victim's account", substantive=True, owner=officer
    )
    actions.enquiry_complete(
        enquiry, actor=officer, completed_at=reported + timedelta(days=1), result="Account taken"
    )
    inv.refresh_from_db()
    if stage == "under_investigation":
        return inv
    actions.closure_request(
        inv,
        actor=officer,
        expected_version=inv.version,
        proposed_outcome="charged",
        proposed_nfa_reason="",
        rationale="Suspect charged.",
    )
    inv.refresh_from_db()
    if stage == "closure_requested":
        return inv
    actions.closure_approve(
        inv, actor=supervisor, expected_version=inv.version, rationale="Agreed."
    )
    inv.refresh_from_db()
    return inv
