"""Who may see and change a victim's record, and its sensitive fields."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import Http404

from slaverycases.accounts import roles
from victims.models import Victim

if TYPE_CHECKING:
    from investigations.models import Investigation
    from slaverycases.accounts.models import User


def victims_for_user(user: User):  # type: ignore[no-untyped-def]
    return Victim.objects.visible_to(user)


def get_victim_for_user(user: User, pk: int) -> Victim:
    victim = victims_for_user(user).filter(pk=pk).first()
    if victim is None:
        raise Http404("No such victim, or no investigation of theirs is shared with you")
    return victim


def may_see_sensitive(user: User, investigations: list[Investigation]) -> bool:
    """Address, phone, immigration status and safe-house locations: only the officer in charge,
    the supervisor and safeguarding leads of a case the victim is in."""
    if user.has_role(roles.SAFEGUARDING_LEAD):
        return True
    return any(user.pk in (inv.oic_id, inv.supervisor_id) for inv in investigations)


def may_change_victim(user: User, investigations: list[Investigation]) -> bool:
    from investigations.access import may_change

    return user.has_perm("victims.change_victim") and any(
        may_change(user, inv) or user.has_role(roles.SAFEGUARDING_LEAD) for inv in investigations
    )
