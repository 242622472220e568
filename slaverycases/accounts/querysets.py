"""Reads of units and users that pages make on every view (compiled once: ADR 0005)."""

from __future__ import annotations

from typing import Any

from slaverycases.accounts.models import Unit, User
from slaverycases.core.compiled import CompiledQuery, Param

_UNITS = CompiledQuery(
    lambda: Unit.objects.order_by("force__name", "name").values_list("pk", "name")
)
_FORCE_UNITS = CompiledQuery(
    lambda: (
        Unit.objects.filter(force_id=Param("force"))
        .order_by("force__name", "name")
        .values_list("pk", "name")
    )
)
_UNIT_OFFICERS = CompiledQuery(
    lambda: (
        User.objects.filter(unit_id=Param("unit"), is_active=True)
        .order_by("last_name", "first_name")
        .values_list("pk", "first_name", "last_name", "username")
    )
)
_OFFICERS_WITHOUT_UNIT = CompiledQuery(
    lambda: (
        User.objects.filter(unit_id__isnull=True, is_active=True)
        .order_by("last_name", "first_name")
        .values_list("pk", "first_name", "last_name", "username")
    )
)


def unit_choices(force_id: int | None) -> list[tuple[int, str]]:
    """(id, name) of the force's units (every unit for a user without a force), by force and
    name."""
    return _FORCE_UNITS.rows(force=force_id) if force_id else _UNITS.rows()  # type: ignore[return-value]


def unit_officers(unit_id: int | None) -> list[tuple[Any, ...]]:
    """(id, first name, last name, username) of the unit's active users, by name."""
    if unit_id is None:
        return _OFFICERS_WITHOUT_UNIT.rows()
    return _UNIT_OFFICERS.rows(unit=unit_id)
