from __future__ import annotations

from typing import TYPE_CHECKING

from slaverycases.accounts import roles

if TYPE_CHECKING:
    from slaverycases.accounts.models import User
    from slaverycases.flags.models import Flag


def may_see_queue(user: User) -> bool:
    return user.is_authenticated and user.has_role(roles.SUPERVISOR, roles.SAFEGUARDING_LEAD)


def may_act_on_flag(user: User, flag: Flag) -> bool:
    """Supervisors act on their unit's flags; safeguarding leads on victim-contact flags."""
    from slaverycases.flags.models import SAFEGUARDING_KINDS

    same_unit = user.unit_id is not None and flag.investigation.unit_id == user.unit_id
    if user.has_role(roles.SUPERVISOR) and (
        same_unit or flag.investigation.supervisor_id == user.pk
    ):
        return True
    return (
        user.has_role(roles.SAFEGUARDING_LEAD) and same_unit and (flag.kind in SAFEGUARDING_KINDS)
    )
