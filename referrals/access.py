"""Who may see and change referrals.

A referral (NRM, MS1, agency) belongs to one investigation, its `investigation`: that case
decides, through investigations/access.py, never "the user works some case of the victim".
A victim in two forces' cases has referrals on each; the team of one case neither reads the
other case's referral details nor changes its referrals unless that case is theirs.

- Seeing a referral: its case is visible to the user (`case_access.may_view`); else 404.
- Making a referral from a case, or changing a referral: the role allows it and the user works
  that case (`case_access.may_act`); a visible case the user only reads is a 403.
- Wherever a victim is shown (their page, a case summary PDF), `referrals_seen` decides: the
  referrals of visible cases in full, of other cases only the victim's NRM status (an NRM
  referral is per person, and the nrm_not_considered flag counts it whichever case made it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.http import Http404

from investigations import access as case_access
from referrals.models import DutyToNotify, NrmReferral

if TYPE_CHECKING:
    from investigations.models import Investigation
    from slaverycases.accounts.models import User
    from victims.models import Victim

# The case-level step a referral write is: changing the case's record.
CASE_PERMISSION = "change_investigation"


def may_refer(user: User, investigation: Investigation) -> bool:
    """Make an NRM referral, an MS1 or an agency referral from this case."""
    return user.has_perm("referrals.add_nrmreferral") and case_access.may_act(
        user, investigation, CASE_PERMISSION
    )


def may_change_referral(user: User, referral: NrmReferral) -> bool:
    """Record a decision on the referral or link it to a crime: only the team of the referral's
    own case (`referral.investigation`, read with the referral: no query)."""
    return user.has_perm("referrals.change_nrmreferral") and case_access.may_act(
        user, referral.investigation, CASE_PERMISSION
    )


def cases_to_refer_from(user: User, victim: Victim) -> list[Investigation]:
    """The victim's cases the user may make referrals from (one query)."""
    return [
        case
        for case in case_access.investigations_for_user(user)
        .filter(involvements__victim=victim)
        .distinct()
        if may_refer(user, case)
    ]


def get_nrm_referral_for_user(user: User, pk: int) -> NrmReferral:
    """The referral, or a 404 when there is none or its own case is not visible to the user
    (whichever other case of the victim they may see)."""
    referral = (
        NrmReferral.objects.select_related("victim", "investigation", "linked_offence")
        .filter(pk=pk)
        .first()
    )
    if referral is None or not case_access.may_view(user, referral.investigation):
        raise Http404("No such referral, or its investigation is not shared with you")
    return referral


def get_nrm_referral_to_change(user: User, pk: int) -> NrmReferral:
    """The referral for a write: 404 as `get_nrm_referral_for_user`, then 403 when the user
    only reads its case."""
    referral = get_nrm_referral_for_user(user, pk)
    if not may_change_referral(user, referral):
        raise PermissionDenied(
            "Only the team working this referral's investigation can change the referral."
        )
    return referral


@dataclass(frozen=True)
class NrmStatus:
    """All that is shown of an NRM referral made on a case the user does not see: when it was
    submitted and the two decisions (never its responder, consent, crime or notes)."""

    submitted_on: date
    rg_decision: str
    cg_decision: str


@dataclass
class VictimReferrals:
    """One victim's referrals as one user may see them."""

    nrm: list[NrmReferral] = field(default_factory=list)
    nrm_elsewhere: list[NrmStatus] = field(default_factory=list)
    ms1: list[DutyToNotify] = field(default_factory=list)
    ms1_elsewhere: list[date] = field(default_factory=list)  # submitted on, nothing more


def visible_case_ids(user: User, victim_ids: list[int]) -> set[int]:
    """The victims' cases the user may see (one query)."""
    return set(
        case_access.investigations_for_user(user)
        .filter(involvements__victim_id__in=victim_ids)
        .values_list("pk", flat=True)
    )


def referrals_seen(victim_ids: list[int], visible: set[int]) -> dict[int, VictimReferrals]:
    """victim id -> the victim's NRM referrals and MS1s, in full when made on a case in
    `visible` (the user's: `visible_case_ids`), else as their status only. Two queries,
    whatever the number of victims and referrals; every victim id has an entry."""
    seen = {pk: VictimReferrals() for pk in victim_ids}
    nrm = (
        NrmReferral.objects.filter(victim_id__in=victim_ids)
        .select_related("linked_offence", "investigation")
        .order_by("submitted_on", "id")
    )
    for referral in nrm:
        entry = seen[referral.victim_id]
        if referral.investigation_id in visible:
            entry.nrm.append(referral)
        else:
            entry.nrm_elsewhere.append(
                NrmStatus(
                    submitted_on=referral.submitted_on,
                    rg_decision=referral.get_rg_decision_display(),
                    cg_decision=referral.get_cg_decision_display(),
                )
            )
    ms1s = DutyToNotify.objects.filter(victim_id__in=victim_ids).order_by("submitted_on", "id")
    for ms1 in ms1s:
        entry = seen[ms1.victim_id]
        if ms1.investigation_id in visible:
            entry.ms1.append(ms1)
        else:
            entry.ms1_elsewhere.append(ms1.submitted_on)
    return seen
