"""Who may see and change referrals.

A referral (NRM, MS1, agency) belongs to one investigation, its `investigation`: that case
decides, through investigations/access.py, never "the user works some case of the victim".
A victim in two forces' cases has referrals on each; the team of one case neither reads the
other case's referral details nor changes its referrals unless that case is theirs.

- Seeing a referral: its case is visible to the user (`case_access.may_view`); else 404.
- Making a referral from a case, or changing a referral: the role allows it and the user works
  that case (`case_access.may_act`); a visible case the user only reads is a 403.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.http import Http404

from investigations import access as case_access
from referrals.models import NrmReferral

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
