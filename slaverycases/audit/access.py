from __future__ import annotations

from typing import Any

from slaverycases.accounts import roles


def may_read_audit_log(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_role(roles.AUDITOR))
