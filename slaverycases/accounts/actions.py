"""Writes for forces, units and users."""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.models import Group
from django.db import transaction

from slaverycases.accounts.models import Force, Unit, User
from slaverycases.audit.actions import audit_record
from slaverycases.audit.models import AuditAction


@transaction.atomic
def force_ensure(*, code: str, name: str, is_national: bool = False) -> Force:
    """Create the force if it does not exist (idempotent), with its sharing group."""
    force, _ = Force.objects.get_or_create(
        code=code.upper(), defaults={"name": name, "is_national": is_national}
    )
    if force.group_id is None:
        force.group = Group.objects.get_or_create(name=f"force:{force.code}")[0]
        force.save(update_fields=["group"])
    return force


@transaction.atomic
def unit_ensure(*, force: Force, name: str) -> Unit:
    unit, _ = Unit.objects.get_or_create(force=force, name=name)
    if unit.group_id is None:
        unit.group = Group.objects.get_or_create(name=f"unit:{unit.pk}")[0]
        unit.save(update_fields=["group"])
    return unit


def sharing_group(target: Force | Unit) -> Group:
    """The group that holds a unit's or force's shares, created and linked if missing (a unit
    or force added in the admin has none yet)."""
    if target.group_id is not None:
        return target.group  # type: ignore[return-value]
    if isinstance(target, Force):
        return force_ensure(code=target.code, name=target.name).group  # type: ignore[return-value]
    return unit_ensure(force=target.force, name=target.name).group  # type: ignore[return-value]


@transaction.atomic
def unit_move(unit: Unit, *, to_force: Force, actor: User) -> Unit:
    """Move a unit, its members and its cases to another force, as force mergers require.
    The cases keep their references; from then on the receiving force's flag thresholds apply
    to them and its records administrators review them."""
    investigation = apps.get_model("investigations", "Investigation")
    unit = Unit.objects.select_for_update().get(pk=unit.pk)
    old_force_id = unit.force_id
    unit.force = to_force
    unit.save(update_fields=["force"])
    User.objects.filter(unit=unit).update(force=to_force)
    cases = investigation.objects.filter(unit=unit).exclude(force=to_force).update(force=to_force)
    audit_record(
        actor=actor,
        action=AuditAction.ALTERATION,
        obj=unit,
        detail={
            "moved_from_force": old_force_id,
            "moved_to_force": to_force.pk,
            "cases_moved": cases,
        },
    )
    return unit


@transaction.atomic
def user_deactivate(user: User, *, actor: User) -> None:
    """Deactivate a user and end every session they have, at once."""
    from slaverycases.accounts.sessions import end_all_sessions

    user = User.objects.select_for_update().get(pk=user.pk)
    user.is_active = False
    user.save(update_fields=["is_active"])
    ended = end_all_sessions(user)
    audit_record(
        actor=actor,
        action=AuditAction.ALTERATION,
        obj=user,
        detail={"deactivated": True, "sessions_ended": ended},
    )
