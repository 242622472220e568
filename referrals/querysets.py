"""Reads for referrals: the force's referral list and the NRM-to-crime reconciliation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from referrals.models import RECOVERY_PERIOD_DAYS, Decision, NrmReferral

if TYPE_CHECKING:
    from slaverycases.accounts.models import User


def referrals_for_user(user: User, *, status: str = "") -> QuerySet[NrmReferral]:
    """NRM referrals on the user's force's cases that they may see; orphans (no linked crime
    and no non-crime reason) first."""
    from investigations.models import Investigation

    visible = Investigation.objects.visible_to(user).filter(force_id=user.force_id)
    qs = NrmReferral.objects.filter(investigation__in=visible.values("pk"))
    today = timezone.localdate()
    if status == "awaiting_rg":
        qs = qs.filter(rg_decision=Decision.PENDING)
    elif status == "in_recovery":
        qs = qs.filter(
            rg_decision=Decision.POSITIVE,
            cg_decision=Decision.PENDING,
            rg_decision_on__gte=today - timezone.timedelta(days=RECOVERY_PERIOD_DAYS),
        )
    elif status == "no_linked_crime":
        qs = qs.filter(linked_offence__isnull=True)
    return (
        qs.annotate(
            orphan=Case(
                When(Q(linked_offence__isnull=True) & Q(non_crime_reason=""), then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .select_related("victim", "investigation", "linked_offence")
        .order_by("orphan", "submitted_on", "id")
    )


def referral_summary(victim: Any) -> str:
    """NRM status in words, for the PDF and the case page (uses prefetched rows if there)."""
    referrals = sorted(victim.nrm_referrals.all(), key=lambda r: r.submitted_on, reverse=True)
    if not referrals:
        if list(victim.duty_to_notify.all()):
            return "Declined the NRM; Duty to Notify (MS1) submitted"
        return "No NRM referral or MS1 recorded"
    referral = referrals[0]
    text = f"Referred {referral.submitted_on:%-d %b %Y}; RG {referral.get_rg_decision_display()}"
    if referral.recovery_period_ends:
        text += f"; recovery period ends {referral.recovery_period_ends:%-d %b %Y}"
    if referral.cg_decision != Decision.PENDING:
        text += f"; CG {referral.get_cg_decision_display()}"
    return text
