"""Where the current request came from, for audit rows written deep inside actions."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestMeta:
    ip_address: str | None
    user_agent: str


current_request_meta: ContextVar[RequestMeta | None] = ContextVar("audit_request", default=None)
