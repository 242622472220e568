from __future__ import annotations

from typing import TYPE_CHECKING

from slaverycases.accounts import roles

if TYPE_CHECKING:
    from slaverycases.accounts.models import User


def may_use_board(user: User) -> bool:
    return user.is_authenticated and user.has_role(roles.SAFEGUARDING_LEAD, roles.SUPERVISOR)


def may_record_contact(user: User) -> bool:
    return user.has_perm("safeguarding.add_contact")


def may_plan(user: User) -> bool:
    return user.has_perm("safeguarding.add_safeguardingplan")


def may_relocate(user: User) -> bool:
    return user.has_perm("safeguarding.add_relocation")
