"""Who sees which dashboard panels and statistics, and over which investigations the figures
are counted.

The one rule for every figure (issue 10, item 5) is `statistics_base(user)`:

- Case-working roles (officer, supervisor, safeguarding lead) count the investigations they may
  see, `Investigation.objects.visible_to(user)`: the same need-to-know rule as the case list, so
  a figure never reveals a case the user could not open.
- A force administrator is the "force lead". They do not work cases and never see a case row
  (no reference, title, victim or officer): their figures are counted over every investigation
  owned by their own force, and the pages show them aggregates only (`sees_case_rows` is False).
- Anyone else counts nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from investigations.models import Investigation, InvestigationQuerySet
from slaverycases.accounts import roles

if TYPE_CHECKING:
    from slaverycases.accounts.models import User

OFFICER_PANELS = "officer"
SUPERVISOR_PANELS = "supervisor"
SAFEGUARDING_PANELS = "safeguarding"
FORCE_PANELS = "force"


def is_force_lead(user: User) -> bool:
    return bool(user.is_authenticated and user.force_id and user.has_role(roles.FORCE_ADMIN))


def sees_case_rows(user: User) -> bool:
    """Only people who work cases see lists of cases; a force lead sees numbers only."""
    return roles.works_cases(user)


def statistics_base(user: User) -> InvestigationQuerySet:
    """The investigations every figure shown to `user` is counted over (see the module text)."""
    if roles.works_cases(user):
        return Investigation.objects.visible_to(user)
    if is_force_lead(user):
        return Investigation.objects.filter(force_id=user.force_id)
    return Investigation.objects.none()


def may_view_dashboard(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role_names)


def may_view_statistics(user: User) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and (
            (roles.works_cases(user) and user.has_role(roles.SUPERVISOR, roles.SAFEGUARDING_LEAD))
            or is_force_lead(user)
        )
    )


def dashboard_panels(user: User) -> list[str]:
    """The dashboard's sections for the user's roles, in page order."""
    panels: list[str] = []
    works = roles.works_cases(user)
    if works and user.has_role(roles.OFFICER):
        panels.append(OFFICER_PANELS)
    if works and user.has_role(roles.SUPERVISOR):
        panels.append(SUPERVISOR_PANELS)
    if works and user.has_role(roles.SAFEGUARDING_LEAD):
        panels.append(SAFEGUARDING_PANELS)
    if is_force_lead(user):
        panels.append(FORCE_PANELS)
    return panels
